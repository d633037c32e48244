"""Reads for the Sources page, the connections API and the admin.

Every function taking a `user` scopes to that user's rows. Nothing here returns token
fields: callers get Connection rows (whose token columns stay encrypted and unread) wrapped
in `ConnectionState`, which holds only what a user may see.
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from metrics.catalog import BY_KEY
from sources import providers
from sources.models import Connection, SyncCursor, SyncRun
from sources.providers.base import Provider

RECENT_RUNS = 10


@dataclass(frozen=True)
class DataTypeProgress:
    name: str
    covered: float  # 0..1 of the data type's history window
    complete: bool


@dataclass(frozen=True)
class SyncRefusal:
    """Why a sync cannot start now: `code` for the API, `message` for people."""

    code: str  # "sync_running" | "parked" | "needs_reconnect" | "disconnected"
    message: str
    retry_at: datetime | None = None


@dataclass
class ConnectionState:
    connection: Connection
    provider: Provider | None
    name: str
    syncing: bool
    queued: bool
    parked_until: datetime | None
    next_sync_at: datetime | None
    last_error: str
    backfill: list[DataTypeProgress] = field(default_factory=list)
    backfill_overall: float = 0.0
    delivers: list[str] = field(default_factory=list)
    data_types: list[str] = field(default_factory=list)
    runs: list[SyncRun] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.connection.status

    @property
    def backfill_percent(self) -> int:
        return int(self.backfill_overall * 100)

    @property
    def backfill_complete(self) -> bool:
        return bool(self.backfill) and all(item.complete for item in self.backfill)


def local_time(value: datetime, connection: Connection) -> str:
    """A moment in the connection owner's home time zone, for messages."""
    try:
        zone = zoneinfo.ZoneInfo(connection.user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return f"{timezone.localtime(value, zone):%Y-%m-%d %H:%M} ({zone.key})"


def provider_or_none(slug: str) -> Provider | None:
    try:
        return providers.get(slug)
    except KeyError:
        return None


def provider_name(slug: str) -> str:
    provider = provider_or_none(slug)
    return provider.name if provider else slug.capitalize()


# --- connections ---------------------------------------------------------------------------
def connections_for_user(*, user) -> QuerySet[Connection]:
    """The user's connections, disconnected ones included (their status says so)."""
    return Connection.objects.filter(user=user).order_by("provider")


def connection_get(*, user, connection_id: int) -> Connection:
    """The user's connection with that id; Connection.DoesNotExist for anyone else's."""
    return Connection.objects.get(user=user, id=connection_id)


def sync_runs_for_connection(*, connection: Connection) -> QuerySet[SyncRun]:
    """Newest first (queued ones, not started yet, included)."""
    return SyncRun.objects.filter(connection=connection).order_by("-created_at", "-id")


def connection_is_syncing(*, connection: Connection, now: datetime | None = None) -> bool:
    """A live run holds the connection's claim (a claim without a heartbeat for the
    engine's CLAIM_STALE_AFTER belongs to a dead worker and does not count)."""
    from sources.services.sync import CLAIM_STALE_AFTER

    now = now or timezone.now()
    return bool(
        connection.sync_claim
        and connection.sync_claimed_at
        and connection.sync_claimed_at > now - CLAIM_STALE_AFTER
    )


def connection_sync_queued(*, connection: Connection) -> bool:
    return SyncRun.objects.filter(connection=connection, status=SyncRun.Status.QUEUED).exists()


def parked_until(*, connection: Connection, now: datetime | None = None) -> datetime | None:
    now = now or timezone.now()
    if connection.parked_until and connection.parked_until > now:
        return connection.parked_until
    return None


def next_sync_at(*, connection: Connection, now: datetime | None = None) -> datetime | None:
    """When the schedule will next sync it: never while it needs reconnecting, not before
    the provider's rate limit lifts."""
    if connection.status != Connection.Status.ACTIVE:
        return None
    parked = parked_until(connection=connection, now=now)
    if parked and parked > connection.next_sync_at:
        return parked
    return connection.next_sync_at


def sync_refusal(*, connection: Connection, now: datetime | None = None) -> SyncRefusal | None:
    """Why "Sync now" would be refused at this moment, or None if it may start."""
    now = now or timezone.now()
    name = provider_name(connection.provider)
    if connection.status == Connection.Status.DISCONNECTED:
        return SyncRefusal("disconnected", f"{name} is disconnected. Connect it again first.")
    if connection.status == Connection.Status.NEEDS_RECONNECT:
        return SyncRefusal(
            "needs_reconnect",
            f"{name} needs reconnecting before it can sync: HealthHub's access was "
            "withdrawn or has expired.",
        )
    parked = parked_until(connection=connection, now=now)
    if parked:
        return SyncRefusal(
            "parked",
            f"{name} asked HealthHub to wait (rate limit). Syncing resumes by itself "
            f"at {local_time(parked, connection)}.",
            retry_at=parked,
        )
    if connection_is_syncing(connection=connection, now=now):
        return SyncRefusal(
            "sync_running", f"{name} is syncing right now; its progress is shown below."
        )
    return None


# --- backfill progress -------------------------------------------------------------------
def history_start(connection: Connection, data_type, now: datetime) -> datetime:
    """Where a data type's history window begins: the connection's backfill reach, capped
    by how far back the provider serves that type (the sync engine walks back to here)."""
    return now - timedelta(days=min(connection.backfill_days, data_type.max_history_days))


def data_type_coverage(
    *, cursor: SyncCursor | None, window_start: datetime, now: datetime
) -> float:
    """Share of [window_start, now] synced. The backfill walks backwards from the present
    (and incremental syncs keep the recent end current), so it is [oldest_synced, now];
    SyncRun.progress is this same measure."""
    if cursor is not None and cursor.backfill_complete:
        return 1.0
    if cursor is None or cursor.oldest_synced is None:
        return 0.0
    total = (now - window_start).total_seconds()
    if total <= 0:
        return 1.0
    covered = (now - max(cursor.oldest_synced, window_start)).total_seconds()
    return max(0.0, min(covered / total, 1.0))


def backfill_progress(
    *, connection: Connection, provider: Provider | None, now: datetime | None = None
) -> tuple[float, list[DataTypeProgress]]:
    """(overall share, per data type) of each data type's history window that is synced.

    The overall figure weighs every data type the provider serves equally; a data type
    without a cursor yet counts as 0.
    """
    if provider is None or not provider.data_types:
        return 0.0, []
    now = now or timezone.now()
    cursors = {c.data_type: c for c in SyncCursor.objects.filter(connection=connection)}
    items = []
    for data_type in provider.data_types:
        cursor = cursors.get(data_type.name)
        covered = data_type_coverage(
            cursor=cursor, window_start=history_start(connection, data_type, now), now=now
        )
        complete = bool(cursor and cursor.backfill_complete)
        items.append(DataTypeProgress(data_type.name, round(covered, 4), complete))
    overall = sum(item.covered for item in items) / len(items)
    return round(overall, 4), items


# --- errors in plain words -----------------------------------------------------------------
_URL = re.compile(r"(?:(?:GET|POST|PUT|DELETE|HEAD)\s+)?https?://[^\s:]+(?::\d+)?\S*", re.I)
_PLAIN = (
    (
        re.compile(r"rate limit|HTTP 429", re.I),
        "{name} asked HealthHub to slow down; syncing resumes by itself.",
    ),
    (
        re.compile(r"did not answer in time|timed? ?out", re.I),
        "{name} did not answer in time. HealthHub will try again later.",
    ),
    (
        re.compile(r"could not reach", re.I),
        "HealthHub could not reach {name}. It will try again later.",
    ),
    (
        re.compile(r"HTTP 5\d\d|had an error", re.I),
        "{name}'s servers had a problem. HealthHub will try again later.",
    ),
    (
        re.compile(r"HTTP 401|refused|invalid_grant|revoked|reconnect", re.I),
        "{name} no longer accepts HealthHub's access. Reconnect it to resume syncing.",
    ),
    (
        re.compile(r"not JSON|malformed|not as documented|unexpected", re.I),
        "{name} sent data HealthHub could not read; nothing from that answer was saved.",
    ),
)


def error_in_plain_words(text: str, *, name: str) -> str:
    """A stored error (which may be technical) as a sentence for people: never a URL,
    query string or anything that may carry a token."""
    if not text:
        return ""
    for pattern, sentence in _PLAIN:
        if pattern.search(text):
            return sentence.format(name=name)
    cleaned = _URL.sub(name, text).strip()
    return cleaned[:300]


def connection_last_error(*, connection: Connection, now: datetime | None = None) -> str:
    name = provider_name(connection.provider)
    if connection.status == Connection.Status.NEEDS_RECONNECT:
        return (
            f"{name} no longer accepts HealthHub's access (it was withdrawn or has expired). "
            "Reconnect it to resume syncing."
        )
    parked = parked_until(connection=connection, now=now)
    if parked:
        return (
            f"{name} asked HealthHub to slow down (rate limit). Syncing resumes by itself "
            f"at {local_time(parked, connection)}."
        )
    return error_in_plain_words(connection.last_error, name=name)


# --- the page -----------------------------------------------------------------------------
def metric_labels(keys) -> list[str]:
    return sorted(BY_KEY[key].name for key in keys if key in BY_KEY)


def connection_state(
    *, connection: Connection, now: datetime | None = None, runs: int = RECENT_RUNS
) -> ConnectionState:
    now = now or timezone.now()
    provider = provider_or_none(connection.provider)
    overall, items = backfill_progress(connection=connection, provider=provider, now=now)
    return ConnectionState(
        connection=connection,
        provider=provider,
        name=provider.name if provider else connection.provider.capitalize(),
        syncing=connection_is_syncing(connection=connection, now=now),
        queued=connection_sync_queued(connection=connection),
        parked_until=parked_until(connection=connection, now=now),
        next_sync_at=next_sync_at(connection=connection, now=now),
        last_error=connection_last_error(connection=connection, now=now),
        backfill=items,
        backfill_overall=overall,
        delivers=metric_labels(provider.metrics) if provider else [],
        data_types=[item.name for item in provider.data_types] if provider else [],
        runs=list(sync_runs_for_connection(connection=connection)[:runs]) if runs else [],
    )


def connection_states_for_user(*, user, runs: int = RECENT_RUNS) -> list[ConnectionState]:
    """The user's live connections (not the disconnected ones), with their state."""
    now = timezone.now()
    return [
        connection_state(connection=connection, now=now, runs=runs)
        for connection in connections_for_user(user=user).exclude(
            status=Connection.Status.DISCONNECTED
        )
    ]


def providers_offered(*, user) -> list[Provider]:
    """Configured providers (with a client id and secret) the user has not connected."""
    connected = set(
        connections_for_user(user=user)
        .exclude(status=Connection.Status.DISCONNECTED)
        .values_list("provider", flat=True)
    )
    return [item for item in providers.configured() if item.slug not in connected]


def run_counts_summary(run: SyncRun) -> list[tuple[str, str]]:
    """[(data type, "12 samples, 3 nights")] for a run's counts, for people."""
    words = (
        ("samples", "sample", "samples"),
        ("sleep", "night", "nights"),
        ("workouts", "workout", "workouts"),
        ("rejected", "rejected", "rejected"),
    )
    summary = []
    for data_type, counts in sorted((run.counts or {}).items()):
        if not isinstance(counts, dict):
            continue
        parts = []
        for key, one, many in words:
            number = counts.get(key) or 0
            if number:
                parts.append(f"{number:,} {one if number == 1 else many}")
        summary.append((data_type, ", ".join(parts) or "nothing new"))
    return summary


def run_duration(run: SyncRun) -> timedelta | None:
    if run.finished_at is None or run.started_at is None:
        return None
    return run.finished_at - run.started_at
