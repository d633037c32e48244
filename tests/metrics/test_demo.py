import os
import subprocess
import sys
from datetime import date

import pytest
from django.conf import settings

from metrics.demo import PHONE, WATCH, DemoHistory
from metrics.models import DataSource, Sample, SleepSession, Workout
from metrics.services import demo_history_load

pytestmark = pytest.mark.django_db


def test_the_demo_is_deterministic_and_has_overlapping_sources():
    first = list(DemoHistory(date(2026, 9, 10), date(2026, 9, 14)).samples())
    again = list(DemoHistory(date(2026, 9, 12), date(2026, 9, 14)).samples())
    assert first[-len(again) :] == again  # a day's values do not depend on the range
    steps = [s for s in first if s.metric == "steps"]
    assert {s.source for s in steps} == {WATCH, PHONE}
    # The trip to Berlin starts on September 12: offsets jump from UTC-7 to UTC+2.
    offsets = {s.start.date().isoformat(): s.utc_offset for s in steps}
    assert offsets["2026-09-10"] == -420
    assert offsets["2026-09-13"] == 120


def test_loading_the_demo_twice_adds_nothing(user):
    first = demo_history_load(user=user, first=date(2026, 3, 1), last=date(2026, 3, 10))
    assert first["samples"].created > 3000
    assert first["samples"].rejected == 0
    assert first["sleep"].created == 20  # ring and strap, every night
    assert first["workouts"].created > 0
    counts = (Sample.objects.count(), SleepSession.objects.count(), Workout.objects.count())
    again = demo_history_load(user=user, first=date(2026, 3, 1), last=date(2026, 3, 10))
    assert again["samples"].created == again["samples"].updated == 0
    assert again["sleep"].unchanged == 20
    assert again["workouts"].unchanged == first["workouts"].created
    assert (Sample.objects.count(), SleepSession.objects.count(), Workout.objects.count()) == counts
    kinds = set(DataSource.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds == {"apple_health", "oura", "whoop", "withings", "strava", "myfitnesspal"}


def test_the_embedded_mode_loads_the_demo_on_sqlite(tmp_path):
    """The SQLite path of the ingestion service, end to end, through the commands that
    `make run` uses: a second load changes nothing."""
    env = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": "",
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(tmp_path),
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout

    manage("migrate", "-v0")
    manage("demo_account")
    first = manage("demo_data", "--days", "5")
    assert "0 rejected" in first and " 0 new" not in first.splitlines()[0]
    second = manage("demo_data", "--days", "5")
    assert second.splitlines()[0].startswith("samples: 0 new, 0 updated,")
    assert "sleep: 0 new, 0 updated" in second
