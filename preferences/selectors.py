"""Which source is trusted first: the user's order, with sensible defaults until they set
one, and new sources joining at their default position."""

import statistics
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from metrics.catalog import BY_ID, BY_KEY, Category, metrics_in
from metrics.models import DailyRollup, DataSource, ResolvedDaily, SleepSession, Workout
from metrics.resolution import collapse_duplicates
from preferences.models import WHOLE_CATEGORY, SourcePriority

# Services that relay other devices' data rather than measure anything themselves.
AGGREGATORS = frozenset({"apple_health", "health_connect", "google_health", "strava"})
MANUAL_KINDS = frozenset({"manual"})
MANUAL_ORIGINS = frozenset({"health", "manual"})  # Apple Health's own manual entries: "Health"
APPLE_DEVICES = ("watch", "iphone", "ipad")


def _is_phone(source: DataSource) -> bool:
    text = f"{source.origin} {source.device_model}".lower()
    return "iphone" in text or "phone" in text.split()


def default_score(source: DataSource) -> int:
    """Lower is trusted first: manual entries (as Apple Health does), then devices worn on
    the body or dedicated to the measurement, then a dedicated device's data relayed by an
    aggregator (e.g. a Withings weigh-in that also reached Apple Health), then phones."""
    origin = source.origin.lower()
    if source.kind in MANUAL_KINDS or origin in MANUAL_ORIGINS:
        return 0
    if _is_phone(source):
        return 30
    if source.kind in AGGREGATORS and not any(d in origin for d in APPLE_DEVICES):
        return 20
    return 10


def _default_key(source: DataSource) -> tuple:
    return (default_score(source), source.kind, source.origin, source.id)


def sources_with_data(*, user, category: Category, metric_id: int | None = None) -> list:
    """The user's data sources that have anything in this category (or metric)."""
    sources = DataSource.objects.filter(user=user)
    if category == Category.WORKOUTS:
        return list(sources.filter(id__in=Workout.objects.values("data_source_id")))
    metric_ids = [metric_id] if metric_id else [m.id for m in metrics_in(category)]
    with_rollups = DailyRollup.objects.filter(data_source__user=user, metric__in=metric_ids).values(
        "data_source_id"
    )
    condition = Q(id__in=with_rollups)
    if category == Category.SLEEP:
        condition |= Q(id__in=SleepSession.objects.values("data_source_id"))
    return list(sources.filter(condition))


def source_order_for(
    *, user, category: Category, metric_key: str | None = None, sources=None
) -> list[DataSource]:
    """The effective order, most trusted first. A per-metric order beats the category's;
    sources the user has not placed join at their default position."""
    metric_id = BY_KEY[metric_key].id if metric_key else None
    if sources is None:
        sources = sources_with_data(user=user, category=category, metric_id=metric_id)
    rows = list(_priority_rows(user, category, metric_id)) if metric_id else []
    if not rows:
        rows = list(_priority_rows(user, category, WHOLE_CATEGORY))
    return _order_from_rows(sources, rows)


def _priority_rows(user, category, metric_id):
    return SourcePriority.objects.filter(user=user, category=category, metric=metric_id).order_by(
        "rank"
    )


def has_custom_order(*, user, category: Category, metric_key: str | None = None) -> bool:
    metric_id = BY_KEY[metric_key].id if metric_key else WHOLE_CATEGORY
    return SourcePriority.objects.filter(user=user, category=category, metric=metric_id).exists()


def ranks_by_metric(*, user, metric_ids) -> dict[int, dict[int, int]]:
    """For each metric, {data source id: rank} for the user's sources (0 = best). One pass
    over the user's sources and priority rows, for resolving many metrics at once."""
    sources = list(DataSource.objects.filter(user=user))
    rows = list(SourcePriority.objects.filter(user=user).order_by("rank"))
    ranks: dict[int, dict[int, int]] = {}
    orders: dict[tuple[str, int], list[DataSource]] = {}
    for metric_id in metric_ids:
        metric = BY_ID[metric_id]
        key = (metric.category, metric_id)
        own = [r for r in rows if r.category == metric.category and r.metric == metric_id]
        if not own:
            key = (metric.category, WHOLE_CATEGORY)
        if key not in orders:
            orders[key] = _order_from_rows(
                sources, [r for r in rows if (r.category, r.metric) == key]
            )
        ranks[metric_id] = {s.id: i for i, s in enumerate(orders[key])}
    return ranks


def _order_from_rows(sources, rows) -> list[DataSource]:
    """The user's placed sources in their order, then each unplaced one inserted before
    the first placed source with a worse default score (its default position)."""
    by_id = {s.id: s for s in sources}
    ordered = [by_id[r.data_source_id] for r in rows if r.data_source_id in by_id]
    placed = {s.id for s in ordered}
    for newcomer in sorted((s for s in sources if s.id not in placed), key=_default_key):
        score = default_score(newcomer)
        position = next(
            (i for i, s in enumerate(ordered) if default_score(s) > score), len(ordered)
        )
        ordered.insert(position, newcomer)
    return ordered


