from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_io(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_a_fresh_worker_heartbeat(client):
    WorkerHeartbeat.objects.create(hostname="w1", last_seen=timezone.now())
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok", "worker": "ok"},
    }


def test_readyz_fails_without_any_worker(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["worker"] == "no worker has reported a heartbeat"
    assert body["checks"]["database"] == "ok"


def test_readyz_fails_when_the_heartbeat_is_stale(client, settings):
    settings.WORKER_HEARTBEAT_MAX_AGE = 60
    WorkerHeartbeat.objects.create(hostname="w1", last_seen=timezone.now() - timedelta(seconds=300))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"].startswith("newest worker heartbeat is 30")


def test_readyz_names_the_broker_when_it_is_unreachable(client, settings):
    from healthhub.celery import app

    WorkerHeartbeat.objects.create(hostname="w1", last_seen=timezone.now())
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("broker unreachable")


@pytest.mark.django_db(transaction=True)
def test_readyz_answers_503_when_the_database_is_unreachable(client):
    WorkerHeartbeat.objects.create(hostname="w1", last_seen=timezone.now())
    original_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: connection refused
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original_port
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("database unreachable: OperationalError")
    assert body["checks"]["worker"] == "skipped"
    assert body["checks"]["broker"] == "ok"
