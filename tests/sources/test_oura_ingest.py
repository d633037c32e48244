"""Oura's normalized records through the real ingestion service (units, days)."""

from datetime import date

import pytest

from metrics.catalog import BY_KEY
from metrics.models import DailyRollup, SleepSession
from metrics.services.ingest import samples_ingest, sleep_sessions_ingest
from tests.sources.oura_support import OURA, payload

pytestmark = pytest.mark.django_db


def rollup(metric: str, day: date) -> float:
    return DailyRollup.objects.get(metric=BY_KEY[metric].id, day=day).sum


def test_a_night_is_stored_with_its_stage_minutes_on_the_wake_up_day(user):
    out = OURA.normalize("sleep", payload("sleep"))
    result = sleep_sessions_ingest(user=user, sessions=out.sleep)
    assert result.created == 2 and result.rejected == 0
    night = SleepSession.objects.get(external_id="c5a1b8e4-2f63-4d0b-9a39-0e8f52b8a001")
    assert (night.asleep_minutes, night.in_bed_minutes) == (435, 470)
    assert rollup("sleep_deep", date(2024, 1, 15)) == 80  # the nap that day had none


def test_daily_stress_seconds_are_stored_as_minutes(user):
    out = OURA.normalize("daily_stress", payload("daily_stress"))
    assert samples_ingest(user=user, records=out.samples).rejected == 0
    assert rollup("stress_high_time", date(2024, 1, 15)) == 90
    assert rollup("recovery_high_time", date(2024, 1, 15)) == 60


def test_every_recorded_sample_passes_the_ingestion_checks(user):
    for name in (
        "daily_activity",
        "daily_sleep",
        "daily_readiness",
        "heartrate",
        "daily_spo2",
        "vo2_max",
    ):
        out = OURA.normalize(name, payload(name))
        result = samples_ingest(user=user, records=out.samples)
        assert result.rejected == 0, (name, result.examples)
