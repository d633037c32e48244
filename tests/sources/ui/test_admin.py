"""Admin pages for connections, runs, raw payloads and webhook deliveries: they render,
and no token (nor its ciphertext, nor a raw payload's health values) appears on any."""

import pytest

from sources.models import Connection, RawPayload, SyncRun, WebhookDelivery
from tests.factories import UserFactory
from tests.sources.ui.helpers import LEAKY_ACCESS, LEAKY_REFRESH, make_connection, make_run

pytestmark = pytest.mark.django_db

HEALTH_VALUE = "bpm-value-61803"


@pytest.fixture
def staff_client(client):
    staff = UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


@pytest.fixture
def rows(user, pulse):
    connection = make_connection(user, access=LEAKY_ACCESS, refresh=LEAKY_REFRESH)
    run = make_run(connection)
    payload = RawPayload.objects.create(
        connection=connection, run=run, data_type="heartrate", payload={"x": HEALTH_VALUE}
    )
    delivery = WebhookDelivery.objects.create(provider="pulse", delivery_id="d-1")
    return connection, run, payload, delivery


def admin_pages(connection, run, payload, delivery) -> list[str]:
    return [
        "/admin/sources/connection/",
        "/admin/sources/connection/?status__exact=active&provider=pulse",
        f"/admin/sources/connection/{connection.id}/change/",
        f"/admin/sources/connection/{connection.id}/history/",
        f"/admin/sources/connection/{connection.id}/delete/",
        "/admin/sources/syncrun/",
        f"/admin/sources/syncrun/?connection__exact={connection.id}",
        f"/admin/sources/syncrun/{run.id}/change/",
        "/admin/sources/rawpayload/",
        f"/admin/sources/rawpayload/{payload.id}/change/",
        "/admin/sources/webhookdelivery/",
        f"/admin/sources/webhookdelivery/{delivery.id}/change/",
    ]


def test_admin_pages_render_without_tokens_or_payloads(staff_client, rows):
    connection = rows[0]
    secrets = [
        LEAKY_ACCESS,
        LEAKY_REFRESH,
        connection.access_token_encrypted,
        connection.refresh_token_encrypted,
        HEALTH_VALUE,
    ]
    for url in admin_pages(*rows):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in secrets:
            assert secret not in html, url
        assert "token_encrypted" not in html, url


def test_connection_status_columns_are_read_only(staff_client, rows):
    connection = rows[0]
    response = staff_client.post(
        f"/admin/sources/connection/{connection.id}/change/",
        {
            "status": "needs_reconnect",
            "backfill_days": "10",
            "next_sync_at_0": "2026-01-01",
            "next_sync_at_1": "00:00:00",
            "parked_until_0": "",
            "parked_until_1": "",
            "last_error": "edited",
            "consecutive_failures": "99",
            "access_token_encrypted": "x",
        },
    )
    assert response.status_code == 302, response.content
    connection.refresh_from_db()
    assert connection.status == "needs_reconnect"
    assert connection.backfill_days == 10
    assert connection.last_error == ""
    assert connection.consecutive_failures == 0
    assert connection.access_token == LEAKY_ACCESS


def test_runs_payloads_and_deliveries_cannot_be_added_or_edited(staff_client, rows):
    run = rows[1]
    for model in ("connection", "syncrun", "rawpayload", "webhookdelivery"):
        assert staff_client.get(f"/admin/sources/{model}/add/").status_code == 403
    response = staff_client.post(f"/admin/sources/syncrun/{run.id}/change/", {"status": "failed"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED


def test_the_sync_action_queues_runs_only_for_connections_that_may_sync(staff_client, rows):
    connection = rows[0]
    other = make_connection(
        UserFactory(), status=Connection.Status.NEEDS_RECONNECT, provider_user_id="p-2"
    )
    response = staff_client.post(
        "/admin/sources/connection/",
        {"action": "queue_sync", "_selected_action": [connection.id, other.id]},
        follow=True,
    )
    assert "1 sync(s) queued, 1 refused." in response.content.decode()
    assert SyncRun.objects.filter(connection=connection, status="queued").count() == 1
    assert not SyncRun.objects.filter(connection=other).exists()
