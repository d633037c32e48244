"""The sync engine: which connections are due, one sync at a time per connection, chunked
backfill and incremental windows per data type, and what each provider error means.

- Celery beat calls `syncs_dispatch` every minute; the database decides what is due
  (active, next_sync_at passed, not parked by a rate limit, not claimed by a live run).
- A run claims its connection with one conditional UPDATE (`_claim`); a claim whose
  heartbeat is older than CLAIM_STALE_AFTER belongs to a dead worker and may be taken over.
- Per data type a SyncCursor records the covered span [oldest_synced, newest_synced].
  A run first re-reads [newest - look-back, now) (late revisions), then walks the backfill
  backwards in the provider's chunk size until the history start, saving the cursor after
  every window, so a killed worker loses at most one window and the re-run is idempotent
  (the ingestion service upserts on natural keys).
- A window's pages are fetched and normalized completely before anything is written: a
  malformed page rejects the whole window (nothing partial), the cursor stays put.
- 429 parks the connection until the provider's time (no sleeping in a worker); 5xx and
  timeouts end the run and reschedule it with exponential backoff and jitter; after
  SYNC_MAX_RETRIES consecutive failures the error is shown to the user (retries go on at
  the backoff ceiling); a dead refresh token marks the connection "needs reconnect".
"""

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from metrics.services.ingest import samples_ingest, sleep_sessions_ingest, workouts_ingest
from metrics.services.sources import events_delete
from sources import providers
from sources.errors import (
    AuthExpired,
    AuthRevoked,
    MalformedPayload,
    ProviderError,
    RateLimited,
    TransientError,
)
from sources.models import Connection, RawPayload, SyncCursor, SyncRun
from sources.providers.base import DataType, Normalized, Provider, WebhookEvent
from sources.selectors import backfill_progress, connection_is_syncing, history_start

log = structlog.get_logger(__name__)

CLAIM_STALE_AFTER = timedelta(minutes=15)
DISPATCH_RETRY_AFTER = timedelta(minutes=10)  # a dispatched run that never started
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CEILING = timedelta(hours=1)
RUN_BUDGET = timedelta(minutes=10)  # then the run ends and the next one continues at once
WEBHOOK_WINDOW = timedelta(days=3)  # notifications without a window re-read this much


class SyncBusy(Exception):
    """Another run holds the connection."""


@dataclass(frozen=True)
class Window:
    data_type: DataType
    start: datetime
    end: datetime
    backfill: bool


# --- scheduling --------------------------------------------------------------------------
def _due(now: datetime):
    # Only providers this server still offers (registered, with credentials).
    offered = [provider.slug for provider in providers.configured()]
    return Connection.objects.filter(
        Q(parked_until__isnull=True) | Q(parked_until__lte=now),
        Q(sync_claim="") | Q(sync_claimed_at__lt=now - CLAIM_STALE_AFTER),
        status=Connection.Status.ACTIVE,
        next_sync_at__lte=now,
        provider__in=offered,
    )


def syncs_dispatch(*, now: datetime | None = None) -> int:
    """Queue a run for every due connection (called by beat every minute)."""
    from sources.tasks import sync_connection_task

    now = now or timezone.now()
    count = 0
    for connection_id in _due(now).values_list("id", flat=True):
        # Push next_sync_at forward first, so the next tick does not queue it again; if
        # the queued task is lost (broker flushed), the connection is due again later.
        moved = _due(now).filter(id=connection_id).update(next_sync_at=now + DISPATCH_RETRY_AFTER)
        if moved:
            sync_connection_task.delay(connection_id=connection_id, trigger="schedule")
            count += 1
    return count


