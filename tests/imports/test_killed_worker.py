"""kill -9 of the worker in the middle of an import: once the job is recovered, the
import ends with exactly the right rows (a real worker process, the real broker)."""

import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import WorkerHeartbeat
from healthhub.celery import app as celery_app
from imports.models import ImportJob
from imports.services import import_jobs_recover
from imports.tasks import run_import_task
from metrics.models import DailyRollup, Sample
from tests.imports.test_apple_health_parser import HEAD
from tests.workers import start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
# Enough that the import is still running a few seconds after its first progress write
# (once a second), when the test kills its worker: ~6 s of import on this machine.
RECORDS = 1_000_000


def write_export(path):
    """RECORDS minutes of heart rate from one watch, zipped."""
    line = (
        ' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" '
        'unit="count/min" startDate="{t}" endDate="{t}" value="{v}"/>\n'
    )
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("apple_health_export/export.xml", "w", force_zip64=True) as out,
    ):
        out.write(HEAD.encode())
        start = timezone.datetime(2023, 1, 1)
        chunk = []
        for minute in range(RECORDS):
            moment = start + timedelta(minutes=minute)
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S -0800")
            chunk.append(line.format(t=stamp, v=60 + minute % 50))
            if len(chunk) == 10_000:
                out.write("".join(chunk).encode())
                chunk = []
        out.write(("".join(chunk) + "</HealthData>\n").encode())


@pytest.fixture
def real_broker():
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def fresh_heartbeat(since):
    def beat():
        return WorkerHeartbeat.objects.filter(last_seen__gt=since).exists()

    return beat


def test_a_worker_killed_mid_import_loses_nothing(user, tmp_path, settings, real_broker):
    media = tmp_path / "media"
    (media / "imports").mkdir(parents=True)
    settings.MEDIA_ROOT = str(media)
    write_export(media / "imports" / "big.zip")
    job = ImportJob.objects.create(user=user, kind="apple_health", file_path="imports/big.zip")
    log = tmp_path / "worker.log"

    first = start_worker(log, MEDIA_ROOT=str(media))
    try:
        wait_for(fresh_heartbeat(job.created_at), timeout=60)
        run_import_task.delay(job.id)

        def importing():
            job.refresh_from_db()
            return job.status == "running" and job.records_processed > 20_000

        wait_for(importing, timeout=60, interval=0.05)
    finally:
        stop_worker(first, kill=True)  # kill -9, the whole worker
    job.refresh_from_db()
    partial = Sample.objects.count()
    assert job.status == "running"
    assert partial < RECORDS

    started = timezone.now()
    second = start_worker(log, MEDIA_ROOT=str(media))
    try:
        wait_for(fresh_heartbeat(started), timeout=60)
        assert import_jobs_recover(now=timezone.now() + timedelta(minutes=10)) == [job.id]

        def finished():
            job.refresh_from_db()
            return job.status not in ("queued", "running")

        wait_for(finished, timeout=240, interval=0.5)
    finally:
        stop_worker(second)
    assert job.status == "succeeded", job.error
    assert job.attempts == 2
    assert Sample.objects.count() == RECORDS
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == RECORDS
    report = job.counts["samples"]
    assert report["created"] + report["unchanged"] == RECORDS
    assert report["unchanged"] >= partial  # what the first worker committed was kept
