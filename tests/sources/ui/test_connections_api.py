"""/api/v1/connections/: owner-scoped state, sync now, runs; never a token."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import access_token_create
from sources.models import Connection, SyncCursor, SyncRun
from tests.sources.ui.helpers import (
    LEAKY_ACCESS,
    LEAKY_REFRESH,
    hold_claim,
    make_connection,
    make_run,
)

pytestmark = pytest.mark.django_db


def bearer(user, scope="write") -> dict:
    raw = access_token_create(user=user, name="t", scope=scope).raw
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_list_and_detail_show_state_and_progress_but_no_tokens(client, user, pulse):
    connection = make_connection(user, access=LEAKY_ACCESS, refresh=LEAKY_REFRESH)
    SyncCursor.objects.create(connection=connection, data_type="resting", backfill_complete=True)
    auth = bearer(user, "read")
    listed = client.get("/api/v1/connections/", **auth)
    detail = client.get(f"/api/v1/connections/{connection.id}/", **auth)
    assert listed.status_code == detail.status_code == 200
    item = listed.json()[0]
    assert item == detail.json()
    assert item["provider"] == "pulse"
    assert item["status"] == "active"
    assert item["data_types"] == ["heartrate", "resting"]
    assert item["backfill"]["overall"] == 0.5
    assert item["backfill"]["data_types"][1] == {
        "name": "resting",
        "covered": 1.0,
        "complete": True,
    }
    for response in (listed, detail):
        text = response.content.decode()
        assert LEAKY_ACCESS not in text and LEAKY_REFRESH not in text
        assert connection.access_token_encrypted not in text
        assert "token" not in text


def test_another_users_connection_is_not_found(client, user, other_user, connection):
    auth = bearer(other_user)
    assert client.get("/api/v1/connections/", **auth).json() == []
    for method, path in (
        ("get", f"/api/v1/connections/{connection.id}/"),
        ("post", f"/api/v1/connections/{connection.id}/sync/"),
        ("get", f"/api/v1/connections/{connection.id}/runs/"),
    ):
        response = getattr(client, method)(path, **auth)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not SyncRun.objects.exists()


def test_anonymous_requests_are_refused(client, connection):
    assert client.get("/api/v1/connections/").status_code in (401, 403)
    assert client.post(f"/api/v1/connections/{connection.id}/sync/").status_code in (401, 403)


def test_sync_answers_202_with_the_queued_run(client, user, connection):
    response = client.post(
        f"/api/v1/connections/{connection.id}/sync/",
        {"data_types": ["resting"]},
        content_type="application/json",
        **bearer(user),
    )
    assert response.status_code == 202
    run = SyncRun.objects.get(connection=connection)
    assert response.json() == {"run_id": run.id, "connection": connection.id, "status": "queued"}
    assert run.trigger == "manual"
    assert run.data_types == ["resting"]


def test_a_read_only_token_cannot_start_a_sync(client, user, connection):
    response = client.post(f"/api/v1/connections/{connection.id}/sync/", **bearer(user, "read"))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This token is read-only."
    assert not SyncRun.objects.exists()


def test_sync_of_an_unknown_data_type_is_invalid(client, user, connection):
    response = client.post(
        f"/api/v1/connections/{connection.id}/sync/",
        {"data_types": ["steps"]},
        content_type="application/json",
        **bearer(user),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not SyncRun.objects.exists()


def test_sync_while_running_is_a_conflict(client, user, connection):
    hold_claim(connection)
    response = client.post(f"/api/v1/connections/{connection.id}/sync/", **bearer(user))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sync_running"
    assert not SyncRun.objects.exists()


def test_sync_while_parked_is_locked_with_retry_after(client, user, connection):
    connection.parked_until = timezone.now() + timedelta(minutes=10)
    connection.save()
    response = client.post(f"/api/v1/connections/{connection.id}/sync/", **bearer(user))
    assert response.status_code == 423
    error = response.json()["error"]
    assert error["code"] == "parked"
    assert 590 <= error["details"]["retry_after_seconds"] <= 600
    assert error["details"]["retry_after"] == connection.parked_until.isoformat()
    assert response["Retry-After"] == str(error["details"]["retry_after_seconds"])


def test_sync_of_a_connection_needing_reconnect_is_a_conflict(client, user, connection):
    connection.status = Connection.Status.NEEDS_RECONNECT
    connection.save()
    response = client.post(f"/api/v1/connections/{connection.id}/sync/", **bearer(user))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "needs_reconnect"


def test_runs_are_listed_newest_first_and_paginated(client, user, connection):
    now = timezone.now()
    runs = [
        make_run(connection, created_at=now - timedelta(hours=i), error="" if i else "HTTP 503")
        for i in range(3)
    ]
    auth = bearer(user, "read")
    first = client.get(f"/api/v1/connections/{connection.id}/runs/?page_size=2", **auth).json()
    assert [r["id"] for r in first["results"]] == [runs[0].id, runs[1].id]
    assert first["results"][0]["counts"]["heartrate"]["samples"] == 4
    assert first["results"][0]["duration_seconds"] == 60.0
    assert (
        first["results"][0]["error"]
        == "Pulse's servers had a problem. HealthHub will try again later."
    )
    second = client.get(first["next"], **auth).json()
    assert [r["id"] for r in second["results"]] == [runs[2].id]


def test_the_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/connections/",
        "/api/v1/connections/{id}/",
        "/api/v1/connections/{id}/sync/",
        "/api/v1/connections/{id}/runs/",
    ):
        assert path in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/connections/{id}/sync/"]