def sync_request(
    *,
    connection: Connection,
    trigger: str,
    data_types: tuple[str, ...] = (),
    start: datetime | None = None,
    end: datetime | None = None,
) -> SyncRun | None:
    """Queue a run (sync now, webhook, new connection). None when the connection cannot
    sync now: needs reconnecting, parked by a rate limit, or (for "sync now") already
    syncing. Webhook runs queue behind a running sync instead of being dropped."""
    from sources.tasks import sync_connection_task

    now = timezone.now()
    connection.refresh_from_db()
    if connection.status != Connection.Status.ACTIVE:
        return None
    if connection.parked_until and connection.parked_until > now:
        return None
    busy = connection_is_syncing(connection=connection, now=now)
    if busy and trigger == SyncRun.Trigger.MANUAL:
        return None
    pending = SyncRun.objects.filter(connection=connection, status=SyncRun.Status.QUEUED)
    if trigger == SyncRun.Trigger.WEBHOOK:
        # Fold notifications into one queued targeted run rather than one run each.
        queued = pending.filter(trigger=trigger).first()
        if queued is not None:
            queued.data_types = sorted(set(queued.data_types) | set(data_types))
            if start and (queued.window_start is None or start < queued.window_start):
                queued.window_start = start
            if end and (queued.window_end is None or end > queued.window_end):
                queued.window_end = end
            queued.save(update_fields=["data_types", "window_start", "window_end"])
            return queued
    elif pending.filter(Q(data_types=[]) | Q(trigger=trigger)).exists():
        return pending.first()
    run = SyncRun.objects.create(
        connection=connection,
        user_id=connection.user_id,
        trigger=trigger,
        data_types=sorted(data_types),
        window_start=start,
        window_end=end,
    )
    transaction.on_commit(lambda: sync_connection_task.delay(run_id=run.id))
    return run


def connection_connected(connection: Connection) -> None:
    """After OAuth: create the webhook subscriptions and start the backfill (in a task)."""
    from sources.tasks import connection_setup_task

    connection_id = connection.id
    transaction.on_commit(lambda: connection_setup_task.delay(connection_id=connection_id))


def webhook_callback_url(provider: Provider) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/webhooks/{provider.slug}/"


def connection_setup(connection_id: int) -> None:
    connection = Connection.objects.get(id=connection_id)
    provider = providers.get(connection.provider)
    if provider.webhooks:
        subscriptions_ensure(connection)
    sync_request(connection=connection, trigger=SyncRun.Trigger.CONNECT)


def subscriptions_ensure(connection: Connection) -> None:
    """Create the provider's webhook subscriptions for this connection (best effort: a
    failure is logged and the scheduled sync still brings the data)."""
    from sources.services.tokens import access_token_for

    provider = providers.get(connection.provider)
    http = provider.http()
    try:
        token = access_token_for(connection, http=http)
        subscriptions = provider.subscribe(http, token, webhook_callback_url(provider))
    except (ProviderError, TransientError) as exc:
        log.warning("subscription_failed", connection=connection.id, error=type(exc).__name__)
        return
    Connection.objects.filter(id=connection.id).update(subscriptions=subscriptions)


def subscriptions_renew(*, now: datetime | None = None) -> int:
    """Renew subscriptions that expire within a week (Oura's expire)."""
    now = now or timezone.now()
    soon = (now + timedelta(days=7)).isoformat()
    renewed = 0
    for connection in Connection.objects.filter(status=Connection.Status.ACTIVE).exclude(
        subscriptions=[]
    ):
        expiring = [s for s in connection.subscriptions if (s.get("expires_at") or soon) < soon]
        if not expiring:
            continue
        provider = providers.get(connection.provider)
        try:
            subscriptions = provider.renew_subscriptions(provider.http(), connection.subscriptions)
        except (ProviderError, TransientError) as exc:
            log.warning("subscription_renew_failed", connection=connection.id, error=str(exc))
            continue
        Connection.objects.filter(id=connection.id).update(subscriptions=subscriptions)
        renewed += 1
    return renewed


# --- one run ----------------------------------------------------------------------------
def _claim(connection: Connection, now: datetime) -> str:
    claim = str(uuid.uuid4())
    taken = (
        Connection.objects.filter(id=connection.id, status=Connection.Status.ACTIVE)
        .filter(Q(sync_claim="") | Q(sync_claimed_at__lt=now - CLAIM_STALE_AFTER))
        .update(sync_claim=claim, sync_claimed_at=now)
    )
    if not taken:
        raise SyncBusy(f"connection {connection.id} is syncing or not active")
    return claim


def _heartbeat(connection: Connection, claim: str) -> None:
    Connection.objects.filter(id=connection.id, sync_claim=claim).update(
        sync_claimed_at=timezone.now()
    )


def _release(connection: Connection, claim: str, **fields) -> None:
    Connection.objects.filter(id=connection.id, sync_claim=claim).update(
        sync_claim="", sync_claimed_at=None, **fields
    )


