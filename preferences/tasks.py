from celery import shared_task


@shared_task
def recompute_task(run_id: int):
    """Recompute resolved values after a priority change (idempotent: safe to re-run)."""
    from preferences.models import RecomputeRun
    from preferences.services import recompute_run

    run = RecomputeRun.objects.select_related("user").get(id=run_id)
    recompute_run(run=run)
