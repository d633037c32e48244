"""Reads of the unified store. Every query is scoped to one user: samples have no user
column, so they are always filtered through the ids of that user's data sources.

Times leave here rendered in the UTC offset each value was recorded in
("2026-03-02T09:00:00+01:00"), the same way on PostgreSQL and SQLite.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal

from django.db import connection
from django.db.models import QuerySet
from psycopg.adapt import Loader

from metrics.catalog import BY_ID, Metric
from metrics.models import DailyRollup, DataSource, Sample, SleepSession, Workout

Resolution = Literal["raw", "hour", "day", "week", "month"]
RESOLUTIONS: tuple[str, ...] = ("raw", "hour", "day", "week", "month")
SAMPLE_RESOLUTIONS = frozenset({"raw", "hour"})
ROLLUP_RESOLUTIONS = frozenset({"day", "week", "month"})
AGGREGATIONS: tuple[str, ...] = ("sum", "avg", "min", "max", "count", "last")
MAX_SUMMARY_DAYS = 366


def default_aggregation(metric: Metric) -> str:
    """sum for cumulative metrics, avg for discrete readings, last for daily scores."""
    return metric.daily_column


# --- rendering times ------------------------------------------------------------------


@lru_cache(maxsize=256)
def offset_text(utc_offset: int) -> str:
    """Minutes east of UTC as an ISO 8601 offset: 60 -> "+01:00", -570 -> "-09:30"."""
    hours, minutes = divmod(abs(utc_offset), 60)
    return f"{'-' if utc_offset < 0 else '+'}{hours:02d}:{minutes:02d}"


def iso_local(moment: datetime, utc_offset: int) -> str:
    """An aware datetime as ISO 8601 in the given offset. Fractional seconds appear only
    when present, without trailing zeros (as PostgreSQL prints them on the raw path)."""
    local = moment.astimezone(UTC).replace(tzinfo=None) + timedelta(minutes=utc_offset)
    return _naive_iso(local) + offset_text(utc_offset)


def _naive_iso(local: datetime) -> str:
    text = local.isoformat(timespec="seconds")
    if local.microsecond:
        text += f".{local.microsecond:06d}".rstrip("0")
    return text


# --- data sources ---------------------------------------------------------------------


def data_sources_for_user(*, user) -> QuerySet[DataSource]:
    return DataSource.objects.filter(user=user).order_by("id")


def data_source_get(*, user, data_source_id: int) -> DataSource:
    """Raises DataSource.DoesNotExist for another user's (or a missing) id."""
    return DataSource.objects.get(user=user, id=data_source_id)


def data_source_ids_for_user(*, user, data_source_id: int | None = None) -> list[int]:
    """The ids of the user's data sources, or just `data_source_id` if it is one of them
    (DataSource.DoesNotExist if not)."""
    ids = list(DataSource.objects.filter(user=user).order_by("id").values_list("id", flat=True))
    if data_source_id is None:
        return ids
    if data_source_id not in ids:
        raise DataSource.DoesNotExist(data_source_id)
    return [data_source_id]


# --- samples --------------------------------------------------------------------------


