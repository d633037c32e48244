import zipfile

import pytest
from django.core.management import call_command

from imports.services import apple_health_import
from metrics.catalog import BY_KEY
from metrics.models import DataSource, ResolvedDaily, Sample, SleepSession, Workout
from metrics.services import resolved_recompute
from tests.imports.test_apple_health_parser import PHONE, export, rec, sleep

pytestmark = pytest.mark.django_db

WATCH_STEPS = rec(
    "StepCount", "count", 1000, "2024-03-01 08:00:00 -0800", "2024-03-01 09:00:00 -0800"
)
BODY = (
    WATCH_STEPS
    + rec(
        "StepCount",
        "count",
        600,
        "2024-03-01 08:00:00 -0800",
        "2024-03-01 09:00:00 -0800",
        src=PHONE,
    )
    + rec(
        "StepCount",
        "count",
        400,
        "2024-03-01 19:00:00 -0800",
        "2024-03-01 20:00:00 -0800",
        src=PHONE,
    )
    + WATCH_STEPS  # a duplicate, as real exports have
    + rec("BodyMass", "lb", "154.2", "2024-03-02 07:00:00 -0800")
    + sleep("InBed", "2024-03-01 23:00:00 -0800", "2024-03-02 07:00:00 -0800")
    + sleep("AsleepCore", "2024-03-01 23:10:00 -0800", "2024-03-02 06:50:00 -0800")
)


@pytest.fixture
def export_zip(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("apple_health_export/export.xml", export(BODY))
    return path


def test_an_export_is_imported_once_and_reimporting_adds_nothing(user, export_zip):
    first = apple_health_import(user=user, path=export_zip)
    assert first["samples"]["created"] == 4  # the duplicate record counts once
    assert first["sleep_sessions"]["created"] == 1
    assert Sample.objects.filter(metric=BY_KEY["steps"].id).count() == 3
    origins = set(DataSource.objects.filter(user=user).values_list("origin", flat=True))
    assert origins == {"Alice\u2019s Apple Watch", "iPhone"}
    body_mass = Sample.objects.get(metric=BY_KEY["body_mass"].id)
    assert body_mass.value == pytest.approx(69.9437, abs=1e-3)
    # The watch counts first; the phone fills the evening the watch missed.
    steps = ResolvedDaily.objects.get(user=user, metric=BY_KEY["steps"].id, day="2024-03-01")
    assert steps.value == 1400
    stored = Sample.objects.count()
    again = apple_health_import(user=user, path=export_zip)
    assert again["samples"]["created"] == again["samples"]["updated"] == 0
    assert again["sleep_sessions"]["unchanged"] == 1
    assert Sample.objects.count() == stored
    assert SleepSession.objects.count() == 1
    assert Workout.objects.count() == 0


def test_every_day_an_import_changes_is_resolved_its_nights_too(user, tmp_path):
    # Nothing stored before and no record repeated: only the days touched are resolved.
    path = tmp_path / "export.xml"
    path.write_bytes(export(BODY.replace(WATCH_STEPS, "", 1)))
    result = apple_health_import(user=user, path=path)
    assert result["samples"]["unchanged"] == 0

    def resolved() -> set:
        return set(ResolvedDaily.objects.filter(user=user).values_list("metric", "day", "value"))

    written = resolved()
    assert {BY_KEY["sleep_asleep"].id, BY_KEY["steps"].id} <= {m for m, _, _ in written}
    ResolvedDaily.objects.filter(user=user).delete()
    resolved_recompute(user=user)
    assert resolved() == written


def test_the_command_imports_in_the_foreground(user, export_zip, capsys):
    call_command("import_apple_health", str(export_zip), "--user", user.email)
    out = capsys.readouterr().out
    assert "4 new samples" in out
    assert "1 new nights" in out
