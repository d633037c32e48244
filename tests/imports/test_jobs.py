"""Uploading an export, running it as a job, its status, cancelling and recovering."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.services import access_token_create
from imports.models import ImportJob
from imports.services import import_jobs_recover
from metrics.models import Sample
from tests.imports.test_apple_health_import import BODY
from tests.imports.test_apple_health_parser import export

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def zipped(entries: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GOOD = {"apple_health_export/export.xml": export(BODY)}


def upload(client, data: bytes, name="export.zip", callbacks=None):
    file = SimpleUploadedFile(name, data, content_type="application/zip")
    if callbacks is None:
        return client.post("/imports/", {"file": file})
    with callbacks(execute=True):
        return client.post("/imports/", {"file": file})


def test_an_uploaded_export_is_imported_and_reported(
    user_client, user, django_capture_on_commit_callbacks
):
    response = upload(user_client, zipped(GOOD), callbacks=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get(user=user)
    assert response["Location"] == f"/imports/{job.id}/"
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.file_path.startswith("imports/") and job.file_path.endswith(".zip")
    assert "export" not in job.file_path  # never the client's name
    assert job.counts["samples"]["created"] == 4
    # 4 records' samples, and the night's derived ones (in bed, asleep, light, efficiency)
    assert Sample.objects.filter(import_job=job).count() == 8
    status = user_client.get(f"/imports/{job.id}/status/").json()
    assert status["status"] == "succeeded"
    assert status["percent"] == 100
    assert status["records_processed"] == 7
    assert status["report"]["parse"]["types"]["HKQuantityTypeIdentifierStepCount"] == 4
    page = user_client.get(f"/imports/{job.id}/")
    assert b"4 new" in page.content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 not an export", b"neither an export.zip nor an export.xml"),
        (b"PK\x03\x04 truncated zip", b"The zip is damaged"),
        (zipped({"../../etc/passwd": b"x", **GOOD}), b"unsafe path in the archive"),
        (zipped({"apple_health_export/export.xml": b"0" * 3_000_000}), b"inflates more than"),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_error_and_nothing_written(user_client, data, message):
    response = upload(user_client, data)
    assert response.status_code == 302
    page = user_client.get(response["Location"])
    assert message in page.content
    assert not ImportJob.objects.exists()
    assert not Sample.objects.exists()


def test_uploads_above_the_limit_are_refused(user_client, settings):
    settings.IMPORT_MAX_ZIP_BYTES = 100
    response = upload(user_client, zipped(GOOD))
    page = user_client.get(response["Location"])
    assert b"larger than" in page.content or b"No file arrived" in page.content
    assert not ImportJob.objects.exists()


def test_one_import_at_a_time(user_client, user):
    ImportJob.objects.create(user=user, kind="apple_health", status="running")
    response = upload(user_client, zipped(GOOD))
    assert b"already running" in user_client.get(response["Location"]).content


def test_a_queued_import_can_be_cancelled(user_client, user):
    job = ImportJob.objects.create(user=user, kind="apple_health")
    user_client.post(f"/imports/{job.id}/cancel/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED


def test_an_import_whose_worker_died_is_run_again(user, tmp_path, settings):
    path = tmp_path / "media" / "imports" / "dead.zip"
    path.parent.mkdir(parents=True)
    path.write_bytes(zipped(GOOD))
    job = ImportJob.objects.create(
        user=user,
        kind="apple_health",
        status="running",
        file_path="imports/dead.zip",
        heartbeat_at=timezone.now() - timedelta(minutes=10),
        attempts=1,
    )
    assert import_jobs_recover() == [job.id]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.attempts == 2
    assert Sample.objects.count() == 8


def test_imports_are_owner_only(user_client, other_user):
    theirs = ImportJob.objects.create(user=other_user, kind="apple_health")
    for url in (f"/imports/{theirs.id}/", f"/imports/{theirs.id}/status/"):
        assert user_client.get(url).status_code == 404
    assert user_client.post(f"/imports/{theirs.id}/cancel/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == ImportJob.Status.QUEUED


def test_the_api_accepts_an_upload_and_reports_status(
    client, user, django_capture_on_commit_callbacks
):
    raw = access_token_create(user=user, name="t", scope="write").raw
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports/",
            {"file": SimpleUploadedFile("export.zip", zipped(GOOD))},
            **auth,
        )
    assert response.status_code == 202
    job_id = response.json()["id"]
    body = client.get(f"/api/v1/imports/{job_id}/", **auth).json()
    assert body["status"] == "succeeded"
    assert body["report"]["samples"]["created"] == 4
    assert [j["id"] for j in client.get("/api/v1/imports/", **auth).json()] == [job_id]
