"""/webhooks/<provider>/: verified, deduplicated, queued; rejected without side effects."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.models import DataSource, Workout
from sources.models import Connection, SyncRun, WebhookDelivery
from tests.sources.engine_provider import SLUG, FakePulse, install, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(settings, user):
    now = timezone.now()
    with FakePulse(now - timedelta(days=5), now - timedelta(minutes=5)) as fake:
        install(settings, fake)
        item = Connection(
            user=user,
            provider=SLUG,
            provider_user_id="u-1",
            token_expires_at=now + timedelta(hours=1),
            backfill_days=10,
        )
        item.access_token = "access-1"
        item.refresh_token = "refresh-1"
        item.save()
        yield item


def post(client, payload: dict, **headers):
    body = json.dumps(payload).encode()
    signed = {**sign(body), **headers}
    return client.post(f"/webhooks/{SLUG}/", body, content_type="application/json", **signed)


def event(**extra) -> dict:
    return {"id": "delivery-1", "user": "u-1", "type": "heartrate", **extra}


def test_a_valid_event_queues_a_targeted_sync(
    client, connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, event())
    assert response.status_code == 200
    run = SyncRun.objects.get(connection=connection)
    assert run.trigger == SyncRun.Trigger.WEBHOOK and run.data_types == ["heartrate"]
    assert run.status == SyncRun.Status.SUCCEEDED  # eager worker
    assert set(run.counts) == {"heartrate"}


def test_a_replayed_delivery_is_acknowledged_and_ignored(client, connection):
    for _ in range(10):
        assert post(client, event()).status_code == 200
    assert WebhookDelivery.objects.count() == 1
    assert SyncRun.objects.count() == 1


@pytest.mark.parametrize(
    "tamper",
    ["bad_signature", "tampered_body", "stale_timestamp", "future_timestamp", "no_headers"],
)
def test_rejected_deliveries_have_no_side_effects(client, connection, tamper):
    body = json.dumps(event()).encode()
    headers = sign(body)
    if tamper == "bad_signature":
        headers = sign(body, secret="wrong")
    elif tamper == "tampered_body":
        body = body.replace(b"u-1", b"u-2")
    elif tamper == "stale_timestamp":
        headers = sign(body, stamp=int(timezone.now().timestamp()) - 600)
    elif tamper == "future_timestamp":
        headers = sign(body, stamp=int(timezone.now().timestamp()) + 600)
    else:
        headers = {}
    response = client.post(f"/webhooks/{SLUG}/", body, content_type="application/json", **headers)
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    assert SyncRun.objects.count() == 0


def test_unknown_or_unconfigured_providers_are_not_found(client, settings, connection):
    assert (
        client.post("/webhooks/nosuch/", b"{}", content_type="application/json").status_code == 404
    )
    settings.HEALTHHUB_PROVIDERS[SLUG]["CLIENT_SECRET"] = ""
    assert post(client, event()).status_code == 404
    assert WebhookDelivery.objects.count() == 0


def test_an_event_for_an_unknown_account_queues_nothing(client, connection):
    assert post(client, event(user="somebody-else")).status_code == 200
    assert SyncRun.objects.count() == 0


def test_a_delete_event_removes_that_workout(client, connection):
    source = DataSource.objects.create(user=connection.user, kind=SLUG, origin="Band")
    now = timezone.now()
    Workout.objects.create(
        data_source=source,
        activity_type="running",
        start=now - timedelta(hours=2),
        end=now - timedelta(hours=1),
        utc_offset=0,
        external_id="w-1",
        duration_seconds=3600,
    )
    assert post(client, event(object="w-1", deleted=True)).status_code == 200
    assert not Workout.objects.filter(external_id="w-1").exists()
    assert SyncRun.objects.count() == 0


def test_a_deleted_night_takes_its_nightly_values_with_it(client, connection):
    from metrics.catalog import BY_KEY
    from metrics.models import DailyRollup, ResolvedDaily, Sample, SleepSession
    from metrics.schemas import SleepSessionIn, SourceRef
    from metrics.services.ingest import sleep_sessions_ingest

    end = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    night = SleepSessionIn(
        source=SourceRef(SLUG, "Band"),
        start=end - timedelta(hours=8),
        end=end,
        utc_offset=60,
        external_id="s-1",
        score=81,
    )
    sleep_sessions_ingest(user=connection.user, sessions=[night])
    asleep = BY_KEY["sleep_in_bed"].id
    assert Sample.objects.filter(metric=asleep).count() == 1
    assert DailyRollup.objects.filter(metric=asleep).count() == 1
    assert ResolvedDaily.objects.filter(user=connection.user, metric=asleep).count() == 1

    assert post(client, event(object="s-1", deleted=True)).status_code == 200

    assert not SleepSession.objects.exists()
    assert not Sample.objects.filter(metric=asleep).exists()
    assert not DailyRollup.objects.filter(metric=asleep).exists()
    assert not ResolvedDaily.objects.filter(user=connection.user, metric=asleep).exists()
