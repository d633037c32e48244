"""Helpers for the Sources page, API, admin and command tests."""

from datetime import timedelta

from django.utils import timezone

from sources.models import Connection, SyncRun
from tests.sources.engine_provider import SLUG

ACCESS_TOKEN = "access-1"  # the fake's initial pair
REFRESH_TOKEN = "refresh-1"
LEAKY_ACCESS = "AT-must-never-show-7f3a9c"
LEAKY_REFRESH = "RT-must-never-show-2b8e4d"


def make_connection(user, *, access=ACCESS_TOKEN, refresh=REFRESH_TOKEN, **fields):
    values = {
        "provider": SLUG,
        "provider_user_id": f"pulse-{user.pk}",
        "token_expires_at": timezone.now() + timedelta(hours=1),
        "backfill_days": 30,
        **fields,
    }
    connection = Connection(user=user, **values)
    connection.access_token = access
    connection.refresh_token = refresh
    connection.save()
    return connection


def make_run(connection, **fields):
    values = {
        "user_id": connection.user_id,
        "trigger": SyncRun.Trigger.SCHEDULE,
        "status": SyncRun.Status.SUCCEEDED,
        "started_at": timezone.now() - timedelta(minutes=3),
        "finished_at": timezone.now() - timedelta(minutes=2),
        "counts": {"heartrate": {"pages": 2, "samples": 4, "sleep": 0, "workouts": 0}},
        **fields,
    }
    return SyncRun.objects.create(connection=connection, **values)


def hold_claim(connection):
    """As the engine does while a run is live (sources.services.sync._claim)."""
    Connection.objects.filter(id=connection.id).update(
        sync_claim="live-run", sync_claimed_at=timezone.now()
    )
    connection.refresh_from_db()