HEADLINE_METRICS = {
    Category.ACTIVITY: ("steps", "active_energy", "distance_walking_running"),
    Category.BODY: ("body_mass", "body_fat_percentage"),
    Category.HEART: ("resting_heart_rate", "hrv_rmssd", "heart_rate"),
    Category.VITALS: ("oxygen_saturation", "respiratory_rate", "skin_temperature_deviation"),
    Category.SLEEP: ("sleep_asleep", "sleep_score"),
    Category.RECOVERY: ("readiness_score", "recovery_score", "strain"),
    Category.NUTRITION: ("dietary_energy", "protein"),
    Category.MINDFULNESS: ("mindful_minutes",),
}


def priority_preview(*, user, category: Category, order: list[DataSource], days: int = 30):
    """What the last `days` days of the category's headline metrics would be with this
    order, next to what they are now: [{metric, rows: [(day, now, proposed)], changed}]."""
    from metrics.services.resolve import resolve_days  # (resolve imports this module)

    today = timezone.localdate(timezone=ZoneInfo(user.timezone))
    window = {today - timedelta(days=n) for n in range(1, days + 1)}
    rank = {s.id: i for i, s in enumerate(order)}
    previews = []
    for key in HEADLINE_METRICS.get(category, ()):
        metric = BY_KEY[key]
        proposed = resolve_days(user, metric.id, window, rank)
        if not proposed:
            continue
        now = dict(
            ResolvedDaily.objects.filter(user=user, metric=metric.id, day__in=window).values_list(
                "day", "value"
            )
        )
        rows = [
            (day, now.get(day), proposed[day].value if proposed.get(day) else None)
            for day in sorted(window, reverse=True)
            if day in now or day in proposed
        ]
        now_values = [a for _, a, _ in rows if a is not None]
        proposed_values = [b for _, _, b in rows if b is not None]
        previews.append(
            {
                "metric": metric,
                "rows": rows,
                "average_now": _mean(now_values),
                "average_proposed": _mean(proposed_values),
                "changed": sum(
                    1 for _, a, b in rows if a is None or b is None or abs(a - b) > 1e-9
                ),
            }
        )
    return previews


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def source_comparison(*, user, metric_key: str, source_ids: list[int], days: int = 90) -> dict:
    """One metric from two or more of the user's sources, day by day (from the rollups),
    with how well each agrees with the first: mean difference, mean absolute difference,
    correlation and the number of days both have."""
    metric = BY_KEY[metric_key]
    sources = list(DataSource.objects.filter(user=user, id__in=source_ids))
    sources.sort(key=lambda s: source_ids.index(s.id))
    today = timezone.localdate(timezone=ZoneInfo(user.timezone))
    first = today - timedelta(days=days)
    values: dict[int, dict] = {s.id: {} for s in sources}
    for source_id, day, total, avg, last in DailyRollup.objects.filter(
        data_source__in=sources, metric=metric.id, day__gte=first, day__lt=today
    ).values_list("data_source_id", "day", "sum", "avg", "last"):
        values[source_id][day] = {"sum": total, "avg": avg, "last": last}[metric.daily_column]
    all_days = sorted({d for per in values.values() for d in per})
    stats = []
    if sources:
        base = values[sources[0].id]
        for other in sources[1:]:
            pairs = [
                (base[d], values[other.id][d])
                for d in all_days
                if d in base and d in values[other.id]
            ]
            stats.append({"source": other, **_agreement(pairs)})
    return {
        "metric": metric,
        "sources": sources,
        "days": all_days,
        "rows": [(d, [values[s.id].get(d) for s in sources]) for d in all_days],
        "stats": stats,
    }


def _agreement(pairs: list[tuple[float, float]]) -> dict:
    if not pairs:
        return {
            "days": 0,
            "mean_difference": None,
            "mean_absolute_difference": None,
            "correlation": None,
        }
    first, second = zip(*pairs, strict=True)
    diffs = [b - a for a, b in pairs]
    try:
        correlation = statistics.correlation(first, second)
    except statistics.StatisticsError:  # fewer than two days, or a constant series
        correlation = None
    return {
        "days": len(pairs),
        "mean_difference": statistics.fmean(diffs),
        "mean_absolute_difference": statistics.fmean(abs(d) for d in diffs),
        "correlation": correlation,
    }


# --- resolved reads ----------------------------------------------------------------------


def resolved_daily_for_user(*, user, metric_key: str, start, end):
    """The resolved daily values of one metric over [start, end] (dates), oldest first."""
    return ResolvedDaily.objects.filter(
        user=user, metric=BY_KEY[metric_key].id, day__gte=start, day__lte=end
    ).order_by("day")


def _event_ranks(user, category: Category) -> dict[int, int]:
    return {s.id: i for i, s in enumerate(source_order_for(user=user, category=category))}