def plan_windows(
    connection: Connection,
    data_type: DataType,
    cursor: SyncCursor,
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Window]:
    """Windows to fetch for one data type: a targeted span if given, else the incremental
    re-read then the remaining backfill (newest first), each at most chunk_days long."""
    chunk = timedelta(days=data_type.chunk_days)
    windows = []
    if start is not None or end is not None:
        lo, hi = start or (now - WEBHOOK_WINDOW), min(end or now, now)
        while hi > lo:
            windows.append(Window(data_type, max(lo, hi - chunk), hi, False))
            hi -= chunk
        return windows
    if cursor.newest_synced is not None:
        lo = cursor.newest_synced - timedelta(days=data_type.lookback_days)
        hi = now
        while hi > lo:
            windows.append(Window(data_type, max(lo, hi - chunk), hi, False))
            hi -= chunk
    oldest = cursor.oldest_synced or now
    floor = history_start(connection, data_type, now)
    hi = oldest
    while hi > floor and not cursor.backfill_complete:
        windows.append(Window(data_type, max(floor, hi - chunk), hi, True))
        hi -= chunk
    return windows


def _fetch_window(provider: Provider, http, connection: Connection, window: Window) -> list[dict]:
    """All pages of one window; one refresh-and-retry on an expired access token."""
    from sources.services.tokens import access_token_for, token_refresh

    token = access_token_for(connection, http=http)
    try:
        return list(provider.fetch(http, token, window.data_type.name, window.start, window.end))
    except AuthExpired:
        token = token_refresh(connection, http=http, rejected=token)
        return list(provider.fetch(http, token, window.data_type.name, window.start, window.end))


def _write(user, normalized: Normalized) -> dict:
    counts = {"samples": 0, "sleep": 0, "workouts": 0, "rejected": 0}
    if normalized.samples:
        result = samples_ingest(user=user, records=normalized.samples)
        counts["samples"] = result.created + result.updated
        counts["rejected"] += result.rejected
    if normalized.sleep:
        result = sleep_sessions_ingest(user=user, sessions=normalized.sleep)
        counts["sleep"] = len(normalized.sleep) - result.rejected
        counts["rejected"] += result.rejected
    if normalized.workouts:
        result = workouts_ingest(user=user, workouts=normalized.workouts)
        counts["workouts"] = len(normalized.workouts) - result.rejected
        counts["rejected"] += result.rejected
    return counts


def _keep_raw(connection, run, window: Window, pages: list[dict]) -> None:
    if settings.SYNC_RAW_PAYLOAD_DAYS <= 0:
        return
    RawPayload.objects.bulk_create(
        RawPayload(
            connection=connection,
            run=run,
            data_type=window.data_type.name,
            window_start=window.start,
            window_end=window.end,
            payload=page,
        )
        for page in pages
    )


def _advance(cursor: SyncCursor, window: Window, floor: datetime) -> None:
    if cursor.newest_synced is None or window.end > cursor.newest_synced:
        cursor.newest_synced = window.end
    if cursor.oldest_synced is None or window.start < cursor.oldest_synced:
        cursor.oldest_synced = window.start
    if cursor.oldest_synced <= floor:
        cursor.backfill_complete = True
    cursor.save()


def _backoff(failures: int) -> timedelta:
    delay = min(BACKOFF_BASE * (2 ** max(failures - 1, 0)), BACKOFF_CEILING)
    return delay * random.uniform(0.5, 1.5)  # noqa: S311 (jitter, not a secret)


def _add_counts(run: SyncRun, data_type: str, pages: int, counts: dict) -> None:
    entry = run.counts.setdefault(
        data_type, {"pages": 0, "samples": 0, "sleep": 0, "workouts": 0, "rejected": 0}
    )
    entry["pages"] += pages
    for key, value in counts.items():
        entry[key] = entry.get(key, 0) + value


