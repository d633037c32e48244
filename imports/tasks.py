from celery import shared_task


@shared_task(
    acks_late=True, reject_on_worker_lost=True, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60
)
def run_import_task(job_id: int):
    """Import one uploaded file (idempotent: safe to run again after a crash)."""
    from imports.services import import_job_run

    import_job_run(job_id=job_id)


@shared_task
def recover_imports_task():
    """Re-queue imports whose worker stopped beating (a killed worker)."""
    from imports.services import import_jobs_recover

    import_jobs_recover()
