"""Connecting each real provider module through allauth against its fake: the whole
dance, then a refresh through the token service with the stored (encrypted) pair."""

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib.auth import get_user_model
from django.utils import timezone

from sources import providers
from sources.models import Connection
from sources.services.tokens import access_token_for
from tests.fakes.base import FakeResponse
from tests.fakes.oura import FakeOura
from tests.fakes.whoop import FakeWhoop
from tests.fakes.withings import FakeWithings
from tests.sources.oauth_helpers import follow_callback, messages_of, query_of, start_connect

SITE = "http://127.0.0.1:8000"


@dataclass
class Spec:
    slug: str
    account: str  # the provider's id of the consenting account

    def fake(self):
        callback = f"{SITE}/accounts/{self.slug}/login/callback/"
        if self.slug == "oura":
            fake = FakeOura(redirect_uris=(callback,))
        elif self.slug == "whoop":
            fake = FakeWhoop(redirect_uris=(callback,))
        else:
            fake = FakeWithings(redirect_uris=(callback,))
        return fake

    def approve(self, fake, authorize_url: str) -> str:
        if self.slug == "oura":
            return fake.approve(authorize_url, user_id=self.account)
        if self.slug == "whoop":
            fake.add_member(int(self.account))
            return fake.approve(authorize_url, user_id=int(self.account))
        return fake.approve(authorize_url, userid=int(self.account))


SPECS = [Spec("oura", "oura-user-1"), Spec("whoop", "10129"), Spec("withings", "12345678")]


@pytest.fixture(params=SPECS, ids=lambda spec: spec.slug)
def spec(request):
    return request.param


@pytest.fixture
def fake(spec, settings):
    settings.SITE_URL = SITE
    with spec.fake() as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            spec.slug: server.provider_settings() if spec.slug == "oura" else server.settings_for(),
        }
        yield server


def token_calls(fake, spec):
    path = {"oura": "/oauth/token", "whoop": "/oauth/oauth2/token", "withings": "/v2/oauth2"}
    return fake.calls_to(path[spec.slug], "POST")


def test_each_provider_connects_end_to_end(user_client, user, spec, fake):
    module = providers.get(spec.slug)
    users_before = get_user_model().objects.count()

    response = start_connect(user_client, spec.slug)
    authorize_url = response["Location"]
    query = query_of(authorize_url)
    assert authorize_url.startswith(module.config["AUTHORIZE_URL"] + "?")
    assert query["redirect_uri"] == f"{SITE}/accounts/{spec.slug}/login/callback/"
    assert len(query["state"]) >= 8
    assert query["scope"].split(module.scope_delimiter) == list(dict.fromkeys(module.scopes))
    response = follow_callback(user_client, spec.approve(fake, authorize_url))

    assert response["Location"] == "/sources/", messages_of(response)
    connection = Connection.objects.get(user=user, provider=spec.slug)
    assert connection.provider_user_id == spec.account
    assert connection.status == Connection.Status.ACTIVE
    assert connection.access_token and connection.refresh_token
    assert connection.access_token not in connection.access_token_encrypted
    assert connection.token_expires_at > timezone.now()
    assert set(connection.scopes.split()) == set(module.scopes)
    assert get_user_model().objects.count() == users_before
    assert user_client.session["_auth_user_id"] == str(user.pk)
    assert SocialAccount.objects.count() == 0 and SocialToken.objects.count() == 0
    assert len(token_calls(fake, spec)) == 1


def test_the_stored_pair_refreshes_through_the_token_service(user_client, user, spec, fake):
    authorize_url = start_connect(user_client, spec.slug)["Location"]
    follow_callback(user_client, spec.approve(fake, authorize_url))
    connection = Connection.objects.get(user=user)
    first_refresh = connection.refresh_token
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now())
    connection.refresh_from_db()

    token = access_token_for(connection, http=providers.get(spec.slug).http())

    stored = Connection.objects.get(pk=connection.pk)
    assert fake.refresh_calls == 1
    assert stored.access_token == token and stored.refresh_token != first_refresh
    assert stored.token_expires_at > timezone.now()


def test_whoop_asks_for_offline_access(user_client, settings):
    with FakeWhoop() as fake:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "whoop": fake.settings_for(),
        }

        query = query_of(start_connect(user_client, "whoop")["Location"])

    assert "offline" in query["scope"].split()


def test_withings_exchanges_with_action_requesttoken(user_client, user, settings):
    with FakeWithings() as fake:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "withings": fake.settings_for(),
        }
        authorize_url = start_connect(user_client, "withings")["Location"]
        assert query_of(authorize_url)["scope"] == "user.metrics,user.activity"
        follow_callback(user_client, fake.approve(authorize_url, userid=4242))

        (call,) = fake.calls_to("/v2/oauth2", "POST")
    assert call.form["action"] == "requesttoken"
    assert call.form["grant_type"] == "authorization_code"
    assert Connection.objects.get(user=user).provider_user_id == "4242"


def test_a_withings_error_inside_http_200_is_refused(user_client, user, settings):
    with FakeWithings() as fake:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "withings": fake.settings_for(),
        }
        callback = fake.approve(start_connect(user_client, "withings")["Location"])
        fake.fail_next(
            FakeResponse(200, {"status": 503, "error": "Invalid Params: invalid code"}),
            match="/v2/oauth2",
        )

        response = follow_callback(user_client, callback)

    assert response["Location"] == "/sources/"
    assert any("did not work" in m for m in messages_of(response))
    assert not Connection.objects.filter(user=user).exists()


def test_a_denied_consent_at_a_real_fake_changes_nothing(user_client, user, settings):
    with FakeOura(redirect_uris=(f"{settings.SITE_URL}/accounts/oura/login/callback/",)) as fake:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "oura": fake.provider_settings(),
        }
        denied = fake.deny(start_connect(user_client, "oura")["Location"])
        parts = urlsplit(denied)

        response = user_client.get(f"{parts.path}?{parts.query}")

    assert any("cancelled" in m for m in messages_of(response))
    assert not Connection.objects.filter(user=user).exists()
