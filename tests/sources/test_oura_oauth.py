"""Oura OAuth against the fake: authorize, code exchange, refresh rotation, revoke."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sources.errors import AuthRevoked, ProviderError
from tests.fakes.oura import OuraError
from tests.sources.oura_support import OURA, connect, payload, started_fake


@pytest.fixture
def fake(settings):
    yield from started_fake(settings)


def test_it_parses_a_token_response():
    tokens = OURA.parse_token_response(payload("token"))
    assert tokens.access_token == "TXS7WQ4ZCKQNBLKZGV5VW3ZU2X5Y6DAB"
    assert tokens.refresh_token == "Q3NGB7WEUMXHPNXCU3GQ4ZZXFAKE2KE6"
    assert tokens.scopes == ("daily", "heartrate", "workout", "spo2Daily")
    assert tokens.expires_at is not None and tokens.provider_user_id == ""


def test_invalid_grant_means_reconnect():
    with pytest.raises(AuthRevoked):
        OURA.parse_token_response(payload("token_invalid_grant"))


def test_an_error_names_the_token_url_fix_without_echoing_the_response():
    with pytest.raises(ProviderError, match="OURA_TOKEN_URL") as info:
        OURA.parse_token_response({"error": "invalid_request", "error_description": "secret!"})
    assert "secret!" not in str(info.value)


def test_approve_returns_our_callback_with_code_and_state(fake):
    redirect = next(iter(fake.redirect_uris))
    query = {
        "response_type": "code",
        "client_id": fake.client_id,
        "redirect_uri": redirect,
        "state": "abc123xyz",
        "scope": "daily heartrate",
    }
    callback = fake.approve(fake.base_url + "/oauth/authorize?" + urlencode(query))
    assert callback.startswith(redirect + "?")
    params = parse_qs(urlsplit(callback).query)
    assert params["state"] == ["abc123xyz"] and params["code"][0]


def test_the_authorize_page_refuses_a_foreign_redirect_uri(fake):
    query = {
        "response_type": "code",
        "client_id": fake.client_id,
        "redirect_uri": "https://evil.example/cb",
        "state": "abc123xyz",
    }
    with pytest.raises(OuraError):
        fake.approve(fake.base_url + "/oauth/authorize?" + urlencode(query))


def test_refresh_rotates_and_the_old_refresh_token_is_then_refused(fake):
    first = connect(fake)
    tokens = OURA.refresh(OURA.http(), first["refresh_token"])
    assert tokens.access_token != first["access_token"]
    assert tokens.refresh_token not in ("", first["refresh_token"])
    assert fake.refresh_calls == 1
    with pytest.raises(AuthRevoked):
        OURA.refresh(OURA.http(), first["refresh_token"])
    # The new pair still works.
    assert OURA.refresh(OURA.http(), tokens.refresh_token).access_token


def test_refresh_sends_client_credentials_in_the_form_body(fake):
    first = connect(fake)
    OURA.refresh(OURA.http(), first["refresh_token"])
    form = fake.calls_to("/oauth/token", "POST")[-1].form
    assert form["grant_type"] == "refresh_token"
    assert (form["client_id"], form["client_secret"]) == (fake.client_id, fake.client_secret)


def test_a_wrong_client_secret_is_not_taken_for_a_dead_refresh_token(fake, settings):
    first = connect(fake)
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        "oura": {**settings.HEALTHHUB_PROVIDERS["oura"], "CLIENT_SECRET": "wrong"},
    }
    with pytest.raises(AuthRevoked):  # Oura answers 401; the seam cannot tell them apart
        OURA.refresh(OURA.http(), first["refresh_token"])


def test_revoke_ends_the_grant_at_oura(fake):
    first = connect(fake)
    assert OURA.revoke(OURA.http(), first["access_token"], first["refresh_token"]) is True
    assert fake.revoked == [first["access_token"]]
    with pytest.raises(AuthRevoked):
        OURA.refresh(OURA.http(), first["refresh_token"])


def test_fetch_user_id_reads_personal_info(fake):
    first = connect(fake, user_id="5a8c0f2e1d3b4c6a")
    assert OURA.fetch_user_id(OURA.http(), first["access_token"]) == "5a8c0f2e1d3b4c6a"


def test_unticked_scopes_limit_the_data_types(fake):
    granted = connect(fake, scopes=("daily", "workout"))["scope"].split()
    assert OURA.data_types_for_scopes(granted) == [
        "daily_activity",
        "sleep",
        "daily_sleep",
        "daily_readiness",
        "workout",
    ]
