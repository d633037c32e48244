"""Withings tokens: the envelope, the fake's authorize/token endpoints, refresh, revoke."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.utils import timezone

from sources.errors import AuthExpired, AuthRevoked, MalformedPayload, ProviderError
from sources.providers import withings
from tests.fakes.withings import FakeWithings, fixture

USER = 12345678
REDIRECT = "https://hub.example.org/accounts/withings/login/callback/"


@pytest.fixture
def fake(settings):
    with FakeWithings(redirect_uris=(REDIRECT,)) as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "withings": server.settings_for(),
        }
        yield server


@pytest.fixture
def provider():
    return withings.Withings()


def authorize_url(fake, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": fake.client_id,
        "redirect_uri": REDIRECT,
        "state": "s" * 16,
        "scope": "user.metrics,user.activity",
    }
    params.update(overrides)
    return f"{fake.base_url}/oauth2_user/authorize2?{urlencode(params)}"


def exchange(fake, code: str, redirect_uri: str = REDIRECT) -> dict:
    """What the allauth adapter posts to the token endpoint."""
    form = {
        "action": "requesttoken",
        "grant_type": "authorization_code",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    return requests.post(f"{fake.base_url}/v2/oauth2", data=form, timeout=5).json()


def test_it_parses_the_token_envelope():
    before = timezone.now()
    tokens = withings.Withings().parse_token_response(fixture("token.json"))
    assert tokens.access_token == "a075f8c14fb8df40b08ebc8508533dc332a41910"
    assert tokens.refresh_token == "f631236f02b991810feb774765b6ae8e6c6839ca"
    assert tokens.scopes == ("user.metrics", "user.activity")
    assert tokens.provider_user_id == "12345678"
    assert before + timedelta(seconds=10800) <= tokens.expires_at
    assert tokens.expires_at <= timezone.now() + timedelta(seconds=10800)


def test_an_integer_userid_is_kept_as_a_string_and_a_bare_body_is_accepted():
    body = fixture("token_refresh_int_userid.json")["body"]
    tokens = withings.Withings().parse_token_response(body)
    assert tokens.provider_user_id == "12345678"
    assert tokens.scopes == ("user.metrics",)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (fixture("token_invalid_refresh.json"), AuthRevoked),
        ({"status": 503, "body": {}, "error": "invalid_grant"}, AuthRevoked),
        ({"status": 401, "body": {}, "error": "Authentication failed"}, AuthRevoked),
        (
            {"status": 503, "body": {}, "error": "Invalid Params: invalid client_secret"},
            ProviderError,
        ),
        ({"status": 0, "body": {"access_token": "x"}}, MalformedPayload),
        ({"status": "0", "body": {}}, MalformedPayload),
    ],
)
def test_refused_and_broken_token_answers_raise(answer, error):
    with pytest.raises(error) as caught:
        withings.Withings().parse_token_response(answer)
    if error is ProviderError:
        assert not isinstance(caught.value, AuthRevoked)


def test_the_authorize_page_checks_client_redirect_state_and_scope(fake):
    assert requests.get(authorize_url(fake), timeout=5).status_code == 200
    for bad in (
        {"client_id": "someone-else"},
        {"redirect_uri": "https://evil.example/cb"},
        {"state": ""},
        {"scope": "user.info"},  # partner contracts only
        {"response_type": "token"},
    ):
        assert requests.get(authorize_url(fake, **bad), timeout=5).status_code == 400


def test_approving_returns_our_callback_with_code_and_state(fake):
    callback = fake.approve(authorize_url(fake, state="abc123XYZ789abcd"))
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    query = parse_qs(parts.query)
    assert query["state"] == ["abc123XYZ789abcd"]
    answer = exchange(fake, query["code"][0])
    tokens = withings.Withings().parse_token_response(answer)
    assert tokens.provider_user_id == str(USER)
    assert set(tokens.scopes) == {"user.metrics", "user.activity"}


def test_a_code_works_once_and_for_30_seconds_only(fake):
    code = parse_qs(urlsplit(fake.approve(authorize_url(fake))).query)["code"][0]
    assert exchange(fake, code)["status"] == 0
    assert exchange(fake, code)["status"] == 503  # used
    late = parse_qs(urlsplit(fake.approve(authorize_url(fake))).query)["code"][0]
    issued = fake.clock()
    fake.clock = lambda: issued + 31
    assert exchange(fake, late)["status"] == 503
    with pytest.raises(AuthRevoked):
        withings.Withings().parse_token_response(exchange(fake, late))


def test_a_code_is_bound_to_its_redirect_uri(fake):
    code = parse_qs(urlsplit(fake.approve(authorize_url(fake))).query)["code"][0]
    assert exchange(fake, code, redirect_uri="https://hub.example.org/other/")["status"] == 503


def test_refresh_rotates_and_the_old_refresh_token_dies_once_the_new_one_is_used(fake, provider):
    access, refresh = fake.issue_tokens(USER)
    fresh = provider.refresh(provider.http(), refresh)
    assert fresh.access_token != access and fresh.refresh_token != refresh
    assert fresh.provider_user_id == str(USER)
    refresh_form = fake.calls_to("/v2/oauth2")[0].form
    assert refresh_form["action"] == "requesttoken"
    assert refresh_form["grant_type"] == "refresh_token"
    assert refresh_form["client_secret"] == fake.client_secret
    # Using the new access token ends the old refresh token's grace period.
    list(provider.fetch(provider.http(), fresh.access_token, "measures", *window()))
    with pytest.raises(AuthRevoked):
        provider.refresh(provider.http(), refresh)
    assert fake.refresh_calls == 2


def test_the_old_refresh_token_dies_when_the_grace_period_is_over(fake, provider):
    _, refresh = fake.issue_tokens(USER)
    provider.refresh(provider.http(), refresh)
    now = fake.clock()
    fake.clock = lambda: now + 8 * 3600 + 1
    with pytest.raises(AuthRevoked):
        provider.refresh(provider.http(), refresh)


def test_an_unknown_refresh_token_is_auth_revoked(fake, provider):
    with pytest.raises(AuthRevoked) as caught:
        provider.refresh(provider.http(), "not-a-token")
    assert "not-a-token" not in str(caught.value)


def test_an_expired_access_token_is_refused_until_refreshed(fake, provider):
    access, refresh = fake.issue_tokens(USER)
    fake.expire_access_token(access)
    with pytest.raises(AuthExpired):
        list(provider.fetch(provider.http(), access, "activity", *window()))
    fresh = provider.refresh(provider.http(), refresh)
    assert list(provider.fetch(provider.http(), fresh.access_token, "activity", *window()))


def test_revoke_signs_with_a_nonce_and_kills_the_users_tokens(fake, provider):
    access, refresh = fake.issue_tokens(USER)
    assert provider.revoke(provider.http(), access, refresh, provider_user_id=str(USER))
    assert fake.revoked_users == [USER]
    assert fake.calls_to("/v2/signature")[0].form["action"] == "getnonce"
    with pytest.raises(AuthExpired):
        list(provider.fetch(provider.http(), access, "activity", *window()))
    with pytest.raises(AuthRevoked):
        provider.refresh(provider.http(), refresh)


def test_revoke_learns_the_user_id_from_a_refresh_when_not_given(fake, provider):
    access, refresh = fake.issue_tokens(USER)
    assert provider.revoke(provider.http(), access, refresh)
    assert fake.revoked_users == [USER]


def test_revoke_is_false_when_withings_refuses(fake, provider):
    access, refresh = fake.issue_tokens(USER)
    fake.client_secret = "rotated-on-the-dashboard"  # our signatures no longer match
    assert provider.revoke(provider.http(), access, refresh, provider_user_id=str(USER)) is False
    assert fake.revoked_users == []


def window():
    now = timezone.now()
    return now - timedelta(days=2), now
