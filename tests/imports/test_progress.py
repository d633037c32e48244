"""The progress of a running import, as the Imports page polls it and the API serves it:
bytes and records so far, percent, records per second and the time left."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import access_token_create
from imports.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(user):
    started = timezone.now() - timedelta(minutes=5)
    return ImportJob.objects.create(
        user=user,
        kind=ImportJob.Kind.APPLE_HEALTH,
        status=ImportJob.Status.RUNNING,
        size_bytes=1_000_000_000,
        bytes_processed=250_000_000,
        records_processed=600_000,
        started_at=started,
        heartbeat_at=started + timedelta(seconds=100),
    )


def test_the_status_of_a_running_import(user_client, user, running):
    page = user_client.get(f"/imports/{running.id}/status/").json()
    assert page["status"] == "running"
    assert page["percent"] == 25
    assert (page["bytes_processed"], page["size_bytes"]) == (250_000_000, 1_000_000_000)
    assert page["records_processed"] == 600_000
    assert page["elapsed_seconds"] == 100.0  # to the last heartbeat
    assert page["records_per_second"] == 6000
    assert page["eta_seconds"] == 300  # three quarters left at the same pace
    assert page["report"] is None

    raw = access_token_create(user=user, name="t", scope="read").raw
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(f"/api/v1/imports/{running.id}/")
    assert api.json() == page
    html = user_client.get(f"/imports/{running.id}/").content.decode()
    assert 'id="cancel-form"' in html and 'value="25"' in html


def test_a_finished_import_has_no_time_left(user_client, running):
    running.status = ImportJob.Status.SUCCEEDED
    running.finished_at = running.started_at + timedelta(seconds=400)
    running.bytes_processed = running.size_bytes
    running.records_processed = 2_400_000
    running.counts = {"parse": {"records": 2_400_000}}
    running.save()
    page = user_client.get(f"/imports/{running.id}/status/").json()
    assert (page["percent"], page["eta_seconds"], page["records_per_second"]) == (100, None, 6000)
    assert page["report"] == {"parse": {"records": 2_400_000}}