def sleep_events(*, user, start=None, end=None) -> list:
    """Sleep sessions as events: [(the best source's session, [its duplicates])], newest
    first. Sessions of different sources overlapping by more than half are one night."""
    sessions = SleepSession.objects.filter(data_source__user=user).select_related("data_source")
    return _events(sessions, _event_ranks(user, Category.SLEEP), start, end)


def workout_events(*, user, start=None, end=None) -> list:
    """Workouts as events, like sleep_events (the route is not loaded)."""
    workouts = (
        Workout.objects.filter(data_source__user=user).select_related("data_source").defer("route")
    )
    return _events(workouts, _event_ranks(user, Category.WORKOUTS), start, end)


def _events(queryset, rank: dict[int, int], start, end) -> list:
    # Widen the window by a day so an event straddling its edge keeps its duplicates.
    if start is not None:
        queryset = queryset.filter(end__gte=start - timedelta(days=1))
    if end is not None:
        queryset = queryset.filter(start__lte=end + timedelta(days=1))
    records = {r.id: r for r in queryset}
    groups = collapse_duplicates(
        [
            (r.id, r.data_source_id, r.start.timestamp(), r.end.timestamp())
            for r in records.values()
        ],
        rank,
    )
    events = [(records[best], [records[i] for i in dups]) for best, dups in groups]
    events = [
        (best, dups)
        for best, dups in events
        if (start is None or best.end >= start) and (end is None or best.start <= end)
    ]
    return sorted(events, key=lambda e: e[0].start, reverse=True)


def duplicates_of(*, event_list, record_id: int):
    """The event a record belongs to: (the record standing for it, the event's other
    records), whichever of them record_id is."""
    for best, dups in event_list:
        if record_id == best.id or any(d.id == record_id for d in dups):
            return best, dups
    return None, []


DASHBOARD_METRICS = (
    "steps",
    "active_energy",
    "distance_walking_running",
    "sleep_asleep",
    "sleep_score",
    "resting_heart_rate",
    "hrv_rmssd",
    "body_mass",
    "readiness_score",
    "recovery_score",
    "dietary_energy",
)


def dashboard_cards(*, user, days: int = 30) -> list[dict]:
    """For each headline metric with data: the latest resolved day, its provenance in
    words, and the last `days` days for a chart."""
    today = timezone.localdate(timezone=ZoneInfo(user.timezone))
    first = today - timedelta(days=days)
    labels = {s.id: s.label for s in DataSource.objects.filter(user=user)}
    metric_ids = [BY_KEY[k].id for k in DASHBOARD_METRICS]
    by_metric: dict[int, list] = {m: [] for m in metric_ids}
    for metric_id, day, value, provenance in (
        ResolvedDaily.objects.filter(
            user=user, metric__in=metric_ids, day__gte=first, day__lt=today
        )
        .order_by("day")
        .values_list("metric", "day", "value", "provenance")
    ):
        by_metric[metric_id].append((day, value, provenance))
    cards = []
    for metric_id in metric_ids:
        series = by_metric[metric_id]
        if not series:
            continue
        metric = BY_ID[metric_id]
        day, value, provenance = series[-1]
        cards.append(
            {
                "metric": metric,
                "day": day,
                "value": value,
                "explanation": explain(metric, value, provenance, labels),
                "chart_id": f"chart-{metric.key}",
                "chart": {
                    "days": [d.isoformat() for d, _, _ in series],
                    "series": [{"label": metric.name, "values": [v for _, v, _ in series]}],
                    "unit": metric.display_unit,
                },
            }
        )
    return cards


def explain(metric, value: float, provenance: dict, labels: dict[int, str]) -> str:
    """Provenance in words: "Apple Watch 11,210 · iPhone 2,869 (gaps only); 3,941 from
    iPhone overlapped and were not counted"."""

    def fmt(number: float) -> str:
        return f"{number:,.0f}" if abs(number) >= 100 else f"{number:,.1f}"

    def name(source_id: str) -> str:
        return labels.get(int(source_id), f"source {source_id}")

    contributions = provenance.get("contributions", {})
    set_aside = provenance.get("set_aside", {})
    if provenance.get("chosen") is not None or not metric.is_cumulative:
        chosen = provenance.get("chosen")
        text = f"from {name(str(chosen))}" if chosen is not None else ""
        if set_aside:
            others = ", ".join(f"{name(s)} {fmt(v)}" for s, v in set_aside.items())
            text += f"; also measured: {others}"
        return text
    parts = []
    for i, (source_id, counted) in enumerate(contributions.items()):
        if counted <= 0:
            continue
        parts.append(f"{name(source_id)} {fmt(counted)}" + (" (gaps only)" if i else ""))
    text = " · ".join(parts)
    aside = [(s, v) for s, v in set_aside.items() if v > 0]
    if aside:
        text += "; " + ", ".join(
            f"{fmt(v)} from {name(s)} overlapped a better source and were not counted"
            for s, v in aside
        )
    return text
