from collections.abc import Callable

from django.utils import timezone

from imports.apple_health.parser import ParseReport, open_export, parse_export_xml
from imports.models import ImportJob
from metrics.schemas import SampleIn, SleepSessionIn, WorkoutIn
from metrics.services import samples_ingest, sleep_sessions_ingest, workouts_ingest


def apple_health_import(
    *, user, path, job: ImportJob | None = None,
    progress: Callable[[ParseReport], None] | None = None,
) -> dict:
    """Parse an export.zip / export.xml as a stream and write it through the ingestion
    service. Idempotent: importing the same export again adds nothing."""
    report = ParseReport()
    stream, archive = open_export(path)
    sleep: list[SleepSessionIn] = []
    workouts: list[WorkoutIn] = []

    def samples():
        for batch in parse_export_xml(stream, report=report):
            for item in batch:
                if isinstance(item, SampleIn):
                    yield item
                elif isinstance(item, SleepSessionIn):
                    sleep.append(item)
                else:
                    workouts.append(item)
            if progress:
                progress(report)

    job_id = job.id if job else None
    try:
        written = samples_ingest(user=user, records=samples(), import_job_id=job_id)
    finally:
        stream.close()
        if archive is not None:
            archive.close()
    slept = sleep_sessions_ingest(user=user, sessions=sleep, import_job_id=job_id)
    trained = workouts_ingest(user=user, workouts=workouts, import_job_id=job_id)
    result = {
        "parse": report.as_dict(),
        "samples": written.as_dict(),
        "sleep_sessions": slept.as_dict(),
        "workouts": trained.as_dict(),
    }
    if job is not None:
        job.counts = result
        job.status = ImportJob.Status.SUCCEEDED
        job.finished_at = timezone.now()
        job.save(update_fields=["counts", "status", "finished_at"])
    return result