def sync_run_now(
    *,
    connection: Connection,
    trigger: str = SyncRun.Trigger.MANUAL,
    run: SyncRun | None = None,
    progress: Callable[[SyncRun], None] | None = None,
) -> SyncRun:
    """Run one sync in this process. Raises SyncBusy if another run holds the connection."""
    now = timezone.now()
    claim = _claim(connection, now)
    connection.refresh_from_db()
    if run is None:
        run = SyncRun.objects.create(
            connection=connection, user_id=connection.user_id, trigger=trigger
        )
    run.status = SyncRun.Status.RUNNING
    run.started_at = now
    run.save(update_fields=["status", "started_at"])
    provider = providers.get(connection.provider)
    http = provider.http()
    deadline = now + RUN_BUDGET
    errors: list[str] = []
    outcome = SyncRun.Status.SUCCEEDED
    release: dict = {}
    try:
        names = run.data_types or [d.name for d in provider.data_types]
        for data_type in (provider.data_type(name) for name in names):
            cursor, _ = SyncCursor.objects.get_or_create(
                connection=connection, data_type=data_type.name
            )
            floor = history_start(connection, data_type, now)
            windows = plan_windows(
                connection, data_type, cursor, now, start=run.window_start, end=run.window_end
            )
            for window in windows:
                if timezone.now() > deadline:
                    outcome = SyncRun.Status.PARTIAL
                    release["next_sync_at"] = timezone.now()  # continue at once
                    break
                try:
                    pages = _fetch_window(provider, http, connection, window)
                    normalized = Normalized()
                    for page in pages:
                        normalized.extend(provider.normalize(data_type.name, page))
                except (RateLimited, TransientError, AuthRevoked, AuthExpired):
                    raise  # about the whole connection: handled below
                except ProviderError as exc:
                    # A malformed page, or this type refused (a missing scope, say): nothing
                    # of this window is written, the cursor stays, other types go on.
                    errors.append(f"{data_type.name}: {exc}")
                    outcome = SyncRun.Status.PARTIAL
                    log.warning(
                        "sync_type_failed",
                        connection=connection.id,
                        data_type=data_type.name,
                        error=type(exc).__name__,
                    )
                    break
                _keep_raw(connection, run, window, pages)
                counts = _write(connection.user, normalized)
                _add_counts(run, data_type.name, len(pages), counts)
                if not (run.window_start or run.window_end):
                    _advance(cursor, window, floor)
                run.requests = http.count
                run.progress = backfill_progress(connection=connection, provider=provider)[0]
                run.save(update_fields=["counts", "requests", "progress"])
                _heartbeat(connection, claim)
                if progress:
                    progress(run)
            if outcome == SyncRun.Status.PARTIAL and "next_sync_at" in release:
                break
    except RateLimited as exc:
        outcome = SyncRun.Status.RATE_LIMITED
        errors.append(
            f"{provider.name} asked HealthHub to slow down; syncing resumes after "
            f"{exc.retry_at:%Y-%m-%d %H:%M} UTC."
        )
        release.update(parked_until=exc.retry_at, next_sync_at=exc.retry_at)
    except AuthRevoked:
        outcome = SyncRun.Status.FAILED
        errors.append(
            f"{provider.name} no longer accepts HealthHub's access. "
            f"Reconnect {provider.name} to resume syncing."
        )
    except TransientError as exc:
        outcome = SyncRun.Status.FAILED
        failures = connection.consecutive_failures + 1
        retry_at = timezone.now() + _backoff(failures)
        errors.append(f"{exc} Retrying at {retry_at:%H:%M} UTC.")
        release.update(consecutive_failures=F("consecutive_failures") + 1, next_sync_at=retry_at)
        if failures >= settings.SYNC_MAX_RETRIES:
            release.update(
                last_error=f"{provider.name} has failed {failures} times in a row "
                f"({exc}). HealthHub keeps retrying.",
                last_error_at=timezone.now(),
            )
    except ProviderError as exc:
        outcome = SyncRun.Status.FAILED
        errors.append(str(exc))
    except Exception:
        outcome = SyncRun.Status.FAILED
        errors.append("An internal error stopped this sync; it will be retried.")
        release.update(next_sync_at=timezone.now() + _backoff(connection.consecutive_failures + 1))
        raise
    finally:
        finished = timezone.now()
        run.status = outcome
        run.finished_at = finished
        run.error = "\n".join(errors)
        run.requests = http.count
        run.progress = backfill_progress(connection=connection, provider=provider)[0]
        run.save()
        release.setdefault("last_sync_at", finished)
        if outcome in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL):
            if outcome == SyncRun.Status.SUCCEEDED:
                release.update(last_error="", last_error_at=None)
            elif errors:
                release.update(last_error=errors[0], last_error_at=finished)
            release.update(last_success_at=finished, consecutive_failures=0)
            release.setdefault(
                "next_sync_at", finished + timedelta(minutes=settings.SYNC_INTERVAL_MINUTES)
            )
        elif outcome == SyncRun.Status.RATE_LIMITED:
            release.setdefault("last_error", errors[0])
            release.setdefault("last_error_at", finished)
        elif outcome == SyncRun.Status.FAILED and not (
            "last_error" in release or "consecutive_failures" in release
        ):  # a permanent failure is shown at once
            release.update(last_error=errors[0] if errors else "", last_error_at=finished)
            release.setdefault(
                "next_sync_at", finished + timedelta(minutes=settings.SYNC_INTERVAL_MINUTES)
            )
        _release(connection, claim, **release)
        log.info(
            "sync_finished",
            connection=connection.id,
            provider=connection.provider,
            run=run.id,
            status=outcome,
            requests=http.count,
        )
    return run