def samples_for_user(
    *,
    user,
    metric: Metric,
    data_source_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet:
    """Raw samples of one metric as dicts (data_source_id, start, end, value, utc_offset),
    with start in [start, end). The caller orders (the API paginates by start)."""
    source_ids = data_source_ids_for_user(user=user, data_source_id=data_source_id)
    return _samples(source_ids, metric, start, end).values(
        "data_source_id", "start", "end", "value", "utc_offset"
    )


def _samples(
    source_ids: list[int], metric: Metric, start: datetime | None, end: datetime | None
) -> QuerySet[Sample]:
    queryset = Sample.objects.filter(data_source_id__in=source_ids, metric=metric.id)
    if start is not None:
        queryset = queryset.filter(start__gte=start)
    if end is not None:
        queryset = queryset.filter(start__lt=end)
    return queryset


# --- series ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceSeries:
    data_source_id: int
    points: list[list]  # [[time or day string, value], ...] in time order


def series_from_rollups_for_user(
    *,
    user,
    metric: Metric,
    resolution: Resolution,
    aggregation: str,
    data_source_id: int | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[SourceSeries]:
    """Day, ISO week (Monday) or month points, read from the daily rollups only (never the
    samples). Weeks and months are whole: the range is widened to the buckets it touches.
    Each data source is its own series; sources without values in the range are left out.
    """
    if resolution not in ROLLUP_RESOLUTIONS or aggregation not in AGGREGATIONS:
        raise ValueError(f"not a rollup resolution and aggregation: {resolution}, {aggregation}")
    source_ids = data_source_ids_for_user(user=user, data_source_id=data_source_id)
    bucket = _BUCKET_START[resolution]
    rollups = DailyRollup.objects.filter(data_source_id__in=source_ids, metric=metric.id)
    if first is not None:
        rollups = rollups.filter(day__gte=bucket(first))
    if last is not None:
        rollups = rollups.filter(day__lte=_bucket_last_day(resolution, last))
    rollups = rollups.order_by("data_source_id", "day")
    if resolution == "day":
        return _group_points(
            (source_id, day.isoformat(), value)
            for source_id, day, value in rollups.values_list("data_source_id", "day", aggregation)
        )
    return _group_points(
        _combine_days(
            rollups.values_list("data_source_id", "day", "sum", "count", "min", "max", "last"),
            bucket,
            aggregation,
        )
    )


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_start(day: date) -> date:
    return day.replace(day=1)


_BUCKET_START = {"day": lambda day: day, "week": _week_start, "month": _month_start}


def _bucket_last_day(resolution: str, day: date) -> date:
    if resolution == "week":
        return _week_start(day) + timedelta(days=6)
    if resolution == "month":
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return day


def _combine_days(rows: Iterable[tuple], bucket, aggregation: str):
    """Daily rollups (ordered by source, day) to one (source, bucket, value) per bucket:
    sum of sums, count of counts, min of mins, max of maxes, avg = sum / count, last of the
    latest day."""
    current = None  # [source_id, bucket_start, sum, count, min, max, last]
    for source_id, day, total, count, low, high, last in rows:
        start = bucket(day)
        if current is not None and (current[0], current[1]) == (source_id, start):
            current[2] += total
            current[3] += count
            current[4] = min(current[4], low)
            current[5] = max(current[5], high)
            current[6] = last
            continue
        if current is not None:
            yield _bucket_value(current, aggregation)
        current = [source_id, start, total, count, low, high, last]
    if current is not None:
        yield _bucket_value(current, aggregation)


def _bucket_value(acc: list, aggregation: str) -> tuple:
    source_id, start, total, count, low, high, last = acc
    value = {
        "sum": total,
        "count": count,
        "min": low,
        "max": high,
        "avg": total / count if count else None,
        "last": last,
    }[aggregation]
    return source_id, start.isoformat(), value


def _group_points(rows: Iterable[tuple]) -> list[SourceSeries]:
    """(source id, time, value) rows, ordered by source, to one SourceSeries per source."""
    series: list[SourceSeries] = []
    for source_id, when, value in rows:
        if not series or series[-1].data_source_id != source_id:
            series.append(SourceSeries(source_id, []))
        series[-1].points.append([when, value])
    return series


def series_from_samples_for_user(
    *,
    user,
    metric: Metric,
    resolution: Resolution,
    aggregation: str,
    data_source_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[SourceSeries]:
    """Raw points ([start, value] per sample) or local-hour buckets (start + utc_offset
    truncated to the hour, one bucket per hour and offset) from the samples with start
    in [start, end). For raw PostgreSQL answers faster with raw_series_json_for_user."""
    if resolution not in SAMPLE_RESOLUTIONS or aggregation not in AGGREGATIONS:
        raise ValueError(f"not a sample resolution and aggregation: {resolution}, {aggregation}")
    source_ids = data_source_ids_for_user(user=user, data_source_id=data_source_id)
    if not source_ids:
        return []
    if resolution == "hour" and connection.vendor == "postgresql":
        return _hour_series_postgres(source_ids, metric, aggregation, start, end)
    rows = (
        _samples(source_ids, metric, start, end)
        .order_by("data_source_id", "start", "end")
        .values_list("data_source_id", "start", "end", "value", "utc_offset")
    )
    if resolution == "raw":
        return _group_points(
            (source_id, iso_local(moment, offset), value)
            for source_id, moment, _, value, offset in rows.iterator(chunk_size=5000)
        )
    return _hour_series_python(rows.iterator(chunk_size=5000), aggregation)


def _hour_series_python(rows: Iterable[tuple], aggregation: str) -> list[SourceSeries]:
    """The portable hour path (SQLite): buckets built in Python."""
    buckets: dict[tuple[int, datetime, int], list] = {}
    for source_id, moment, _, value, offset in rows:  # ordered by start, end
        local = moment.astimezone(UTC).replace(tzinfo=None) + timedelta(minutes=offset)
        key = (source_id, local.replace(minute=0, second=0, microsecond=0), offset)
        acc = buckets.get(key)
        if acc is None:
            buckets[key] = [value, 1, value, value, value]  # sum, count, min, max, last
        else:
            acc[0] += value
            acc[1] += 1
            acc[2] = min(acc[2], value)
            acc[3] = max(acc[3], value)
            acc[4] = value
    ordered = sorted(
        buckets.items(),
        key=lambda kv: (kv[0][0], kv[0][1] - timedelta(minutes=kv[0][2]), kv[0][2]),
    )
    pick = {
        "sum": lambda a: a[0],
        "count": lambda a: a[1],
        "min": lambda a: a[2],
        "max": lambda a: a[3],
        "avg": lambda a: a[0] / a[1],
        "last": lambda a: a[4],
    }[aggregation]
    return _group_points(
        (source_id, _naive_iso(hour) + offset_text(offset), pick(acc))
        for (source_id, hour, offset), acc in ordered
    )


_HOUR_AGGREGATE_SQL = {
    "sum": "sum(value)",
    "avg": "avg(value)",
    "min": "min(value)",
    "max": "max(value)",
    "count": "count(*)",
    "last": '(array_agg(value ORDER BY start DESC, "end" DESC))[1]',
}
_LOCAL_START_SQL = "(start AT TIME ZONE 'UTC' + make_interval(mins => utc_offset))"


def _range_sql(start: datetime | None, end: datetime | None, params: dict) -> str:
    conditions = ""
    if start is not None:
        conditions += " AND start >= %(start)s"
        params["start"] = start
    if end is not None:
        conditions += " AND start < %(end)s"
        params["end"] = end
    return conditions


def _hour_series_postgres(
    source_ids: list[int],
    metric: Metric,
    aggregation: str,
    start: datetime | None,
    end: datetime | None,
) -> list[SourceSeries]:
    params = {"sources": source_ids, "metric": metric.id}
    sql = f"""
        SELECT data_source_id, hour, utc_offset, value FROM (
            SELECT data_source_id, date_trunc('hour', {_LOCAL_START_SQL}) AS hour, utc_offset,
                   {_HOUR_AGGREGATE_SQL[aggregation]} AS value
              FROM metrics_sample
             WHERE data_source_id = ANY(%(sources)s) AND metric = %(metric)s
                   {_range_sql(start, end, params)}
             GROUP BY data_source_id, hour, utc_offset
        ) AS buckets
        ORDER BY data_source_id, hour - make_interval(mins => utc_offset), utc_offset
    """  # noqa: S608 (built from constants only; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _group_points(
        (source_id, _naive_iso(hour) + offset_text(offset), value)
        for source_id, hour, offset, value in rows
    )


def _offset_sql(minutes: str) -> str:
    """SQL for the ISO text of an offset in minutes (e.g. utc_offset -> '+01:00')."""
    return (
        f"CASE WHEN {minutes} < 0 THEN '-' ELSE '+' END"
        f" || lpad((abs({minutes}) / 60)::text, 2, '0')"
        f" || ':' || lpad((abs({minutes}) %% 60)::text, 2, '0')"
    )


# PostgreSQL renders every point: `2026-03-02 09:00:00+01:00",72` joined by `],["`
# (Python turns the space into the ISO "T" and adds the outer brackets). Printing an ISO
# offset per row costs as much as the rest of the row, so the offsets of the first and the
# last sample of the range (a source's usual offset, and the other side of a DST change)
# are printed once and picked by a CASE; only rarer offsets are printed per row.
_RAW_SQL = """
    SELECT ds.id, p.body
      FROM unnest(%(sources)s::integer[]) AS ds(id)
     CROSS JOIN LATERAL (
        SELECT first_offset, {first_text} || '",' AS first_text,
               last_offset, {last_text} || '",' AS last_text
          FROM (SELECT (SELECT utc_offset FROM metrics_sample
                         WHERE data_source_id = ds.id AND metric = %(metric)s {range}
                         ORDER BY start, "end" LIMIT 1) AS first_offset,
                       (SELECT utc_offset FROM metrics_sample
                         WHERE data_source_id = ds.id AND metric = %(metric)s {range}
                         ORDER BY start DESC, "end" DESC LIMIT 1) AS last_offset
                OFFSET 0) AS o
        OFFSET 0  -- these fences keep the texts computed once, not on every row
     ) AS usual
     CROSS JOIN LATERAL (
        SELECT string_agg(
                   concat(
                       s.start AT TIME ZONE 'UTC' + make_interval(mins => s.utc_offset),
                       CASE s.utc_offset
                           WHEN usual.first_offset THEN usual.first_text
                           WHEN usual.last_offset THEN usual.last_text
                           ELSE {row_text} || '",'
                       END,
                       s.value),
                   '],["') AS body
          FROM (SELECT start, utc_offset, value
                  FROM metrics_sample
                 WHERE data_source_id = ds.id AND metric = %(metric)s {range}
                 ORDER BY start, "end") AS s
     ) AS p
     WHERE usual.first_offset IS NOT NULL
"""


class _TextAsBytes(Loader):
    """Loads text columns as the bytes received: the big JSON body is never decoded,
    copied as str and encoded again (each a few milliseconds for a month of minutes)."""

    def load(self, data) -> bytes:
        return bytes(data)


def raw_series_json_for_user(
    *,
    user,
    metric: Metric,
    data_source_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> bytes:
    """The raw series as JSON (UTF-8): a list of {"data_source", "points"} objects, built
    by PostgreSQL without a Python object per point (elsewhere: from
    series_from_samples_for_user)."""
    if connection.vendor != "postgresql":
        series = series_from_samples_for_user(
            user=user,
            metric=metric,
            resolution="raw",
            aggregation="last",
            data_source_id=data_source_id,
            start=start,
            end=end,
        )
        return json.dumps(
            [{"data_source": s.data_source_id, "points": s.points} for s in series],
            separators=(",", ":"),
        ).encode()
    source_ids = data_source_ids_for_user(user=user, data_source_id=data_source_id)
    if not source_ids:
        return b"[]"
    params = {"sources": source_ids, "metric": metric.id}
    sql = _RAW_SQL.format(
        range=_range_sql(start, end, params),
        first_text=_offset_sql("first_offset"),
        last_text=_offset_sql("last_offset"),
        row_text=_offset_sql("s.utc_offset"),
    )
    # The connection's options (settings.py) fix the output formats this relies on (ISO
    # DateStyle, shortest exact floats) and turn JIT off.
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("text", _TextAsBytes)  # this cursor only
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    parts = []
    for source_id, body in sorted(rows):  # few rows: cheaper than sorting in SQL
        parts += [b',{"data_source":%d,"points":[["' % source_id, body.replace(b" ", b"T"), b"]]}"]
    if parts:
        parts[0] = parts[0][1:]  # no comma before the first source
    return b"".join([b"[", *parts, b"]"])


# --- sleep and workouts ---------------------------------------------------------------


def sleep_sessions_for_user(
    *,
    user,
    data_source_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[SleepSession]:
    """Sessions starting in [start, end). A data_source_id not the user's matches none
    (the API checks ownership first, to answer 404)."""
    sessions = SleepSession.objects.filter(data_source__user=user)
    if data_source_id is not None:
        sessions = sessions.filter(data_source_id=data_source_id)
    if start is not None:
        sessions = sessions.filter(start__gte=start)
    if end is not None:
        sessions = sessions.filter(start__lt=end)
    return sessions


def sleep_session_get(*, user, session_id: int) -> SleepSession:
    """With its stages prefetched. Raises SleepSession.DoesNotExist for another user's id."""
    return (
        SleepSession.objects.filter(data_source__user=user)
        .prefetch_related("stages")
        .get(id=session_id)
    )


def workouts_for_user(
    *,
    user,
    data_source_id: int | None = None,
    activity_type: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Workout]:
    """Workouts starting in [start, end), without their (large) route."""
    workouts = Workout.objects.filter(data_source__user=user).defer("route")
    if data_source_id is not None:
        workouts = workouts.filter(data_source_id=data_source_id)
    if activity_type is not None:
        workouts = workouts.filter(activity_type=activity_type)
    if start is not None:
        workouts = workouts.filter(start__gte=start)
    if end is not None:
        workouts = workouts.filter(start__lt=end)
    return workouts


def workout_get(*, user, workout_id: int) -> Workout:
    """With its route. Raises Workout.DoesNotExist for another user's id."""
    return Workout.objects.get(data_source__user=user, id=workout_id)


# --- daily summaries ------------------------------------------------------------------


def daily_summaries_for_user(
    *, user, first: date, last: date, metric: Metric | None = None
) -> list[dict]:
    """Days in [first, last] that have values, from the rollups: each
    {"day", "metrics": {key: [{"data_source", "value", "count"}]}} with the value a sum
    (cumulative), an average (discrete) or the last value (scores), per data source."""
    if (last - first).days >= MAX_SUMMARY_DAYS:
        raise ValueError(f"at most {MAX_SUMMARY_DAYS} days")
    rollups = DailyRollup.objects.filter(
        data_source__user=user, day__gte=first, day__lte=last
    ).order_by("day", "metric", "data_source_id")
    if metric is not None:
        rollups = rollups.filter(metric=metric.id)
    days: list[dict] = []
    for day, metric_id, source_id, total, avg, latest, count in rollups.values_list(
        "day", "metric", "data_source_id", "sum", "avg", "last", "count"
    ):
        known = BY_ID.get(metric_id)
        if known is None:
            continue
        if not days or days[-1]["day"] != day:
            days.append({"day": day, "metrics": {}})
        value = {"sum": total, "avg": avg, "last": latest}[known.daily_column]
        days[-1]["metrics"].setdefault(known.key, []).append(
            {"data_source": source_id, "value": value, "count": count}
        )
    return days
