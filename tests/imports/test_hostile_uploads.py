"""Hostile or broken uploads, end to end through the upload and the job: each refused
with a clear error, and not one row written. (test_jobs.py covers a non-zip file, a
junk zip, a path-traversal member and a zip bomb by ratio at upload.)"""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import access_token_create
from imports.models import ImportJob
from metrics.models import DataSource, Sample, SleepSession, Workout
from tests.imports.test_apple_health_parser import rec
from tests.imports.test_jobs import GOOD, zipped

pytestmark = pytest.mark.django_db

RECORDS = rec("StepCount", "count", 1000, "2024-03-01 08:00:00 -0800").encode()


def _laughs() -> bytes:
    """Nine levels of ten: a billion "lol"s if anything expanded them."""
    lines, previous = [b'<!ENTITY lol "lol">\n'], b"lol"
    for level in range(1, 10):
        lines.append(b'<!ENTITY lol%d "%s">\n' % (level, b"&%s;" % previous * 10))
        previous = b"lol%d" % level
    return b"".join(lines)


BILLION_LAUGHS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n'
    + _laughs()
    + b']>\n<HealthData locale="en_US">\n'
    b' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="&lol9;" unit="count" '
    b'value="1" startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:00 -0800"/>\n'
    + RECORDS
    + b"</HealthData>\n"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n'
    b'<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<HealthData locale="en_US">\n'
    b' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="&xxe;" unit="count" '
    b'value="1" startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:00 -0800"/>\n'
    + RECORDS
    + b"</HealthData>\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def nothing_written() -> bool:
    return not (
        Sample.objects.exists()
        or SleepSession.objects.exists()
        or Workout.objects.exists()
        or DataSource.objects.exists()
    )


def upload(client, data: bytes, name: str, callbacks):
    with callbacks(execute=True):
        return client.post("/imports/", {"file": SimpleUploadedFile(name, data)})


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (zipped({"apple_health_export/export.xml": BILLION_LAUGHS}), "export.zip"),
        (BILLION_LAUGHS, "export.xml"),
        (zipped({"apple_health_export/export.xml": EXTERNAL_ENTITY}), "export.zip"),
        (EXTERNAL_ENTITY, "export.xml"),
    ],
    ids=["billion-laughs-zip", "billion-laughs-xml", "external-entity-zip", "external-entity-xml"],
)
def test_xml_bombs_and_external_entities_fail_the_job_with_nothing_written(
    user_client, user, data, name, django_capture_on_commit_callbacks
):
    response = upload(user_client, data, name, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get(user=user)
    assert job.status == ImportJob.Status.FAILED
    assert "declares XML entities" in job.error
    assert nothing_written()
    page = user_client.get(response["Location"]).content.decode()
    assert "declares XML entities" in page
    assert "root:" not in page  # /etc/passwd was never read


def test_a_truncated_zip_is_refused_at_upload(user_client, django_capture_on_commit_callbacks):
    whole = zipped(GOOD)
    response = upload(
        user_client, whole[: len(whole) // 2], "export.zip", django_capture_on_commit_callbacks
    )
    assert b"The zip is damaged" in user_client.get(response["Location"]).content
    assert not ImportJob.objects.exists()
    assert nothing_written()


def test_a_zip_whose_export_is_cut_short_fails_the_job_cleanly(
    user_client, user, django_capture_on_commit_callbacks
):
    # The central directory is intact, export.xml's data is not: found when it is read.
    whole = bytearray(zipped(GOOD))
    start = whole.index(b"PK\x03\x04") + 30 + len("apple_health_export/export.xml")
    whole[start + 10 : start + 60] = b"\x00" * 50
    upload(user_client, bytes(whole), "export.zip", django_capture_on_commit_callbacks)
    job = ImportJob.objects.get(user=user)
    assert job.status == ImportJob.Status.FAILED
    assert job.error
    assert nothing_written()


def test_a_symbolic_link_member_is_refused(user_client, django_capture_on_commit_callbacks):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("apple_health_export/export.xml", GOOD["apple_health_export/export.xml"])
        link = zipfile.ZipInfo("apple_health_export/workout-routes/r.gpx")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    response = upload(
        user_client, buffer.getvalue(), "export.zip", django_capture_on_commit_callbacks
    )
    assert b"symbolic link in the archive" in user_client.get(response["Location"]).content
    assert not ImportJob.objects.exists()
    assert nothing_written()


def test_the_api_refuses_a_non_export_with_its_reason(client, user):
    raw = access_token_create(user=user, name="t", scope="write").raw
    response = client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("notes.txt", b"just some notes")},
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 400
    assert "neither an export.zip nor an export.xml" in response.content.decode()
    assert not ImportJob.objects.exists()
