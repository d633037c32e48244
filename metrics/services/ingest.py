"""The one ingestion path. Every provider and importer calls `samples_ingest`,
`sleep_sessions_ingest` and `workouts_ingest` with normalized records (metrics.schemas).

Writes are idempotent upserts on natural keys. On PostgreSQL a batch is COPYed into a
temporary staging table and merged with one INSERT ... ON CONFLICT; on SQLite (embedded
mode) the ORM's conflict handling does the same. Each batch commits on its own, with the
daily rollups of exactly the (data source, metric, local day) triples it changed.
"""

import json
import math
import struct
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import psycopg
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.pq import DiagnosticField, ExecStatus

from metrics.catalog import BY_KEY
from metrics.models import (
    SLEEP_CATEGORY_IDS,
    ActivityType,
    DailyRollup,
    DataSource,
    Sample,
    SleepSession,
    SleepStage,
    SleepStageInterval,
    Workout,
    local_day,
)
from metrics.schemas import RouteJSON, SampleIn, SleepSessionIn, SourceRef, WorkoutIn
from metrics.services.resolve import resolved_refresh
from metrics.units import UnitError, convert, unit_info

BATCH_SIZE = 20_000
FUTURE_SKEW = timedelta(minutes=10)
MAX_OFFSET_MINUTES = 16 * 60
MAX_EXAMPLES = 100


class TouchedDays:
    """(metric id, local day) pairs, as a set of day numbers per metric: a large import
    touches tens of thousands, kept to its end (a tuple and a date each would cost
    about twice the memory). Iterates as (metric id, date) pairs."""

    def __init__(self, pairs: Iterable[tuple[int, date]] = ()):
        self._days: dict[int, set[int]] = {}
        for metric, day in pairs:
            self._days.setdefault(metric, set()).add(day.toordinal())

    def __ior__(self, other: "TouchedDays") -> "TouchedDays":
        for metric, days in other._days.items():
            self._days.setdefault(metric, set()).update(days)
        return self

    def __iter__(self) -> Iterator[tuple[int, date]]:
        for metric, days in self._days.items():
            for day in sorted(days):
                yield metric, date.fromordinal(day)

    def __len__(self) -> int:
        return sum(len(days) for days in self._days.values())


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)  # reason code -> count
    examples: list[dict] = field(default_factory=list)  # first rejections, with details
    days_refreshed: int = 0
    touched: TouchedDays = field(default_factory=TouchedDays)  # (metric id, day) written

    def reject(self, index: int, code: str, message: str) -> None:
        self.rejected += 1
        self.reasons[code] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"index": index, "reason": code, "message": message})

    def add(self, other: "IngestResult") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.days_refreshed += other.days_refreshed
        self.touched |= other.touched

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "reasons": dict(self.reasons),
            "examples": self.examples,
            "days_refreshed": self.days_refreshed,
        }


