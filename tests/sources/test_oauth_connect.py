"""The generic connect flow (sources/oauth) against a stand-in provider and its fake."""

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib.auth import get_user_model
from django.utils import timezone

from sources.models import Connection
from tests.sources.dummy_provider import CLIENT_SECRET, DummyFake, use_dummy
from tests.sources.oauth_helpers import (
    connect,
    follow_callback,
    messages_of,
    query_of,
    start_connect,
)

CALLBACK = "http://127.0.0.1:8000/accounts/oura/login/callback/"


@pytest.fixture
def fake():
    with DummyFake() as server:
        yield server


@pytest.fixture
def oura(monkeypatch, settings, fake):
    settings.SITE_URL = "http://127.0.0.1:8000"
    return use_dummy(monkeypatch, settings, "oura", fake)


def test_it_connects_and_stores_the_tokens_encrypted(user_client, user, fake, oura):
    users_before = get_user_model().objects.count()
    response, _ = connect(user_client, fake, "oura")

    assert response.status_code == 302 and response["Location"] == "/sources/"
    assert "Dummy Oura is connected." in messages_of(response)
    connection = Connection.objects.get(user=user, provider="oura")
    access, refresh = fake.issued[0]
    assert (connection.access_token, connection.refresh_token) == (access, refresh)
    assert access not in connection.access_token_encrypted
    assert refresh not in connection.refresh_token_encrypted
    assert connection.provider_user_id == "acct-1"
    assert connection.status == Connection.Status.ACTIVE
    assert connection.scopes == "daily personal"
    assert connection.token_expires_at > timezone.now()
    assert get_user_model().objects.count() == users_before
    assert user_client.session["_auth_user_id"] == str(user.pk)
    assert SocialAccount.objects.count() == 0 and SocialToken.objects.count() == 0


def test_the_authorize_redirect_is_exact(user_client, fake, oura):
    response = start_connect(user_client, "oura", extra="&scope=everything&auth_params=x%3Dy")

    location = response["Location"]
    assert location.startswith(f"{fake.base_url}/oauth/authorize?")
    query = query_of(location)
    assert query["redirect_uri"] == CALLBACK
    assert query["client_id"] == "dummy-client"
    assert query["response_type"] == "code"
    assert query["scope"] == "daily personal"  # from the module, not the request
    assert len(query["state"]) >= 8
    assert "x" not in query and "code_challenge" not in query
    assert CLIENT_SECRET not in location


def test_pkce_s256_is_sent_and_verified(user_client, user, monkeypatch, settings, fake):
    use_dummy(monkeypatch, settings, "oura", fake, pkce=True)
    _, authorize_url = connect(user_client, fake, "oura")

    query = query_of(authorize_url)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    verifier = fake.calls_to("/oauth/token")[0].form["code_verifier"]
    assert len(verifier) >= 43
    assert Connection.objects.filter(user=user).count() == 1


def test_a_tampered_state_is_rejected(user_client, user, fake, oura):
    authorize_url = start_connect(user_client, "oura")["Location"]
    callback = fake.approve(authorize_url).replace("state=", "state=x")

    response = follow_callback(user_client, callback)

    assert response["Location"] == "/sources/"
    assert any("expired or was not started" in m for m in messages_of(response))
    assert fake.calls_to("/oauth/token") == []
    assert not Connection.objects.exists()


def test_a_missing_state_is_rejected(user_client, fake, oura):
    callback = fake.approve(start_connect(user_client, "oura")["Location"])
    code = query_of(callback)["code"]

    response = user_client.get(f"/accounts/oura/login/callback/?code={code}")

    assert response["Location"] == "/sources/"
    assert fake.calls_to("/oauth/token") == []
    assert not Connection.objects.exists()


def test_a_state_is_used_once(user_client, user, fake, oura):
    callback = fake.approve(start_connect(user_client, "oura")["Location"])
    follow_callback(user_client, callback)
    Connection.objects.all().delete()

    follow_callback(user_client, callback)

    assert len(fake.calls_to("/oauth/token")) == 1
    assert not Connection.objects.exists()


