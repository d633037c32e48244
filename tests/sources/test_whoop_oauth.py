"""WHOOP OAuth: token parsing, refresh rotation, revocation, and the fake's authorize and
token endpoints."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from sources.errors import AuthRevoked, MalformedPayload, ProviderError
from tests.sources.whoop_support import (
    MEMBER,
    WHOOP,
    authorize_url,
    connect,
    exchange,
    payload,
    started_fake,
)


@pytest.fixture
def fake(settings):
    yield from started_fake(settings)


def query(url):
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def test_a_token_response_is_parsed_with_expiry_and_granted_scopes():
    before = datetime.now(UTC)
    tokens = WHOOP.parse_token_response(payload("token"))
    assert tokens.access_token == "recorded-access-token-0000"
    assert tokens.refresh_token == "recorded-refresh-token-0000"
    assert before + timedelta(seconds=3600) <= tokens.expires_at
    assert tokens.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
    assert "offline" in tokens.scopes and "read:recovery" in tokens.scopes
    assert tokens.provider_user_id == ""  # WHOOP's token response does not name the user


def test_an_invalid_grant_body_means_reconnect():
    with pytest.raises(AuthRevoked):
        WHOOP.parse_token_response(payload("token_error"))


@pytest.mark.parametrize(
    "data", [{}, {"access_token": ""}, {"access_token": "x", "token_type": "mac"}, []]
)
def test_a_token_response_without_a_bearer_token_is_malformed(data):
    with pytest.raises(MalformedPayload):
        WHOOP.parse_token_response(data)


def test_refresh_returns_a_new_pair_and_the_old_refresh_token_dies(fake):
    first = connect(fake)
    second = WHOOP.refresh(WHOOP.http(), first.refresh_token)
    assert second.access_token != first.access_token
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert fake.refresh_calls == 1
    with pytest.raises(AuthRevoked):
        WHOOP.refresh(WHOOP.http(), first.refresh_token)
    third = WHOOP.refresh(WHOOP.http(), second.refresh_token)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


def test_refresh_sends_scope_offline_and_the_client_in_the_form(fake):
    tokens = connect(fake)
    WHOOP.refresh(WHOOP.http(), tokens.refresh_token)
    form = fake.calls_to("/oauth/oauth2/token")[-1].form
    assert form["grant_type"] == "refresh_token"
    assert form["scope"] == "offline"
    assert (form["client_id"], form["client_secret"]) == (fake.client_id, fake.client_secret)


def test_an_unknown_refresh_token_raises_auth_revoked(fake):
    with pytest.raises(AuthRevoked):
        WHOOP.refresh(WHOOP.http(), "never-issued")


def test_wrong_client_credentials_are_not_a_dead_grant(fake, settings):
    tokens = connect(fake)
    settings.HEALTHHUB_PROVIDERS["whoop"]["CLIENT_SECRET"] = "wrong"
    with pytest.raises(ProviderError) as caught:
        WHOOP.refresh(WHOOP.http(), tokens.refresh_token)
    assert not isinstance(caught.value, AuthRevoked)


def test_revoke_ends_access_at_the_provider(fake):
    tokens = connect(fake)
    assert WHOOP.revoke(WHOOP.http(), tokens.access_token, tokens.refresh_token) is True
    assert fake.revocations == [MEMBER]
    with pytest.raises(AuthRevoked):
        WHOOP.refresh(WHOOP.http(), tokens.refresh_token)


def test_revoke_with_an_expired_access_token_refreshes_first(fake):
    tokens = connect(fake)
    fake.expire_access_tokens()
    assert WHOOP.revoke(WHOOP.http(), tokens.access_token, tokens.refresh_token) is True
    assert (fake.refresh_calls, fake.revocations) == (1, [MEMBER])


def test_the_authorize_endpoint_rejects_a_state_shorter_than_8_characters(fake):
    fake.add_member(MEMBER)
    callback = fake.approve(authorize_url(fake, state="short7c"))
    assert query(callback)["error"] == "invalid_state"
    assert "code" not in query(callback)


def test_the_authorize_endpoint_rejects_a_foreign_redirect_uri(fake):
    fake.add_member(MEMBER)
    with pytest.raises(ValueError, match="redirect_uri"):
        fake.approve(authorize_url(fake, redirect_uri="https://evil.example/callback"))


def test_a_code_works_once(fake):
    fake.add_member(MEMBER)
    code = query(fake.approve(authorize_url(fake)))["code"]
    assert exchange(fake, code).status_code == 200
    second = exchange(fake, code)
    assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")


def test_pkce_is_checked_when_a_challenge_was_sent(fake):
    fake.add_member(MEMBER)
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    url = authorize_url(
        fake, code_challenge=challenge.decode().rstrip("="), code_challenge_method="S256"
    )
    code = query(fake.approve(url))["code"]
    assert exchange(fake, code, code_verifier="w" * 64).status_code == 400
    code = query(fake.approve(url))["code"]
    assert exchange(fake, code, code_verifier=verifier).status_code == 200


def test_without_offline_there_is_no_refresh_token(fake):
    fake.add_member(MEMBER)
    code = query(fake.approve(authorize_url(fake, scope="read:sleep")))["code"]
    tokens = WHOOP.parse_token_response(exchange(fake, code).json())
    assert tokens.refresh_token == ""
    assert tokens.scopes == ("read:sleep",)
