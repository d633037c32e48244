from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from metrics.catalog import BY_KEY, Category, metrics_in
from metrics.models import DataSource
from preferences.models import WHOLE_CATEGORY, RecomputeRun, SourcePriority


def priority_set(
    *, user, category: Category, data_source_ids: list[int], metric_key: str | None = None
) -> RecomputeRun:
    """Replace the user's order for a category (or one metric of it: an override) and
    recompute the affected resolved values in the background. Stored data is untouched."""
    metric_id = WHOLE_CATEGORY
    if metric_key is not None:
        metric = BY_KEY.get(metric_key)
        if metric is None or metric.category != category:
            raise ValidationError(f"{metric_key!r} is not a metric of {category}.")
        metric_id = metric.id
    if len(set(data_source_ids)) != len(data_source_ids):
        raise ValidationError("A data source appears twice in the order.")
    owned = set(
        DataSource.objects.filter(user=user, id__in=data_source_ids).values_list("id", flat=True)
    )
    if unknown := [i for i in data_source_ids if i not in owned]:
        raise ValidationError(f"Unknown data sources: {unknown}.")
    with transaction.atomic():
        SourcePriority.objects.filter(user=user, category=category, metric=metric_id).delete()
        SourcePriority.objects.bulk_create(
            SourcePriority(
                user=user, category=category, metric=metric_id, data_source_id=i, rank=rank
            )
            for rank, i in enumerate(data_source_ids)
        )
        return recompute_start(user=user, metric_ids=_affected(user, category, metric_id))


def priority_reset(*, user, category: Category, metric_key: str | None = None) -> RecomputeRun:
    """Back to the default order (for the category, or drop one metric's override)."""
    metric_id = BY_KEY[metric_key].id if metric_key else WHOLE_CATEGORY
    with transaction.atomic():
        SourcePriority.objects.filter(user=user, category=category, metric=metric_id).delete()
        return recompute_start(user=user, metric_ids=_affected(user, category, metric_id))


def _affected(user, category: Category, metric_id: int) -> list[int]:
    """A metric override affects that metric; a category order affects the category's
    metrics that have no override of their own."""
    if metric_id != WHOLE_CATEGORY:
        return [metric_id]
    overridden = set(
        SourcePriority.objects.filter(user=user, category=category)
        .exclude(metric=WHOLE_CATEGORY)
        .values_list("metric", flat=True)
    )
    return [m.id for m in metrics_in(category) if m.id not in overridden]


def recompute_start(*, user, metric_ids: list[int]) -> RecomputeRun:
    from preferences.tasks import recompute_task

    run = RecomputeRun.objects.create(user=user, metrics=metric_ids, total=len(metric_ids))
    recompute_task.delay_on_commit(run.id)
    return run


def recompute_run(*, run: RecomputeRun) -> RecomputeRun:
    """Recompute the run's metrics, recording progress on the row as it goes."""
    from metrics.services import resolved_recompute

    RecomputeRun.objects.filter(id=run.id).update(status=RecomputeRun.Status.RUNNING)

    def progress(done: int, total: int) -> None:
        RecomputeRun.objects.filter(id=run.id).update(done=done, total=total)

    try:
        resolved_recompute(user=run.user, metric_ids=run.metrics, progress=progress)
    except Exception as exc:
        RecomputeRun.objects.filter(id=run.id).update(
            status=RecomputeRun.Status.FAILED,
            error=type(exc).__name__,
            finished_at=timezone.now(),
        )
        raise
    RecomputeRun.objects.filter(id=run.id).update(
        status=RecomputeRun.Status.SUCCEEDED,
        done=len(run.metrics),
        total=len(run.metrics),
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run