def sync_queued_run(run_id: int) -> SyncRun | None:
    """Run a queued SyncRun (from sync_request). If another run holds the connection,
    leave it queued for the caller to retry later."""
    run = SyncRun.objects.select_related("connection").get(id=run_id)
    if run.status != SyncRun.Status.QUEUED:
        return run
    return sync_run_now(connection=run.connection, trigger=run.trigger, run=run)


def sync_scheduled(connection_id: int) -> SyncRun | None:
    connection = Connection.objects.get(id=connection_id)
    try:
        return sync_run_now(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
    except SyncBusy:
        return None


# --- webhooks ----------------------------------------------------------------------------
def webhook_event_apply(provider: Provider, event: WebhookEvent) -> SyncRun | None:
    """A verified, first-seen notification: delete what the provider deleted, or queue a
    targeted sync of the named data types (and window)."""
    connection = Connection.objects.filter(
        provider=provider.slug, provider_user_id=event.provider_user_id
    ).first()
    if connection is None or connection.status != Connection.Status.ACTIVE:
        return None
    if event.deleted and event.object_id:
        events_delete(user=connection.user, kind=provider.slug, external_id=event.object_id)
        return None
    known = {d.name for d in provider.data_types}
    data_types = tuple(name for name in event.data_types if name in known)
    if not data_types:
        return None
    return sync_request(
        connection=connection,
        trigger=SyncRun.Trigger.WEBHOOK,
        data_types=data_types,
        start=event.start,
        end=event.end,
    )


# --- housekeeping ------------------------------------------------------------------------
def sync_housekeeping(*, now: datetime | None = None) -> dict:
    """Prune raw payloads and old delivery ids; re-queue runs whose task was lost; close
    runs whose worker died."""
    from sources.models import WebhookDelivery
    from sources.tasks import sync_connection_task

    now = now or timezone.now()
    pruned = RawPayload.objects.filter(
        fetched_at__lt=now - timedelta(days=max(settings.SYNC_RAW_PAYLOAD_DAYS, 0))
    ).delete()[0]
    deliveries = WebhookDelivery.objects.filter(received_at__lt=now - timedelta(days=7)).delete()[0]
    dead = SyncRun.objects.filter(
        status=SyncRun.Status.RUNNING, started_at__lt=now - CLAIM_STALE_AFTER
    ).exclude(connection__sync_claimed_at__gte=now - CLAIM_STALE_AFTER)
    closed = dead.update(
        status=SyncRun.Status.FAILED,
        finished_at=now,
        error="The worker running this sync stopped; the next sync continues from the last "
        "saved point.",
    )
    requeued = 0
    for run_id in SyncRun.objects.filter(
        status=SyncRun.Status.QUEUED, created_at__lt=now - DISPATCH_RETRY_AFTER
    ).values_list("id", flat=True):
        sync_connection_task.delay(run_id=run_id)
        requeued += 1
    return {"payloads": pruned, "deliveries": deliveries, "closed": closed, "requeued": requeued}


def payloads_replay(*, connection: Connection, data_type: str = "") -> dict:
    """Normalize the kept raw payloads again and write them (after a normalizer fix).
    Idempotent: the ingestion service upserts on natural keys."""
    provider = providers.get(connection.provider)
    payloads = connection.payloads.order_by("fetched_at", "id")
    if data_type:
        payloads = payloads.filter(data_type=data_type)
    totals = {"payloads": 0, "samples": 0, "sleep": 0, "workouts": 0, "rejected": 0, "malformed": 0}
    for item in payloads.iterator(chunk_size=100):
        try:
            normalized = provider.normalize(item.data_type, item.payload)
        except MalformedPayload:
            totals["malformed"] += 1
            continue
        totals["payloads"] += 1
        for key, value in _write(connection.user, normalized).items():
            totals[key] += value
    return totals
