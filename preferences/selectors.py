"""Which source is trusted first: the user's order, with sensible defaults until they set
one, and new sources joining at their default position."""

from django.db.models import Q

from metrics.catalog import BY_ID, BY_KEY, Category, metrics_in
from metrics.models import DailyRollup, DataSource, SleepSession, Workout
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
