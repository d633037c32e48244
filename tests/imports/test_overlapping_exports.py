"""An older export and a newer one that overlaps it (what a user uploads a few weeks
apart): importing the older, then the newer, adds exactly the rows that are new; importing
either again adds nothing.

The newer export comes from the project's generator; the older one is that export as the
phone would have written it earlier: every top-level element that starts before a
cut-off (a local noon, so no night or workout is cut in two) and the same route files.
"""

import re
import zipfile
from datetime import UTC, date, datetime

import pytest

from imports.apple_health.generator import MEMBER_XML, generate_export
from imports.apple_health.parser import parse_apple_date
from imports.models import ImportJob
from imports.services import apple_health_import
from metrics.models import Sample, SleepSession, Workout

pytestmark = pytest.mark.django_db

END = date(2024, 3, 31)
CUT_DAY = "2024-03-22"
CUT = datetime(2024, 3, 22, 19, tzinfo=UTC)  # noon in California (PDT)
_START = re.compile(rb'(?:startDate|dateComponents)="([^"]+)"')


def _older_lines(stream):
    keep = True
    for line in stream:
        if line.startswith(b" <") and not line.startswith(b" </"):
            found = _START.search(line)
            if found is None:  # ExportDate, Me
                keep = True
            elif b"dateComponents" in found.group(0):  # ActivitySummary: its local day
                keep = found.group(1).decode() < CUT_DAY
            else:
                keep = parse_apple_date(found.group(1).decode())[0] < CUT
        elif line.startswith(b"</HealthData>"):
            keep = True
        if keep:
            yield line


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("overlap")
    newer, older = folder / "newer.zip", folder / "older.zip"
    generate_export(newer, days=24, end=END, watch_hr_every_minutes=20)
    with zipfile.ZipFile(newer) as source, zipfile.ZipFile(older, "w") as target:
        for info in source.infolist():
            with source.open(info) as member, target.open(info, "w") as out:
                if info.filename == MEMBER_XML:
                    for line in _older_lines(member):
                        out.write(line)
                else:
                    out.write(member.read())
    return older, newer


def rows(user) -> dict[str, int]:
    return {
        "samples": Sample.objects.filter(data_source__user=user).count(),
        "sleep_sessions": SleepSession.objects.filter(data_source__user=user).count(),
        "workouts": Workout.objects.filter(data_source__user=user).count(),
    }


def run(user, path) -> tuple[ImportJob, dict]:
    job = ImportJob.objects.create(user=user, kind=ImportJob.Kind.APPLE_HEALTH)
    return job, apple_health_import(user=user, path=path, job=job)


def test_a_newer_overlapping_export_adds_only_what_is_new(user, other_user, exports):
    older, newer = exports
    _, first = run(user, older)
    before = rows(user)
    assert before["samples"] > 1000 and before["workouts"] > 0
    assert first["routes"]["attached"] > 0

    job, second = run(user, newer)
    after = rows(user)
    # The newer export alone, for someone else, makes the same rows: nothing was lost
    # or written twice by importing it over the older one.
    _, alone = run(other_user, newer)
    assert after == rows(other_user)

    added = {kind: after[kind] - before[kind] for kind in after}
    assert all(n > 0 for n in added.values()), added
    for kind in ("sleep_sessions", "workouts"):
        assert second[kind]["created"] == added[kind]
        assert second[kind]["updated"] == 0
        assert second[kind]["unchanged"] == before[kind]
    assert second["samples"]["updated"] == 0
    # Written samples: the records' own, and those derived from the new nights.
    new_samples = Sample.objects.filter(data_source__user=user, import_job=job)
    assert new_samples.count() == added["samples"]
    assert second["samples"]["created"] + second["sleep_sessions"]["created"] > 0
    cut_midnight = datetime.fromisoformat(f"{CUT_DAY}T00:00:00+00:00")
    assert not new_samples.filter(start__lt=cut_midnight).exists()
    assert second["routes"]["attached"] == alone["routes"]["attached"]

    for path in (older, newer):
        _, again = run(user, path)
        for kind in ("samples", "sleep_sessions", "workouts"):
            assert (again[kind]["created"], again[kind]["updated"]) == (0, 0), (path, kind)
        assert rows(user) == after
