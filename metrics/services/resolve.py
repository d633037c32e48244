"""Resolved daily values: one number per (user, metric, local day), after the user's
source priorities, with provenance. Derived from rollups (and, where several sources of a
cumulative metric share a day, from their samples); stored samples are never changed."""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction

from metrics.catalog import BY_ID, Aggregation, Category
from metrics.models import SLEEP_CATEGORY_IDS, DailyRollup, ResolvedDaily, Sample, local_day
from metrics.resolution import Resolved, merge_cumulative, pick_best
from preferences.selectors import ranks_by_metric

WRITE_BATCH = 5_000


def resolved_refresh(*, user, pairs: Iterable[tuple[int, date]]) -> int:
    """Recompute the resolved values of these (metric id, day) pairs (after ingestion)."""
    days_by_metric: dict[int, set[date]] = defaultdict(set)
    for metric_id, day in pairs:
        days_by_metric[metric_id].add(day)
    if not days_by_metric:
        return 0
    ranks = ranks_by_metric(user=user, metric_ids=days_by_metric)
    written = 0
    for metric_id, days in days_by_metric.items():
        written += _write(
            user, metric_id, days, resolve_days(user, metric_id, days, ranks[metric_id])
        )
    return written


def resolved_recompute(
    *,
    user,
    metric_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Recompute every resolved daily value of these metrics (default: every metric the
    user has data for), e.g. after a priority change. Reports (done, total) metrics."""
    if metric_ids is None:
        metric_ids = (
            DailyRollup.objects.filter(data_source__user=user)
            .values_list("metric", flat=True)
            .distinct()
        )
    metric_ids = sorted(set(metric_ids))
    ranks = ranks_by_metric(user=user, metric_ids=metric_ids)
    written = 0
    for done, metric_id in enumerate(metric_ids, start=1):
        written += _write(
            user, metric_id, None, resolve_days(user, metric_id, None, ranks[metric_id])
        )
        if progress:
            progress(done, len(metric_ids))
    return written


def resolve_days(user, metric_id: int, days: set[date] | None, rank: dict[int, int]):
    """{day: Resolved} for the given days (None: all days with data), with the sources
    ranked by `rank` ({source id: rank}; used for previews as well as for real)."""
    metric = BY_ID[metric_id]
    rollups = DailyRollup.objects.filter(data_source__user=user, metric=metric_id)
    if days is not None:  # a range rather than a list of thousands of days
        rollups = rollups.filter(day__gte=min(days), day__lte=max(days))
    by_day: dict[date, dict[int, tuple[float, float, float]]] = defaultdict(dict)
    for source_id, day, total, avg, last in rollups.values_list(
        "data_source_id", "day", "sum", "avg", "last"
    ):
        if days is None or day in days:
            by_day[day][source_id] = (total, avg, last)

    def ordered(per_source):
        return sorted(per_source, key=lambda s: (rank.get(s, 10**6), s))

    resolved: dict[date, Resolved] = {}
    needs_merge: dict[date, list[int]] = {}
    for day, per_source in by_day.items():
        sources = ordered(per_source)
        if metric.aggregation is Aggregation.CUMULATIVE and metric.category != Category.SLEEP:
            if len(sources) == 1:
                total = per_source[sources[0]][0]
                resolved[day] = Resolved(value=total, contributions={sources[0]: total})
            else:
                needs_merge[day] = sources
        else:
            # Discrete: the day's average; scores: the day's value; sleep durations: the
            # night's total from the best source (nights are events, not spans to merge).
            column = ("sum", "avg", "last").index(metric.daily_column)
            resolved[day] = pick_best([(s, per_source[s][column]) for s in sources])
    if needs_merge:
        resolved.update(_merge_days(metric_id, needs_merge))
    return resolved


MERGE_WINDOW = 31  # days whose samples are read (and held) at once


def _merge_days(metric_id: int, needs_merge: dict[date, list[int]]) -> dict[date, Resolved]:
    """Time-span merge of the days where several sources of a cumulative metric overlap,
    a window of days at a time (so years of them need no more memory than a month)."""
    days = sorted(needs_merge)
    merged: dict[date, Resolved] = {}
    for at in range(0, len(days), MERGE_WINDOW):
        window = {day: needs_merge[day] for day in days[at : at + MERGE_WINDOW]}
        merged.update(_merge_window(metric_id, window))
    return merged


def _merge_window(metric_id: int, needs_merge: dict[date, list[int]]) -> dict[date, Resolved]:
    source_ids = sorted({s for sources in needs_merge.values() for s in sources})
    first, last = min(needs_merge), max(needs_merge)
    spans: dict[date, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    window = (_midnight(first - timedelta(days=2)), _midnight(last + timedelta(days=2)))
    for source_id, day, span in _window_spans(metric_id, source_ids, window):
        if day in needs_merge:
            spans[day][source_id].append(span)
    return {
        day: merge_cumulative([(s, spans[day].get(s, [])) for s in sources])
        for day, sources in needs_merge.items()
    }


def _window_spans(metric_id: int, source_ids: list[int], window: tuple[datetime, datetime]):
    """(source id, local day, (start, end, value) in POSIX seconds) of the metric's samples
    that start in the window."""
    if connection.vendor != "postgresql":
        samples = Sample.objects.filter(
            data_source_id__in=source_ids,
            metric=metric_id,
            start__gte=window[0],
            start__lt=window[1],
        ).values_list("data_source_id", "start", "end", "value", "utc_offset")
        for source_id, start, end, value, offset in samples.iterator(chunk_size=20_000):
            day = local_day(metric_id, start, end, offset)
            yield source_id, day, (start.timestamp(), end.timestamp(), value)
        return
    # On PostgreSQL the times come as POSIX seconds (the same floats as timestamp()) and
    # the local day is worked out from them: no datetime built per sample.
    by_end = metric_id in SLEEP_CATEGORY_IDS  # as local_day(): sleep counts on waking
    days: dict[int, date] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_source_id, EXTRACT(EPOCH FROM start)::float8,"
            ' EXTRACT(EPOCH FROM "end")::float8, value, utc_offset'
            " FROM metrics_sample WHERE data_source_id = ANY(%s) AND metric = %s"
            " AND start >= %s AND start < %s",
            [source_ids, metric_id, *window],
        )
        while rows := cursor.fetchmany(20_000):
            for source_id, start, end, value, offset in rows:
                number = int(((end if by_end else start) + 60 * offset) // 86_400)
                day = days.get(number)
                if day is None:
                    day = days[number] = _EPOCH_DAY + timedelta(days=number)
                yield source_id, day, (start, end, value)


_EPOCH_DAY = date(1970, 1, 1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _write(user, metric_id: int, days: set[date] | None, resolved: dict[date, Resolved]) -> int:
    kept = [(day, r) for day, r in resolved.items() if r is not None]
    with transaction.atomic():
        stale = ResolvedDaily.objects.filter(user=user, metric=metric_id)
        if days is not None:
            stale = stale.filter(day__in=days)
        if connection.vendor == "postgresql":
            _write_postgres(user.id, metric_id, days, kept)
        else:
            stale.delete()
            ResolvedDaily.objects.bulk_create(
                (
                    ResolvedDaily(
                        user=user, metric=metric_id, day=d, value=r.value, provenance=r.provenance()
                    )
                    for d, r in kept
                ),
                batch_size=WRITE_BATCH,
            )
    return len(kept)


def _write_postgres(user_id: int, metric_id: int, days, kept: list[tuple[date, Resolved]]) -> None:
    """The same delete-and-insert in two statements, the days as one array literal and the
    rows as one JSON document (the ORM spends more time building a bulk statement than
    PostgreSQL takes to run it)."""
    with connection.cursor() as cursor:
        if days is None:
            cursor.execute(
                "DELETE FROM metrics_resolveddaily WHERE user_id = %s AND metric = %s",
                [user_id, metric_id],
            )
        else:
            cursor.execute(
                "DELETE FROM metrics_resolveddaily"
                " WHERE user_id = %s AND metric = %s AND day = ANY(%s::date[])",
                [user_id, metric_id, "{" + ",".join(d.isoformat() for d in days) + "}"],
            )
        rows = [[d.isoformat(), r.value, r.provenance()] for d, r in kept]
        cursor.execute(
            "INSERT INTO metrics_resolveddaily (user_id, metric, day, value, provenance)"
            " SELECT %s, %s, (r->>0)::date, (r->>1)::float8, r->2"
            " FROM jsonb_array_elements(%s::jsonb) AS r",
            [user_id, metric_id, json.dumps(rows)],
        )
