"""Deleting data sources with everything they brought in."""

from django.db import transaction

from metrics.models import DailyRollup, DataSource, Sample, SleepSession, Workout
from metrics.services.resolve import resolved_refresh
from preferences.models import SourcePriority


def data_sources_delete(*, user, data_source_ids) -> dict[str, int]:
    """Delete these data sources of `user` (ids of other users' sources are ignored) and
    everything under them: samples (no database foreign key, so deleted by
    data_source_id), daily rollups, sleep sessions with their stages, workouts and
    priority entries. Then recompute the resolved values of every (metric, day) they
    had data for, so the remaining sources take over those days (or the days vanish).
    Returns the number of rows deleted per kind."""
    ids = list(
        DataSource.objects.filter(user=user, id__in=list(data_source_ids)).values_list(
            "id", flat=True
        )
    )
    if not ids:
        return {}
    with transaction.atomic():
        touched = set(
            DailyRollup.objects.filter(data_source_id__in=ids).values_list("metric", "day")
        )
        counts = {
            "samples": Sample.objects.filter(data_source_id__in=ids).delete()[0],
            "rollups": DailyRollup.objects.filter(data_source_id__in=ids).delete()[0],
            "sleep_sessions": _count(SleepSession.objects.filter(data_source_id__in=ids)),
            "workouts": Workout.objects.filter(data_source_id__in=ids).delete()[0],
            "priorities": SourcePriority.objects.filter(data_source_id__in=ids).delete()[0],
        }
        counts["data_sources"] = (
            DataSource.objects.filter(id__in=ids).delete()[1].get(DataSource._meta.label, 0)
        )
        resolved_refresh(user=user, pairs=touched)
    return counts


def _count(queryset) -> int:
    """Rows of the queryset's own model deleted (not its cascaded children)."""
    return queryset.delete()[1].get(queryset.model._meta.label, 0)