class Rejected(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


# --- data sources ------------------------------------------------------------------------


class SourceCache:
    """DataSource ids for one user, created on first use."""

    def __init__(self, user):
        self.user = user
        self._ids: dict[SourceRef, int] = {}

    def id_for(self, ref: SourceRef) -> int:
        source_id = self._ids.get(ref)
        if source_id is None:
            source, _ = DataSource.objects.get_or_create(
                user=self.user, kind=ref.kind, origin=ref.origin, device_model=ref.device_model
            )
            source_id = self._ids[ref] = source.id
        return source_id


# --- validation --------------------------------------------------------------------------


class _Converter:
    """Per-(metric, unit) conversion, cached: (factor, offset) or the rejection."""

    def __init__(self):
        self._cache: dict[tuple[str, str], tuple[float, float] | Rejected] = {}

    def __call__(self, metric, unit: str) -> tuple[float, float]:
        key = (metric.key, unit)
        found = self._cache.get(key)
        if found is None:
            try:
                unit_info(unit)
                # value * factor + offset, derived from two points of the conversion
                zero = convert(0.0, unit, metric.unit, delta=metric.is_delta)
                one = convert(1.0, unit, metric.unit, delta=metric.is_delta)
                found = (one - zero, zero)
            except UnitError as exc:
                code = "unknown_unit" if "unknown unit" in str(exc) else "incompatible_unit"
                found = Rejected(code, f"{metric.key}: {exc}")
            self._cache[key] = found
        if isinstance(found, Rejected):
            raise found
        return found


class _OffsetResolver:
    """The user's home-time-zone offset for records that carry none."""

    def __init__(self, tz_name: str):
        self.tz = ZoneInfo(tz_name)

    def __call__(self, when: datetime) -> int:
        return int(when.astimezone(self.tz).utcoffset().total_seconds() // 60)

    def resolve(self, when: datetime, given: int | None) -> int:
        """The record's own offset (checked), or the home zone's at that moment."""
        return self(when) if given is None else _check_offset(given)


def _check_interval(start: datetime, end: datetime, now: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise Rejected("naive_datetime", "start and end must carry a time zone")
    if end < start:
        raise Rejected("inverted_interval", f"end {end.isoformat()} is before start")
    if start > now + FUTURE_SKEW:
        raise Rejected("future", f"start {start.isoformat()} is in the future")


def _check_offset(offset: int) -> int:
    if -MAX_OFFSET_MINUTES <= offset <= MAX_OFFSET_MINUTES:
        return offset
    raise Rejected("bad_offset", f"UTC offset of {offset} minutes is implausible")


# --- samples -----------------------------------------------------------------------------

# (data_source_id, metric, start, end, value, utc_offset, import_job_id), start and end in
# microseconds since the Unix epoch (UTC): cheap to compare, sort and COPY.
Row = tuple
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


def _datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def samples_ingest(
    *,
    user,
    records: Iterable[SampleIn | tuple],
    import_job_id: int | None = None,
    batch_size: int = BATCH_SIZE,
    resolve: bool = True,
) -> IngestResult:
    """Validate, convert and upsert samples in batches; refresh the touched rollups, and
    the resolved values of the touched days after each batch. A record is a SampleIn, or
    a plain tuple of SampleIn's fields in their order (what bulk importers build: a
    tuple costs a fraction of a dataclass instance), whose start and end may also be
    whole seconds since the Unix epoch (ints: no datetime built per record).

    resolve=False leaves the resolved values to the caller, who refreshes them once for
    `result.touched` (a large import touches the same days again and again)."""
    result = IngestResult()
    prepare = _RowMaker(user, import_job_id)
    pipelined = connection.vendor == "postgresql" and not connection.in_atomic_block
    writer = _PipelinedWriter() if pipelined else None

    def finished(written: IngestResult) -> None:
        if resolve:  # the resolved daily values of exactly the days this batch changed
            resolved_refresh(user=user, pairs=written.touched)
        result.add(written)

    index = 0
    try:
        for batch in _batches(records, batch_size):
            rows: dict[tuple, Row] = {}
            for record in batch:
                try:
                    row = prepare(record)
                except Rejected as rejection:
                    result.reject(index, rejection.code, rejection.message)
                else:
                    rows[row[:4]] = row  # the same key twice in a batch: the last one wins
                index += 1
            if not rows:
                continue
            if writer is None:
                finished(_upsert_samples(list(rows.values())))
            else:
                for written in writer.submit(list(rows.values())):
                    finished(written)
        if writer is not None:
            for written in writer.collect():
                finished(written)
    finally:
        if writer is not None:
            writer.close()
    return result


class _RowMaker:
    """Turns a SampleIn into a table row (validated, in canonical units, UTC), or raises
    Rejected. Called once per sample, so the common path avoids repeated lookups."""

    def __init__(self, user, import_job_id):
        self.sources = SourceCache(user)
        self.converter = _Converter()
        self.home_offset = _OffsetResolver(user.timezone)
        self.latest = timezone.now() + FUTURE_SKEW
        self.latest_micros = _micros(self.latest)
        self.import_job_id = import_job_id
        self._last_source: tuple[SourceRef | None, int] = (None, 0)
        self._last_conversion: tuple = (None, None, None)

    def __call__(self, record: SampleIn | tuple) -> Row:
        if record.__class__ is tuple:  # importers' fast path: SampleIn's fields in order
            key, start, end, value, unit, source, utc_offset = record
        else:
            key, start, end, value = record.metric, record.start, record.end, record.value
            unit, source, utc_offset = record.unit, record.source, record.utc_offset
        metric = BY_KEY.get(key)
        if metric is None:
            raise Rejected("unknown_metric", f"unknown metric {key!r}")
        if start.__class__ is int and end.__class__ is int:  # seconds since the epoch
            start, end = start * 1_000_000, end * 1_000_000
            if end < start or start > self.latest_micros:
                _check_interval(_datetime(start), _datetime(end), self.latest - FUTURE_SKEW)
        else:
            if (
                start.tzinfo is not UTC
                or end.tzinfo is not UTC
                or end < start
                or start > self.latest
            ):
                _check_interval(start, end, self.latest - FUTURE_SKEW)
            start, end = _micros(start), _micros(end)
        if value.__class__ is not float and (
            not isinstance(value, int | float) or isinstance(value, bool)
        ):
            raise Rejected("not_a_number", f"{metric.key}: value {value!r} is not a number")
        if not math.isfinite(value):
            raise Rejected("not_a_number", f"{metric.key}: value {value!r} is not finite")
        last_metric, last_unit, conversion = self._last_conversion
        if metric is not last_metric or unit != last_unit:
            conversion = self.converter(metric, unit)
            self._last_conversion = (metric, unit, conversion)
        factor, shift = conversion
        if factor != 1.0 or shift:
            value = value * factor + shift
        if not metric.min_value <= value <= metric.max_value:
            raise Rejected(
                "out_of_range",
                f"{metric.key}: {value:g} {metric.unit} is outside the plausible range "
                f"[{metric.min_value:g}, {metric.max_value:g}]",
            )
        if utc_offset.__class__ is int and -MAX_OFFSET_MINUTES <= utc_offset <= MAX_OFFSET_MINUTES:
            offset = utc_offset
        else:  # none (the home zone's), or implausible (rejected)
            offset = self.home_offset.resolve(_datetime(start), utc_offset)
        last_source, source_id = self._last_source
        if source is not last_source:
            source_id = self.sources.id_for(source)
            self._last_source = (source, source_id)
        return (source_id, metric.id, start, end, value, offset, self.import_job_id)


def _upsert_samples(rows: list[Row]) -> IngestResult:
    if connection.vendor == "postgresql":
        return _upsert_samples_postgres(rows)
    return _upsert_samples_orm(rows)


_STAGE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS metrics_sample_stage (
    data_source_id integer, metric smallint, start timestamptz, "end" timestamptz,
    value double precision, utc_offset smallint, import_job_id bigint
) ON COMMIT DELETE ROWS
"""
_TOUCHED_SQL = """
CREATE TEMP TABLE IF NOT EXISTS metrics_touched_days (
    data_source_id integer, metric smallint, day date
) ON COMMIT DELETE ROWS
"""
_INCREMENTS_SQL = """
CREATE TEMP TABLE IF NOT EXISTS metrics_rollup_increments (
    data_source_id integer, metric smallint, day date, sum double precision, count integer,
    min double precision, max double precision, last double precision,
    last_start timestamptz
) ON COMMIT DELETE ROWS
"""
# Rows that are new add to their day's rollup without re-reading the day.
_APPLY_INCREMENTS_SQL = """
INSERT INTO metrics_dailyrollup AS r
    (data_source_id, metric, day, sum, count, min, max, avg, last, last_start)
SELECT data_source_id, metric, day, sum, count, min, max, sum / count, last, last_start
  FROM metrics_rollup_increments
ON CONFLICT (data_source_id, metric, day) DO UPDATE
    SET sum = r.sum + EXCLUDED.sum, count = r.count + EXCLUDED.count,
        min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max),
        avg = (r.sum + EXCLUDED.sum) / (r.count + EXCLUDED.count),
        last = CASE WHEN EXCLUDED.last_start >= r.last_start THEN EXCLUDED.last ELSE r.last END,
        last_start = GREATEST(r.last_start, EXCLUDED.last_start)
"""
# The local day of a sample, in SQL (see local_day()).
_SLEEP_IDS = "ARRAY[" + ",".join(str(i) for i in sorted(SLEEP_CATEGORY_IDS)) + "]"
_LOCAL_DAY = (
    "((CASE WHEN {t}.metric = ANY(" + _SLEEP_IDS + ') THEN {t}."end" ELSE {t}.start END)'
    " AT TIME ZONE 'UTC' + make_interval(mins => {t}.utc_offset))::date"
)
_KEY_MATCH = (
    "s.data_source_id = st.data_source_id AND s.metric = st.metric"
    ' AND s.start = st.start AND s."end" = st."end"'
)
_CHANGED = "(s.value, s.utc_offset) IS DISTINCT FROM (st.value, st.utc_offset)"
_COLUMNS = 'data_source_id, metric, start, "end", value, utc_offset, import_job_id'
# New rows' contribution to their days' rollups, aggregated from the rows just inserted.
_INCREMENTS_CTE = f"""increments AS (
    INSERT INTO metrics_rollup_increments
    SELECT data_source_id, metric, day, sum(value), count(*), min(value), max(value),
           (array_agg(value ORDER BY start DESC, "end" DESC))[1], max(start)
      FROM (SELECT *, {_LOCAL_DAY.format(t="inserted")} AS day FROM inserted) AS i
     GROUP BY data_source_id, metric, day
)"""  # noqa: S608 (built from constants only)
# One probe of the key per staged row classifies it (new / changed / unchanged); new rows
# are then inserted and changed ones updated. About twice as fast as INSERT ... ON
# CONFLICT (no speculative insertion). A concurrent writer of the same rows makes it fail
# with a unique violation; the batch then retries with _MERGE_ON_CONFLICT_SQL.
_MERGE_SQL = f"""
WITH classified AS MATERIALIZED (
    SELECT st.*, s.data_source_id IS NULL AS is_new,
           s.data_source_id IS NOT NULL AND {_CHANGED} AS is_changed
      FROM metrics_sample_stage st
      LEFT JOIN metrics_sample s ON {_KEY_MATCH}
), inserted AS (
    INSERT INTO metrics_sample ({_COLUMNS})
    SELECT {_COLUMNS} FROM classified WHERE is_new
    RETURNING data_source_id, metric, start, "end", value, utc_offset
), updated AS (
    UPDATE metrics_sample s
       SET value = st.value, utc_offset = st.utc_offset, import_job_id = st.import_job_id
      FROM classified st
     WHERE st.is_changed AND {_KEY_MATCH}
    RETURNING s.data_source_id, s.metric, s.start, s."end", s.utc_offset
), touched AS (
    INSERT INTO metrics_touched_days
    SELECT DISTINCT data_source_id, metric, {_LOCAL_DAY.format(t="updated")} FROM updated
), {_INCREMENTS_CTE}
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated)
"""  # noqa: S608 (built from constants only)
# Every staged row is new (no stored sample of its series in the batch's span).
_INSERT_ONLY_SQL = f"""
WITH inserted AS (
    INSERT INTO metrics_sample ({_COLUMNS})
    SELECT {_COLUMNS} FROM metrics_sample_stage
    RETURNING data_source_id, metric, start, "end", value, utc_offset
), {_INCREMENTS_CTE}
SELECT (SELECT count(*) FROM inserted), 0
"""  # noqa: S608 (built from constants only)
_MERGE_ON_CONFLICT_SQL = f"""
WITH merged AS (
    INSERT INTO metrics_sample AS s ({_COLUMNS})
    SELECT {_COLUMNS} FROM metrics_sample_stage
    ON CONFLICT (data_source_id, metric, start, "end") DO UPDATE
        SET value = EXCLUDED.value, utc_offset = EXCLUDED.utc_offset,
            import_job_id = EXCLUDED.import_job_id
        WHERE (s.value, s.utc_offset) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.utc_offset)
    RETURNING s.data_source_id, s.metric, s.start, s."end", s.utc_offset,
              (xmax = 0) AS inserted
), touched AS (
    INSERT INTO metrics_touched_days
    SELECT DISTINCT data_source_id, metric, {_LOCAL_DAY.format(t="merged")} FROM merged
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
"""  # noqa: S608 (built from constants only)
# Recompute the rollups of the touched days from the samples (a local day's samples start
# within a day and a half of it either way; sleep within two days, by its end).
_ROLLUP_SQL = f"""
WITH days AS (SELECT DISTINCT data_source_id, metric, day FROM metrics_touched_days),
agg AS (
    SELECT d.data_source_id, d.metric, d.day,
           sum(s.value) AS sum, count(*) AS count, min(s.value) AS min,
           max(s.value) AS max, avg(s.value) AS avg,
           (array_agg(s.value ORDER BY s.start DESC, s."end" DESC))[1] AS last,
           max(s.start) AS last_start
    FROM days d
    JOIN metrics_sample s
      ON s.data_source_id = d.data_source_id AND s.metric = d.metric
     AND s.start >= (d.day - 2) AT TIME ZONE 'UTC'
     AND s.start < (d.day + 2) AT TIME ZONE 'UTC'
    WHERE {_LOCAL_DAY.format(t="s")} = d.day
    GROUP BY d.data_source_id, d.metric, d.day
)
INSERT INTO metrics_dailyrollup AS r
    (data_source_id, metric, day, sum, count, min, max, avg, last, last_start)
SELECT data_source_id, metric, day, sum, count, min, max, avg, last, last_start FROM agg
ON CONFLICT (data_source_id, metric, day) DO UPDATE
    SET sum = EXCLUDED.sum, count = EXCLUDED.count, min = EXCLUDED.min,
        max = EXCLUDED.max, avg = EXCLUDED.avg, last = EXCLUDED.last,
        last_start = EXCLUDED.last_start
"""  # noqa: S608 (built from constants only)


# The stored rows of a series in a span, times in microseconds since the Unix epoch
# (exact: EXTRACT returns a numeric).
_STORED_SQL = """
SELECT (EXTRACT(EPOCH FROM start) * 1000000)::int8, (EXTRACT(EPOCH FROM "end") * 1000000)::int8,
       value, utc_offset
  FROM metrics_sample
 WHERE data_source_id = %s AND metric = %s AND start >= %s AND start <= %s
 ORDER BY start, "end"
"""


def _compare_with_stored(cursor, rows: list[Row]) -> str:
    """Whether the batch is all new ("new"), all identical to stored rows ("same"), or
    neither ("mixed"), from the stored rows of each series within the batch's time span
    (one index range scan per series, read in binary). Re-imports are mostly "same": they
    then skip the staging and merge entirely."""
    by_series: dict[tuple[int, int], list[Row]] = {}
    for row in rows:
        by_series.setdefault((row[0], row[1]), []).append(row)
    # A server-side-binding psycopg cursor (Django's is client-side): binary results
    # decode faster.
    with psycopg.Cursor(cursor.connection) as raw:
        return _series_state(raw, by_series)


def _series_state(raw, by_series) -> str:
    state = None
    for (source_id, metric_id), series in by_series.items():
        first, last = min(row[2] for row in series), max(row[2] for row in series)
        raw.execute(
            _STORED_SQL,
            [source_id, metric_id, _datetime(first), _datetime(last)],
            binary=True,
        )
        stored = raw.fetchall()
        if not stored:
            state = "new" if state in (None, "new") else "mixed"
        elif stored == sorted(row[2:6] for row in series):
            state = "same" if state in (None, "same") else "mixed"
        else:
            return "mixed"
    return state or "new"


_TOUCHED_DAYS_SQL = (
    "SELECT metric, day FROM metrics_touched_days"
    " UNION SELECT metric, day FROM metrics_rollup_increments"
)


def _stage(cursor, rows: list[Row]) -> str:
    """Open the batch's transaction and COPY the rows into the staging table, unless they
    are all stored already ("same"). Returns the batch's state (_compare_with_stored)."""
    state = _compare_with_stored(cursor, rows)
    if state == "same":
        return state
    # The batch is idempotent and re-runnable: a server crash may lose the last few
    # hundred milliseconds of commits (never half a batch), and the next run redoes them.
    cursor.execute("SET LOCAL synchronous_commit = off")
    # Every join in a batch probes the sample table's key with a few thousand staged
    # rows; never let the planner hash or merge-join against a scan of the whole table.
    cursor.execute("SET LOCAL enable_hashjoin = off")
    cursor.execute("SET LOCAL enable_mergejoin = off")
    cursor.execute(_STAGE_SQL)
    cursor.execute(_TOUCHED_SQL)
    cursor.execute(_INCREMENTS_SQL)
    # Empty already after a commit; this covers a batch nested in an outer transaction.
    cursor.execute("TRUNCATE metrics_sample_stage, metrics_touched_days, metrics_rollup_increments")
    with cursor.copy("COPY metrics_sample_stage FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_copy_binary(rows))
    return state


# PostgreSQL's binary COPY: a header; per row the field count, then each field's length
# and value (big-endian; timestamps in microseconds since 2000-01-01 UTC; NULL: length
# -1); a trailer. One struct.pack per row rather than a dumper call per field.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\0" + bytes(8)
_COPY_TRAILER = b"\xff\xff"
_COPY_ROW = struct.Struct("!hiiihiqiqidihiq")
_COPY_ROW_NO_JOB = struct.Struct("!hiiihiqiqidihi")
_PG_EPOCH_MICROS = _micros(datetime(2000, 1, 1, tzinfo=UTC))


def _copy_binary(rows: list[Row]) -> bytes:
    pack, pack_no_job, pg = _COPY_ROW.pack, _COPY_ROW_NO_JOB.pack, _PG_EPOCH_MICROS
    return b"".join(
        [
            _COPY_HEADER,
            *[
                pack(
                    7, 4, source, 2, metric, 8, start - pg, 8, end - pg, 8, value, 2, offset, 8, job
                )
                if job is not None
                else pack_no_job(
                    7, 4, source, 2, metric, 8, start - pg, 8, end - pg, 8, value, 2, offset, -1
                )
                for source, metric, start, end, value, offset, job in rows
            ],
            _COPY_TRAILER,
        ]
    )


def _tail(state: str) -> list[str]:
    """The statements that merge a staged batch and refresh its rollups, in the order
    their answers are read: (created, updated), rollups added to, rollups recomputed,
    the (metric, day) pairs touched."""
    return [
        _INSERT_ONLY_SQL if state == "new" else _MERGE_SQL,
        _APPLY_INCREMENTS_SQL,
        _ROLLUP_SQL,
        _TOUCHED_DAYS_SQL,
    ]


def _upsert_samples_postgres(rows: list[Row]) -> IngestResult:
    """One batch, on Django's connection (inside any transaction the caller holds)."""
    with transaction.atomic(), connection.cursor() as cursor:
        state = _stage(cursor.cursor, rows)
        if state == "same":
            return IngestResult(unchanged=len(rows))
        merge = _tail(state)[0]
        try:
            with transaction.atomic():
                cursor.execute(merge)
        except IntegrityError:  # another writer inserted some of these rows meanwhile
            cursor.execute("TRUNCATE metrics_touched_days, metrics_rollup_increments")
            cursor.execute(_MERGE_ON_CONFLICT_SQL)
        created, updated = cursor.fetchone()
        return _after_merge(cursor, len(rows), created, updated)


def _after_merge(cursor, count: int, created: int, updated: int) -> IngestResult:
    """Refresh the merged batch's rollups; the batch's result with the days it touched."""
    cursor.execute(_APPLY_INCREMENTS_SQL)
    days = cursor.rowcount
    cursor.execute(_ROLLUP_SQL)
    days += cursor.rowcount
    cursor.execute(_TOUCHED_DAYS_SQL)
    return IngestResult(
        created=created,
        updated=updated,
        unchanged=count - created - updated,
        days_refreshed=days,
        touched=TouchedDays(cursor.fetchall()),
    )


class _PipelinedWriter:
    """Writes batches on a connection of its own and overlaps each batch's merge with the
    validation of the next: after the COPY, the merge, the rollup refresh and the COMMIT
    are sent without waiting (libpq's asynchronous query), PostgreSQL works on them while
    this thread prepares the next batch, and the answers are read just before the next
    COPY. Used on PostgreSQL outside any transaction (a caller's transaction could not
    see this connection's writes)."""

    def __init__(self):
        self.conn = connection.get_new_connection(connection.get_connection_params())
        self.conn.autocommit = True
        # As Django's connections: times come back in UTC (cheap to decode and compare).
        self.conn.execute("SET TIME ZONE 'UTC'")
        self.pending: tuple[list[Row], str] | None = None

    def submit(self, rows: list[Row]) -> list[IngestResult]:
        """Starts this batch; returns the results of the batches finished meanwhile."""
        done = self.collect()
        with self.conn.cursor() as cursor:
            cursor.execute("BEGIN")
            state = _stage(cursor, rows)
            if state == "same":
                cursor.execute("COMMIT")
                return [*done, IngestResult(unchanged=len(rows))]
        script = ";\n".join([*_tail(state), "COMMIT"])
        self.conn.pgconn.send_query(script.encode())
        self.pending = (rows, state)
        return done

    def collect(self) -> list[IngestResult]:
        if self.pending is None:
            return []
        rows, _ = self.pending
        self.pending = None
        answers = []
        while (answer := self.conn.pgconn.get_result()) is not None:
            answers.append(answer)
        failed = next((a for a in answers if a.status == ExecStatus.FATAL_ERROR), None)
        if failed is not None:
            self.conn.execute("ROLLBACK")
            if failed.error_field(DiagnosticField.SQLSTATE) != b"23505":
                message = failed.error_message.decode(errors="replace")
                raise DatabaseError(f"sample batch failed: {message}")
            # A concurrent writer inserted some of these rows: redo with ON CONFLICT.
            return [self._redo_on_conflict(rows)]
        merged, applied, rolled, touched = answers[:4]
        created, updated = int(merged.get_value(0, 0)), int(merged.get_value(0, 1))
        return [
            IngestResult(
                created=created,
                updated=updated,
                unchanged=len(rows) - created - updated,
                days_refreshed=int(applied.command_tuples) + int(rolled.command_tuples),
                touched=TouchedDays(
                    (
                        int(touched.get_value(i, 0)),
                        date.fromisoformat(touched.get_value(i, 1).decode()),
                    )
                    for i in range(touched.ntuples)
                ),
            )
        ]

    def _redo_on_conflict(self, rows: list[Row]) -> IngestResult:
        with self.conn.transaction(), self.conn.cursor() as cursor:
            _stage(cursor, rows)
            cursor.execute(_MERGE_ON_CONFLICT_SQL)
            created, updated = cursor.fetchone()
            return _after_merge(cursor, len(rows), created, updated)

    def close(self) -> None:
        try:
            if self.pending is not None:  # an exception left a batch in flight
                while self.conn.pgconn.get_result() is not None:
                    pass
        finally:
            self.conn.close()


def _upsert_samples_orm(rows: list[Row]) -> IngestResult:
    """SQLite: compare with what is stored, write only what is new or changed."""
    result = IngestResult()
    by_series: dict[tuple[int, int], list[Row]] = {}
    for row in rows:
        by_series.setdefault((row[0], row[1]), []).append(row)
    with transaction.atomic():
        to_write: list[Sample] = []
        touched: set[tuple[int, int, date]] = set()
        for (source_id, metric_id), series in by_series.items():
            existing = {
                (_micros(s), _micros(e)): (v, o)
                for s, e, v, o in Sample.objects.filter(
                    data_source_id=source_id,
                    metric=metric_id,
                    start__gte=_datetime(min(r[2] for r in series)),
                    start__lte=_datetime(max(r[2] for r in series)),
                ).values_list("start", "end", "value", "utc_offset")
            }
            for row in series:
                stored = existing.get((row[2], row[3]))
                if stored == (row[4], row[5]):
                    result.unchanged += 1
                    continue
                if stored is None:
                    result.created += 1
                else:
                    result.updated += 1
                start, end = _datetime(row[2]), _datetime(row[3])
                to_write.append(
                    Sample(
                        data_source_id=row[0],
                        metric=row[1],
                        start=start,
                        end=end,
                        value=row[4],
                        utc_offset=row[5],
                        import_job_id=row[6],
                    )
                )
                touched.add((row[0], row[1], local_day(row[1], start, end, row[5])))
        Sample.objects.bulk_create(
            to_write,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["data_source", "metric", "start", "end"],
            update_fields=["value", "utc_offset", "import_job"],
        )
        result.days_refreshed = rollups_refresh(touched)
    result.touched = TouchedDays((metric, day) for _, metric, day in touched)
    return result


def rollups_refresh(triples: Iterable[tuple[int, int, date]]) -> int:
    """Recompute the rollups of (data source, metric, local day) triples, in Python (the
    portable path; PostgreSQL batches do this in SQL)."""
    count = 0
    by_series: dict[tuple[int, int], set[date]] = {}
    for source_id, metric_id, day in triples:
        by_series.setdefault((source_id, metric_id), set()).add(day)
    for (source_id, metric_id), days in by_series.items():
        window_start = datetime.combine(min(days) - timedelta(days=2), datetime.min.time(), UTC)
        window_end = datetime.combine(max(days) + timedelta(days=2), datetime.min.time(), UTC)
        values: dict[date, list[tuple[datetime, datetime, float]]] = {day: [] for day in days}
        for start, end, value, offset in Sample.objects.filter(
            data_source_id=source_id,
            metric=metric_id,
            start__gte=window_start,
            start__lt=window_end,
        ).values_list("start", "end", "value", "utc_offset"):
            day = local_day(metric_id, start, end, offset)
            if day in values:
                values[day].append((start, end, value))
        for day, entries in values.items():
            if not entries:
                continue
            numbers = [v for _, _, v in entries]
            DailyRollup.objects.update_or_create(
                data_source_id=source_id,
                metric=metric_id,
                day=day,
                defaults={
                    "sum": sum(numbers),
                    "count": len(numbers),
                    "min": min(numbers),
                    "max": max(numbers),
                    "avg": sum(numbers) / len(numbers),
                    "last": max(entries, key=lambda e: (e[0], e[1]))[2],
                    "last_start": max(e[0] for e in entries),
                },
            )
            count += 1
    return count


# --- sleep sessions and workouts ---------------------------------------------------------

_STAGE_METRIC = {
    SleepStage.DEEP: "sleep_deep",
    SleepStage.REM: "sleep_rem",
    SleepStage.LIGHT: "sleep_light",
    SleepStage.AWAKE: "sleep_awake",
}
_ASLEEP_STAGES = {SleepStage.DEEP, SleepStage.REM, SleepStage.LIGHT, SleepStage.ASLEEP}


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def sleep_sessions_ingest(
    *,
    user,
    sessions: Iterable[SleepSessionIn],
    import_job_id: int | None = None,
    resolve: bool = True,
) -> IngestResult:
    """Upsert sleep sessions (keyed by source and start) with their stages, and the nightly
    sleep samples derived from them (time asleep, in bed, per stage, latency, efficiency,
    score), so sleep rolls up and compares like every other metric. resolve=False leaves
    the derived samples' resolved values to the caller (`result.touched`), as
    samples_ingest does."""
    result = IngestResult()
    sources = SourceCache(user)
    home_offset = _OffsetResolver(user.timezone)
    now = timezone.now()
    derived: list[SampleIn] = []
    sessions = list(sessions)
    # What is stored already, in one query (with stages) rather than two per session.
    stored = {
        (session.data_source_id, session.start): session
        for session in SleepSession.objects.filter(
            data_source__user=user, start__in={item.start for item in sessions}
        ).prefetch_related("stages")
    }
    fresh: dict[tuple[int, datetime], tuple[SleepSession, list]] = {}
    for index, item in enumerate(sessions):
        try:
            _check_interval(item.start, item.end, now)
            for stage in item.stages:
                _check_interval(stage.start, stage.end, now)
                if stage.stage not in SleepStage.values:
                    raise Rejected("unknown_stage", f"unknown sleep stage {stage.stage!r}")
            offset = home_offset.resolve(item.start, item.utc_offset)
        except Rejected as rejection:
            result.reject(index, rejection.code, rejection.message)
            continue
        minutes: Counter = Counter()
        for stage in item.stages:
            minutes[stage.stage] += _minutes(stage.start, stage.end)
        asleep = sum(minutes[s] for s in _ASLEEP_STAGES) if item.stages else None
        in_bed = _minutes(item.start, item.end)
        fields = {
            "end": item.end,
            "utc_offset": offset,
            "external_id": item.external_id,
            "asleep_minutes": asleep,
            "in_bed_minutes": in_bed,
            "score": item.score,
        }
        stages = [(s.stage, s.start, s.end) for s in item.stages]
        source_id = sources.id_for(item.source)
        existing = stored.get((source_id, item.start))
        if (
            existing is not None
            and all(getattr(existing, k) == v for k, v in fields.items())
            and [(st.stage, st.start, st.end) for st in existing.stages.all()] == stages
        ):
            result.unchanged += 1
        elif existing is None:
            # The same night twice in one call (exports repeat records): the last wins.
            if (source_id, item.start) in fresh:
                result.updated += 1
            else:
                result.created += 1
            fresh[(source_id, item.start)] = (
                SleepSession(
                    data_source_id=source_id,
                    start=item.start,
                    import_job_id=import_job_id,
                    **fields,
                ),
                stages,
            )
        else:
            with transaction.atomic():
                for key, value in fields.items():
                    setattr(existing, key, value)
                existing.import_job_id = import_job_id
                existing.save()
                existing.stages.all().delete()
                SleepStageInterval.objects.bulk_create(
                    SleepStageInterval(session=existing, stage=stage, start=begin, end=finish)
                    for stage, begin, finish in stages
                )
            result.updated += 1

        def sample(metric: str, value: float, unit: str = "min", item=item, offset=offset):
            return SampleIn(metric, item.start, item.end, value, unit, item.source, offset)

        derived.append(sample("sleep_in_bed", in_bed))
        if asleep is not None:
            derived.append(sample("sleep_asleep", asleep))
            derived.extend(
                sample(metric, minutes[stage])
                for stage, metric in _STAGE_METRIC.items()
                if stage in minutes
            )
            if in_bed:
                efficiency = 100 * asleep / in_bed
                if 100 < efficiency < 100 + 1e-9:
                    # Stages filling the whole night add up (in float minutes) to a hair
                    # more than its length: that is 100 %, not a value out of range.
                    efficiency = 100.0
                derived.append(sample("sleep_efficiency", efficiency, "%"))
        if item.latency_minutes is not None:
            derived.append(sample("sleep_latency", item.latency_minutes))
        if item.score is not None:
            derived.append(sample("sleep_score", item.score, "{score}"))
    with transaction.atomic():
        SleepSession.objects.bulk_create(
            [session for session, _ in fresh.values()], batch_size=1000
        )
        _stage_intervals_create(
            [
                (session.id, stage, begin, finish)
                for session, stages in fresh.values()
                for stage, begin, finish in stages
            ]
        )
    samples = samples_ingest(
        user=user, records=derived, import_job_id=import_job_id, resolve=resolve
    )
    result.days_refreshed = samples.days_refreshed
    result.touched = samples.touched
    for code, count in samples.reasons.items():
        result.reasons[code] += count
    result.rejected += samples.rejected
    result.examples.extend(samples.examples[: MAX_EXAMPLES - len(result.examples)])
    return result


STAGES_PER_STATEMENT = 20_000


def _stage_intervals_create(rows: list[tuple[int, str, datetime, datetime]]) -> None:
    """Insert (session id, stage, start, end) rows. On PostgreSQL with one statement per
    20,000, the rows as one JSON document: the ORM spends more time building model
    instances and a bulk statement than PostgreSQL takes to run it."""
    if connection.vendor != "postgresql":
        SleepStageInterval.objects.bulk_create(
            (
                SleepStageInterval(session_id=session_id, stage=stage, start=begin, end=finish)
                for session_id, stage, begin, finish in rows
            ),
            batch_size=5000,
        )
        return
    table = SleepStageInterval._meta.db_table
    with connection.cursor() as cursor:
        for at in range(0, len(rows), STAGES_PER_STATEMENT):
            document = json.dumps(
                [
                    [session_id, stage, begin.isoformat(), finish.isoformat()]
                    for session_id, stage, begin, finish in rows[at : at + STAGES_PER_STATEMENT]
                ]
            )
            cursor.execute(
                f'INSERT INTO {table} (session_id, stage, start, "end")'  # noqa: S608
                " SELECT (r->>0)::bigint, r->>1, (r->>2)::timestamptz, (r->>3)::timestamptz"
                " FROM jsonb_array_elements(%s::jsonb) AS r",
                [document],
            )


WORKOUT_CHUNK = 10  # workouts compared and written per query (routes make them large)


def workouts_ingest(
    *, user, workouts: Iterable[WorkoutIn], import_job_id: int | None = None
) -> IngestResult:
    """Upsert workouts (keyed by source and start), a chunk at a time: the stored ones of
    a chunk are read in one query and the new ones inserted in one more. `workouts` is
    consumed lazily, so only a chunk's routes are in memory at once."""
    result = IngestResult()
    sources = SourceCache(user)
    home_offset = _OffsetResolver(user.timezone)
    now = timezone.now()
    numbered = enumerate(workouts)
    # On PostgreSQL the inserts are pipelined: a chunk's INSERT runs while the next
    # chunk is prepared (an import reads its route files then), and its answer is read
    # with the next chunk's query.
    with _pipelined():
        while chunk := list(islice(numbered, WORKOUT_CHUNK)):
            fresh: dict[tuple[int, datetime], Workout] = {}
            checked = []
            for index, item in chunk:
                try:
                    _check_interval(item.start, item.end, now)
                    if item.activity_type not in ActivityType.values:
                        raise Rejected(
                            "unknown_activity", f"unknown activity type {item.activity_type!r}"
                        )
                    offset = home_offset.resolve(item.start, item.utc_offset)
                except Rejected as rejection:
                    result.reject(index, rejection.code, rejection.message)
                    continue
                checked.append((sources.id_for(item.source), item, offset))
            stored = {
                (workout.data_source_id, workout.start): workout
                for workout in Workout.objects.filter(
                    data_source_id__in={source_id for source_id, _, _ in checked},
                    start__in={item.start for _, item, _ in checked},
                )
            }
            for source_id, item, offset in checked:
                fields = {
                    "activity_type": item.activity_type,
                    "end": item.end,
                    "utc_offset": offset,
                    "external_id": item.external_id,
                    "duration_seconds": (item.end - item.start).total_seconds(),
                    "distance_m": item.distance_m,
                    "energy_kcal": item.energy_kcal,
                    "heart_rate_avg": item.heart_rate_avg,
                    "heart_rate_max": item.heart_rate_max,
                    "elevation_gain_m": item.elevation_gain_m,
                    "route": item.route,
                    "import_job_id": import_job_id,
                }
                key = (source_id, item.start)
                existing = stored.get(key) or fresh.get(key)  # the same workout twice in a chunk
                if existing is None:
                    fresh[key] = Workout(data_source_id=source_id, start=item.start, **fields)
                    result.created += 1
                elif _workout_changed(existing, fields):
                    for name, value in fields.items():
                        setattr(existing, name, value)
                    if key not in fresh:
                        # By primary key: save() reads the row count, which a pipelined
                        # query only has later.
                        Workout.objects.filter(pk=existing.pk).update(**fields)
                    result.updated += 1
                else:
                    result.unchanged += 1
            # Without RETURNING (nothing here needs the new ids), so nothing waits for
            # it; a workout that a concurrent writer stored meanwhile stays as it is.
            Workout.objects.bulk_create(fresh.values(), ignore_conflicts=True)
    return result


def _workout_changed(existing: Workout, fields: dict) -> bool:
    for name, value in fields.items():
        if name == "route":
            if _route_points(existing.route) != _route_points(value):
                return True
        elif name != "import_job_id" and getattr(existing, name) != value:
            return True
    return False


def _route_points(route: list | RouteJSON | None) -> list | None:
    return route.points() if isinstance(route, RouteJSON) else route


@contextmanager
def _pipelined():
    """psycopg's pipeline mode on Django's connection (PostgreSQL): queries are sent
    without waiting for their answers until a result is needed."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.connection.pipeline():
        yield


# --- demo data ---------------------------------------------------------------------------


def demo_history_load(
    *, user, first: date, last: date, hr_every_minutes: int = 5, seed: int = 7
) -> dict[str, IngestResult]:
    """Load the demo generator's history for [first, last] through the ingestion service
    (idempotent: loading the same days again changes nothing)."""
    from metrics.demo import DemoHistory

    history = DemoHistory(first, last, seed=seed, hr_every_minutes=hr_every_minutes)
    return {
        "samples": samples_ingest(user=user, records=history.samples()),
        "sleep": sleep_sessions_ingest(user=user, sessions=history.sleep_sessions()),
        "workouts": workouts_ingest(user=user, workouts=history.workouts()),
    }
