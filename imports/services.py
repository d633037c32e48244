import gc
import os
import shutil
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable
from contextlib import closing, contextmanager
from datetime import timedelta
from itertools import chain
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from imports.apple_health.parser import (
    MalformedExport,
    ParseReport,
    check_archive,
    open_export,
)
from imports.apple_health.pipe import parsed_batches
from imports.apple_health.routes import RouteReport, routes_attached
from imports.models import ImportJob
from metrics.schemas import SampleIn, SleepSessionIn, WorkoutIn
from metrics.services import (
    resolved_recompute,
    resolved_refresh,
    samples_ingest,
    sleep_sessions_ingest,
    workouts_ingest,
)

# Samples per write: half the ingestion default, for half its working memory (the
# import's peak RSS), at about the same speed.
IMPORT_BATCH = 10_000


def apple_health_import(
    *,
    user,
    path,
    job: ImportJob | None = None,
    progress: Callable[[ParseReport], None] | None = None,
    on_open: Callable[[int], None] | None = None,
) -> dict:
    """Parse an export.zip / export.xml as a stream and write it through the ingestion
    service. Idempotent: importing the same export again adds nothing.

    The parsing runs in a process of its own (imports.apple_health.pipe), so parsing and
    writing proceed in parallel; this process turns its rows into samples and writes."""
    with _long_lived_objects_set_aside():
        return _apple_health_import(
            user=user, path=path, job=job, progress=progress, on_open=on_open
        )


