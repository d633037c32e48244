import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import PersonalAccessToken
from accounts.services import access_token_create, token_hash
from tests.conftest import reauthenticate

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_account_page_creates_a_token_shown_once_and_stored_hashed(user_client, user):
    reauthenticate(user_client)
    response = user_client.post(
        "/account/tokens/",
        {"name": "grafana", "scope": "read", "expires_in_days": "30"},
        follow=True,
    )
    assert response.redirect_chain == [("/account/", 302)]
    raw = re.search(rb'id="new-token">(hh_[^<]+)<', response.content).group(1).decode()
    token = PersonalAccessToken.objects.get(user=user)
    assert token.name == "grafana"
    assert token.scope == "read"
    assert token.token_hash == token_hash(raw)
    assert raw not in str(PersonalAccessToken.objects.values().get())
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert "no-store" in response["Cache-Control"]
    # Shown once: the account page never shows it again, and the session forgot it.
    assert raw.encode() not in user_client.get("/account/").content
    assert raw not in str(dict(user_client.session))
    assert token.prefix.encode() in user_client.get("/account/").content


def test_creating_a_token_asks_for_the_password_again(user_client, user):
    response = user_client.post(
        "/account/tokens/", {"name": "x", "scope": "write", "expires_in_days": "0"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not PersonalAccessToken.objects.exists()


def test_a_token_authenticates_the_api_and_records_its_last_use(client, user):
    created = access_token_create(user=user, name="t", scope="read")
    response = client.get("/api/v1/me/", **bearer(created.raw))
    assert response.status_code == 200
    assert response.json()["email"] == user.email
    created.token.refresh_from_db()
    assert created.token.last_used_at is not None


def test_a_read_only_token_cannot_write(client, user):
    created = access_token_create(user=user, name="t", scope="read")
    response = client.patch(
        "/api/v1/me/",
        {"display_name": "Changed"},
        content_type="application/json",
        **bearer(created.raw),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert response.json()["error"]["message"] == "This token is read-only."
    user.refresh_from_db()
    assert user.display_name != "Changed"


def test_a_read_write_token_can_write(client, user):
    created = access_token_create(user=user, name="t", scope="write")
    response = client.patch(
        "/api/v1/me/",
        {"display_name": "Alice", "timezone": "Europe/Berlin"},
        content_type="application/json",
        **bearer(created.raw),
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.display_name, user.timezone) == ("Alice", "Europe/Berlin")


def test_an_unknown_time_zone_is_a_validation_error(client, user):
    created = access_token_create(user=user, name="t", scope="write")
    response = client.patch(
        "/api/v1/me/",
        {"timezone": "Mars/Olympus"},
        content_type="application/json",
        **bearer(created.raw),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "timezone" in error["details"]


def test_a_revoked_token_stops_working(user_client, client, user):
    created = access_token_create(user=user, name="t", scope="read")
    assert client.get("/api/v1/me/", **bearer(created.raw)).status_code == 200
    response = user_client.post(f"/account/tokens/{created.token.id}/revoke/")
    assert response.status_code == 302
    response = client.get("/api/v1/me/", **bearer(created.raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_expired_token_stops_working(client, user):
    created = access_token_create(
        user=user, name="t", scope="read", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get("/api/v1/me/", **bearer(created.raw)).status_code == 401


def test_a_forged_token_is_refused(client, user):
    created = access_token_create(user=user, name="t", scope="read")
    forged = created.raw[:-4] + "AAAA"
    assert client.get("/api/v1/me/", **bearer(forged)).status_code == 401
    assert client.get("/api/v1/me/", **bearer("not-a-token")).status_code == 401


def test_nobody_can_revoke_another_users_token(user_client, other_user):
    created = access_token_create(user=other_user, name="theirs", scope="read")
    response = user_client.post(f"/account/tokens/{created.token.id}/revoke/")
    assert response.status_code == 404
    created.token.refresh_from_db()
    assert created.token.revoked_at is None


def test_the_api_needs_authentication(client):
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_api_is_throttled_per_user(client, user, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    created = access_token_create(user=user, name="t", scope="read")
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    try:
        statuses = [client.get("/api/v1/me/", **bearer(created.raw)).status_code for _ in range(4)]
        last = client.get("/api/v1/me/", **bearer(created.raw))
    finally:
        UserRateThrottle.THROTTLE_RATES = original
    assert statuses == [200, 200, 200, 429]
    assert last.json()["error"]["code"] == "throttled"
    assert int(last["Retry-After"]) > 0
