"""Celery entry points of the sync engine: thin wrappers around sources.services.sync."""

from celery import shared_task

# Each window is saved as it completes, so a run killed by the time limit or a lost worker
# continues from its cursor; the limits only bound a hung provider call.
SYNC_TIME_LIMIT = 20 * 60


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=SYNC_TIME_LIMIT,
    soft_time_limit=SYNC_TIME_LIMIT - 60,
    max_retries=20,
)
def sync_connection_task(
    self, connection_id: int | None = None, run_id: int | None = None, trigger: str = "schedule"
):
    """A queued run (run_id: sync now, webhook, connect) or a scheduled one."""
    from sources.services.sync import SyncBusy, sync_queued_run, sync_scheduled

    if run_id is None:
        sync_scheduled(connection_id)
        return
    try:
        sync_queued_run(run_id)
    except SyncBusy as exc:
        # Another run holds the connection: come back shortly (a short countdown, far
        # below the broker's visibility timeout; housekeeping re-queues it if lost).
        raise self.retry(countdown=60) from exc


@shared_task(acks_late=True, reject_on_worker_lost=True)
def connection_setup_task(connection_id: int):
    from sources.services.sync import connection_setup

    connection_setup(connection_id)


@shared_task
def syncs_dispatch_task():
    from sources.services.sync import syncs_dispatch

    syncs_dispatch()


@shared_task
def subscriptions_renew_task():
    from sources.services.sync import subscriptions_renew

    subscriptions_renew()


@shared_task
def sync_housekeeping_task():
    from sources.services.sync import sync_housekeeping

    sync_housekeeping()