@contextmanager
def _long_lived_objects_set_aside():
    """The cyclic garbage collector leaves what the process held before the import
    (Django, its modules and caches: most of its objects) alone while the import runs. An
    import allocates millions of objects, and each full collection would otherwise walk
    those too (about a tenth of the importer's CPU). They are handed back at the end."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _apple_health_import(*, user, path, job, progress, on_open) -> dict:
    report = ParseReport()
    stream, archive = open_export(path)  # refuses an unsafe archive before anything runs
    try:
        size = export_size(path, archive)
    finally:
        stream.close()
        if archive is not None:
            archive.close()
    if on_open is not None:  # how many bytes there are to parse
        on_open(size)
    sleep: list[SleepSessionIn] = []
    workouts: list[WorkoutIn] = []

    def samples(batches):
        for parsed in batches:
            yield from parsed.rows  # SampleIn-shaped tuples, dates in epoch seconds
            for item in parsed.others:
                if isinstance(item, SampleIn):
                    yield item
                elif isinstance(item, SleepSessionIn):
                    sleep.append(item)
                else:
                    workouts.append(item)
            if progress:
                progress(report)

    job_id = job.id if job else None
    with closing(parsed_batches(path, report)) as batches:
        written = samples_ingest(
            user=user,
            records=samples(batches),
            import_job_id=job_id,
            batch_size=IMPORT_BATCH,
            resolve=False,
        )
    slept = sleep_sessions_ingest(user=user, sessions=sleep, import_job_id=job_id, resolve=False)
    # The resolved values once for every day the import changed (its samples' and its
    # nights'), rather than after each batch. Rows found already stored (a re-import, an
    # overlapping export, an export's own duplicates, or the re-run of an import that
    # died before this point, whose days changed without being resolved) make it
    # recompute them all: about as cheap, since an import touches nearly every day of
    # its metrics.
    if written.unchanged:
        resolved_recompute(user=user)
    else:
        resolved_refresh(user=user, pairs=chain(written.touched, slept.touched))
    routes = RouteReport()  # each referenced GPX file read from the zip as it is written
    with routes_attached(path, workouts, routes) as routed:
        trained = workouts_ingest(user=user, workouts=routed, import_job_id=job_id)
    result = {
        "parse": report.as_dict(),
        "samples": written.as_dict(),
        "sleep_sessions": slept.as_dict(),
        "workouts": trained.as_dict(),
        "routes": routes.as_dict(),
    }
    return result


def export_size(path, archive) -> int:
    if archive is None:
        return os.path.getsize(path)
    return check_archive(archive).file_size


# --- jobs: upload, run, cancel, recover --------------------------------------------------

UPLOAD_DIR = "imports"
# A running import whose heartbeat is older than this has lost its worker.
STALE_AFTER = timedelta(minutes=3)


class ImportRefused(ValueError):
    """An upload that is not accepted (wrong type, too big, one already running)."""


def import_job_start(*, user, uploaded, kind: str = ImportJob.Kind.APPLE_HEALTH) -> ImportJob:
    """Check an uploaded file (already streamed to a temporary file by the upload
    handler), store it under a server-generated name and queue its import."""
    if ImportJob.objects.filter(user=user, status__in=ImportJob.ACTIVE).exists():
        raise ImportRefused("An import is already running; wait for it or cancel it.")
    head = uploaded.read(8)
    uploaded.seek(0)
    if head.startswith(b"PK\x03\x04"):
        suffix, limit = ".zip", settings.IMPORT_MAX_ZIP_BYTES
    elif head.lstrip().startswith(b"<?xml") or head.lstrip().startswith(b"<"):
        suffix, limit = ".xml", settings.IMPORT_MAX_XML_BYTES
    else:
        raise ImportRefused("This is neither an export.zip nor an export.xml.")
    if uploaded.size > limit:
        raise ImportRefused(f"The file is larger than the {limit / 2**30:.0f} GB limit.")
    relative = f"{UPLOAD_DIR}/{uuid.uuid4().hex}{suffix}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = getattr(uploaded, "temporary_file_path", None)
    if temporary is not None:
        shutil.move(temporary(), target)
    else:
        with target.open("wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(target) as archive:
                check_archive(archive)
        except (zipfile.BadZipFile, MalformedExport) as exc:
            target.unlink(missing_ok=True)
            message = str(exc) if isinstance(exc, MalformedExport) else "The zip is damaged."
            raise ImportRefused(message) from exc
    with transaction.atomic():
        job = ImportJob.objects.create(
            user=user,
            kind=kind,
            file_path=relative,
            size_bytes=target.stat().st_size,
            original_name=Path(uploaded.name or "export").name[:255],
        )
        transaction.on_commit(lambda: _enqueue(job.id))
    return job


def _enqueue(job_id: int) -> None:
    from imports.tasks import run_import_task

    run_import_task.delay(job_id)


class Cancelled(Exception):
    pass


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run (or re-run, after a crash) one import. Idempotent: a re-run from the start of
    the file adds only what is missing, so a killed worker loses nothing."""
    # Claim a queued job, or a running one whose worker stopped beating; a duplicate
    # delivery while the job is alive elsewhere finds nothing to claim.
    claimable = Q(status=ImportJob.Status.QUEUED) | Q(
        status=ImportJob.Status.RUNNING, heartbeat_at__lt=timezone.now() - STALE_AFTER
    )
    claimed = ImportJob.objects.filter(claimable, id=job_id).update(
        status=ImportJob.Status.RUNNING,
        heartbeat_at=timezone.now(),
        started_at=Coalesce("started_at", Now()),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None  # finished, failed or cancelled meanwhile
    job = ImportJob.objects.select_related("user").get(id=job_id)
    last_beat = [0.0]

    def progress(report: ParseReport) -> None:
        now = time.monotonic()
        if now - last_beat[0] < 1.0:
            return
        last_beat[0] = now
        ImportJob.objects.filter(id=job_id).update(
            bytes_processed=report.bytes_read,
            records_processed=report.records,
            heartbeat_at=timezone.now(),
        )
        if ImportJob.objects.filter(id=job_id, cancel_requested=True).exists():
            raise Cancelled

    def opened(size: int) -> None:
        ImportJob.objects.filter(id=job_id).update(size_bytes=size)

    path = Path(settings.MEDIA_ROOT) / job.file_path
    try:
        result = apple_health_import(
            user=job.user, path=path, job=job, progress=progress, on_open=opened
        )
    except Cancelled:
        ImportJob.objects.filter(id=job_id).update(
            status=ImportJob.Status.CANCELLED, finished_at=timezone.now()
        )
        return ImportJob.objects.get(id=job_id)
    except (MalformedExport, zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        ImportJob.objects.filter(id=job_id).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{exc}"[:2000] or type(exc).__name__,
        )
        return ImportJob.objects.get(id=job_id)
    parse = result["parse"]
    ImportJob.objects.filter(id=job_id).update(
        status=ImportJob.Status.SUCCEEDED,
        finished_at=timezone.now(),
        counts=result,
        bytes_processed=parse["bytes_read"],
        records_processed=parse["records"],
    )
    return ImportJob.objects.get(id=job_id)


def import_job_cancel(*, user, job_id: int) -> ImportJob:
    job = ImportJob.objects.get(user=user, id=job_id)
    if job.status == ImportJob.Status.QUEUED:
        ImportJob.objects.filter(id=job.id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.CANCELLED, finished_at=timezone.now(), cancel_requested=True
        )
    elif job.status == ImportJob.Status.RUNNING:
        ImportJob.objects.filter(id=job.id).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def import_jobs_recover(*, now=None) -> list[int]:
    """Re-queue imports whose worker died (no heartbeat for STALE_AFTER): the re-run is
    idempotent. Called by beat every minute."""
    now = now or timezone.now()
    stale = list(
        ImportJob.objects.filter(
            status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER
        ).values_list("id", flat=True)
    )
    for job_id in stale:
        ImportJob.objects.filter(id=job_id).update(status=ImportJob.Status.QUEUED)
        _enqueue(job_id)
    return stale
