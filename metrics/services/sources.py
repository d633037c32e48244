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


def events_delete(*, user, kind: str, external_id: str) -> dict[str, int]:
    """Delete the sleep sessions and workouts a provider says it deleted (by its id), with
    the nightly samples derived from a session, and bring the rollups and resolved values
    of the days they were on up to date."""
    from metrics.models import SLEEP_CATEGORY_IDS, local_day
    from metrics.services.ingest import rollups_refresh

    sources = DataSource.objects.filter(user=user, kind=kind)
    sessions = list(
        SleepSession.objects.filter(data_source__in=sources, external_id=external_id).values_list(
            "data_source_id", "start", "end"
        )
    )
    touched_rollups: set[tuple[int, int, object]] = set()
    with transaction.atomic():
        samples = 0
        for source_id, start, end in sessions:
            derived = Sample.objects.filter(
                data_source_id=source_id, metric__in=SLEEP_CATEGORY_IDS, start=start, end=end
            )
            for metric, offset in derived.values_list("metric", "utc_offset"):
                touched_rollups.add((source_id, metric, local_day(metric, start, end, offset)))
            samples += derived.delete()[0]
        counts = {
            "sleep_sessions": _count(
                SleepSession.objects.filter(data_source__in=sources, external_id=external_id)
            ),
            "workouts": Workout.objects.filter(
                data_source__in=sources, external_id=external_id
            ).delete()[0],
            "samples": samples,
        }
        for source_id, metric, day in touched_rollups:
            DailyRollup.objects.filter(data_source_id=source_id, metric=metric, day=day).delete()
        rollups_refresh(touched_rollups)
        resolved_refresh(user=user, pairs={(metric, day) for _, metric, day in touched_rollups})
    return counts
