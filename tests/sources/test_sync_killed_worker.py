"""kill -9 of the worker in the middle of a backfill: the run is closed by housekeeping,
the next run continues from the saved cursors, and the data ends exactly as a sync that
was never interrupted (a real worker process, the real broker, the WHOOP fake)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import WorkerHeartbeat
from healthhub.celery import app as celery_app
from metrics.models import Sample, SleepSession, Workout
from sources.models import Connection, SyncCursor, SyncRun
from sources.services import sync
from tests.factories import UserFactory
from tests.fakes.whoop import FakeWhoop
from tests.workers import start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
DAYS = 120


@pytest.fixture
def real_broker():
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def fake(settings):
    with FakeWhoop() as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "whoop": server.settings_for(),
        }
        first = (timezone.now() - timedelta(days=DAYS + 2)).replace(hour=0, minute=0, second=0)
        for member in (1, 2):
            server.generate(member, first, days=DAYS)
        yield server


def slow_down(fake: FakeWhoop, seconds: float) -> None:
    """Every data page takes `seconds`, so the worker is mid-backfill when killed."""
    for (method, path), handler in list(fake.routes.items()):
        if method == "GET" and "/developer/v2/" in path:

            def slow(request, handler=handler):
                time.sleep(seconds)
                return handler(request)

            fake.route(method, path, slow)


def connect(fake: FakeWhoop, user, member: int) -> Connection:
    grant = fake._issue(
        member,
        (
            "offline",
            "read:cycles",
            "read:recovery",
            "read:sleep",
            "read:workout",
            "read:body_measurement",
            "read:profile",
        ),
    )
    connection = Connection(
        user=user,
        provider="whoop",
        provider_user_id=str(member),
        token_expires_at=timezone.now() + timedelta(seconds=grant["expires_in"]),
        backfill_days=DAYS + 10,
    )
    connection.access_token = grant["access_token"]
    connection.refresh_token = grant["refresh_token"]
    connection.save()
    return connection


def held(user) -> tuple[int, int, int]:
    return (
        Sample.objects.filter(data_source_id__in=user.data_sources.values("id")).count(),
        SleepSession.objects.filter(data_source__user=user).count(),
        Workout.objects.filter(data_source__user=user).count(),
    )


def test_a_worker_killed_mid_backfill_loses_nothing(user, fake, tmp_path, real_broker):
    control = UserFactory(email="control@example.org")
    sync.sync_run_now(connection=connect(fake, control, 2))  # never interrupted
    expected = held(control)
    assert expected[1] == DAYS and expected[2] == DAYS

    connection = connect(fake, user, 1)
    slow_down(fake, 0.25)
    env = {f"WHOOP_{key}": value for key, value in fake.settings_for().items()}
    log = tmp_path / "worker.log"
    started = timezone.now()
    first = start_worker(log, **env)
    try:
        wait_for(lambda: WorkerHeartbeat.objects.filter(last_seen__gt=started).exists(), timeout=60)
        run = sync.sync_request(connection=connection, trigger=SyncRun.Trigger.CONNECT)

        def mid_backfill():
            return (
                SyncCursor.objects.filter(
                    connection=connection, oldest_synced__isnull=False
                ).count()
                >= 2
                and not SyncCursor.objects.filter(
                    connection=connection, backfill_complete=True, data_type="workout"
                ).exists()
            )

        wait_for(mid_backfill, timeout=90, interval=0.05)
    finally:
        stop_worker(first, kill=True)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING
    partial = held(user)
    assert partial != expected

    # Fifteen minutes later the claim is stale: housekeeping closes the dead run and the
    # schedule picks the connection up again.
    later = timezone.now() + sync.CLAIM_STALE_AFTER + timedelta(minutes=1)
    assert sync.sync_housekeeping(now=later)["closed"] == 1
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED and "stopped" in run.error
    assert list(sync._due(later)) == [Connection.objects.get(id=connection.id)]

    slow_down(fake, 0)
    Connection.objects.filter(id=connection.id).update(
        sync_claimed_at=timezone.now() - sync.CLAIM_STALE_AFTER - timedelta(minutes=1)
    )
    second = sync.sync_run_now(connection=Connection.objects.get(id=connection.id))
    assert second.status == SyncRun.Status.SUCCEEDED, second.error
    assert held(user) == expected
