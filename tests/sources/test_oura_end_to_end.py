"""The whole Oura path against the local fake: connect through allauth -> callback ->
subscriptions + backfill -> signed webhook -> targeted sync -> scheduled incremental sync;
a replayed delivery changes nothing."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from metrics.catalog import BY_KEY
from metrics.models import Sample
from sources.models import Connection, SyncRun
from sources.services import sync
from tests.sources.oauth_helpers import connect
from tests.sources.oura_support import started_fake

pytestmark = pytest.mark.django_db
OURA_USER = "oura-user-1"


@pytest.fixture
def fake(settings):
    settings.SITE_URL = "http://testserver"
    yield from started_fake(settings)


def values(user, key: str) -> dict[date, float]:
    from metrics.models import DailyRollup

    rows = DailyRollup.objects.filter(
        data_source__user=user, data_source__kind="oura", metric=BY_KEY[key].id
    )
    return {row.day: row.sum if key == "steps" else row.last for row in rows}


def activity(day: date, steps: int) -> dict:
    return {
        "id": f"act-new-{day.isoformat()}",
        "day": day.isoformat(),
        "timestamp": f"{day.isoformat()}T04:00:00+01:00",
        "steps": steps,
        "active_calories": 410,
        "total_calories": 2500,
        "equivalent_walking_distance": 9000,
        "score": 88,
        "contributors": {},
    }


def test_connect_backfill_webhook_incremental(
    client, user_client, user, fake, django_capture_on_commit_callbacks
):
    today = timezone.now().date()
    fake.generate(OURA_USER, today - timedelta(days=30), today - timedelta(days=2))

    with django_capture_on_commit_callbacks(execute=True):
        response, _ = connect(user_client, fake, "oura")
    assert response.status_code == 302
    connection = Connection.objects.get(user=user, provider="oura")
    assert connection.provider_user_id == OURA_USER
    # Subscriptions were created at Oura and remembered; the backfill ran.
    assert fake.subscriptions and len(connection.subscriptions) == len(fake.subscriptions)
    backfill = SyncRun.objects.get(connection=connection, trigger=SyncRun.Trigger.CONNECT)
    assert backfill.status == SyncRun.Status.SUCCEEDED, backfill.error
    assert backfill.progress == 1.0
    steps = values(user, "steps")
    assert len(steps) == 29
    heart = Sample.objects.filter(data_source_id__in=user.data_sources.values("id"))
    assert heart.filter(metric=BY_KEY["heart_rate"].id).count() == 29 * 288

    # Yesterday's activity syncs to Oura; Oura notifies us (signed); a targeted run fetches it.
    yesterday = today - timedelta(days=1)
    fake.add_user(OURA_USER, {"daily_activity": [activity(yesterday, 12345)]})
    event = fake.event(OURA_USER, "daily_activity", f"act-new-{yesterday.isoformat()}")
    body, headers = fake.signed_event(event)
    signed = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/webhooks/oura/", body, content_type="application/json", **signed)
    assert answer.status_code == 200
    hook = SyncRun.objects.get(connection=connection, trigger=SyncRun.Trigger.WEBHOOK)
    assert hook.status == SyncRun.Status.SUCCEEDED, hook.error
    assert hook.data_types == ["daily_activity"]
    assert values(user, "steps")[yesterday] == 12345

    # The same delivery again (Oura retries): acknowledged, nothing queued.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post("/webhooks/oura/", body, content_type="application/json", **signed)
    assert again.status_code == 200
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.WEBHOOK).count() == 1

    # A readiness score Oura computed later comes with the next scheduled (incremental) run,
    # which only re-reads the look-back.
    fake.add_user(
        OURA_USER,
        {
            "daily_readiness": [
                {
                    "id": "rdy-new",
                    "day": yesterday.isoformat(),
                    "timestamp": f"{yesterday.isoformat()}T00:00:00+01:00",
                    "score": 91,
                    "temperature_deviation": 0.2,
                    "temperature_trend_deviation": 0.0,
                    "contributors": {},
                }
            ]
        },
    )
    fake.calls.clear()
    Connection.objects.filter(id=connection.id).update(next_sync_at=timezone.now())
    assert sync.syncs_dispatch() == 1
    scheduled = SyncRun.objects.get(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    assert scheduled.status == SyncRun.Status.SUCCEEDED, scheduled.error
    assert values(user, "readiness_score")[yesterday] == 91
    earliest = min(
        c.query.get("start_date") or c.query["start_datetime"][:10]
        for c in fake.calls_to("/v2/usercollection/")
    )
    assert date.fromisoformat(earliest) >= today - timedelta(days=10)
    assert scheduled.counts["heartrate"]["samples"] == 0  # nothing new, nothing rewritten