def test_a_state_minted_for_another_provider_is_rejected(
    user_client, monkeypatch, settings, fake, oura
):
    with DummyFake() as other:
        use_dummy(monkeypatch, settings, "whoop", other)
        oura_callback = fake.approve(start_connect(user_client, "oura")["Location"])
        query = query_of(oura_callback)

        # The Oura state and code arrive at WHOOP's callback (mix-up).
        response = user_client.get(
            f"/accounts/whoop/login/callback/?code={query['code']}&state={query['state']}"
        )

        assert response["Location"] == "/sources/"
        assert other.calls_to("/oauth/token") == [] and fake.calls_to("/oauth/token") == []
        assert not Connection.objects.exists()


def test_a_cancelled_consent_changes_nothing(user_client, fake, oura):
    state = query_of(start_connect(user_client, "oura")["Location"])["state"]

    response = user_client.get(f"/accounts/oura/login/callback/?error=access_denied&state={state}")

    assert response["Location"] == "/sources/"
    assert any("cancelled" in m for m in messages_of(response))
    assert not Connection.objects.exists()


def test_an_anonymous_visitor_cannot_connect(db, client, fake, oura):
    response = start_connect(client, "oura")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert fake.calls == []
    response = client.get("/accounts/oura/login/callback/?code=abc&state=abcdefghijklmnop")
    assert response["Location"].startswith("/accounts/login/")
    assert fake.calls == [] and not Connection.objects.exists()


def test_only_connect_is_accepted(user_client, fake, oura):
    response = user_client.post("/accounts/oura/login/?process=login")

    assert response["Location"] == "/sources/"
    assert any("does not sign in with" in m for m in messages_of(response))
    assert fake.calls == []


def test_a_provider_without_credentials_is_not_offered(user_client, settings, fake, oura):
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        "oura": {**settings.HEALTHHUB_PROVIDERS["oura"], "CLIENT_SECRET": ""},
    }

    assert start_connect(user_client, "oura").status_code == 404
    assert user_client.get("/accounts/oura/login/callback/?code=a&state=b").status_code == 404
    assert fake.calls == []


def test_an_unregistered_provider_is_not_offered(user_client, monkeypatch, settings):
    from sources.providers import REGISTRY

    monkeypatch.delitem(REGISTRY, "withings", raising=False)
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        "withings": {
            **settings.HEALTHHUB_PROVIDERS["withings"],
            "CLIENT_ID": "id",
            "CLIENT_SECRET": "secret",
        },
    }

    assert start_connect(user_client, "withings").status_code == 404


def test_an_account_linked_to_another_user_is_refused(user_client, user, other_user, fake, oura):
    theirs = Connection.objects.create(user=other_user, provider="oura", provider_user_id="acct-1")

    response, _ = connect(user_client, fake, "oura")

    assert response["Location"] == "/sources/"
    assert any("already connected to another HealthHub user" in m for m in messages_of(response))
    assert not Connection.objects.filter(user=user).exists()
    assert Connection.objects.get() == theirs


def test_reconnecting_revives_a_connection_that_needed_it(user_client, user, fake, oura):
    old = Connection.objects.create(
        user=user,
        provider="oura",
        provider_user_id="acct-1",
        status=Connection.Status.NEEDS_RECONNECT,
        last_error="Dummy Oura no longer accepts HealthHub's access.",
    )

    connect(user_client, fake, "oura")

    connection = Connection.objects.get(user=user)
    assert connection.pk == old.pk
    assert connection.status == Connection.Status.ACTIVE and connection.last_error == ""
    assert connection.access_token == fake.issued[0][0]


def test_connecting_hands_the_connection_to_the_sync_engine(
    user_client, user, fake, oura, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        connect(user_client, fake, "oura")

    assert len(callbacks) == 1  # sources.services.sync.connection_connected's setup task


def test_the_granted_scopes_are_stored_when_the_user_unticks_some(user_client, user, fake, oura):
    authorize_url = start_connect(user_client, "oura")["Location"]

    follow_callback(user_client, fake.approve(authorize_url, scope="daily"))

    assert Connection.objects.get(user=user).scopes == "daily"


def test_a_token_response_without_scope_granted_the_requested_ones(user_client, user, fake, oura):
    authorize_url = start_connect(user_client, "oura")["Location"]

    follow_callback(user_client, fake.approve(authorize_url, scope=""))

    assert Connection.objects.get(user=user).scopes == "daily personal"


def test_a_get_only_shows_a_confirmation_form(user_client, fake, oura):
    response = user_client.get("/accounts/oura/login/?process=connect")

    assert response.status_code == 200
    assert b'method="post"' in response.content.lower()
    assert fake.calls == []
