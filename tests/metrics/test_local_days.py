"""A sample's local day comes from its own recorded offset, not from UTC or the home zone."""

from datetime import UTC, datetime, timedelta

import pytest

from metrics.catalog import BY_KEY
from metrics.models import DailyRollup
from metrics.schemas import SampleIn, SourceRef
from metrics.services import local_day, samples_ingest

pytestmark = pytest.mark.django_db
WATCH = SourceRef("apple_health", "Apple Watch")


def days_with_steps(user):
    return {
        r.day.isoformat(): r.sum
        for r in DailyRollup.objects.filter(data_source__user=user, metric=BY_KEY["steps"].id)
    }


def test_a_flight_from_utc_minus_8_to_utc_plus_1(user):
    # Leave San Francisco on March 1 at 18:00 (UTC-8), land in Berlin March 2 at 14:00 (UTC+1).
    before = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 17:30 on March 1 in San Francisco
    after = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 15:00 on March 2 in Berlin
    late_berlin = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 00:30 on March 3 in Berlin
    samples_ingest(
        user=user,
        records=[
            SampleIn("steps", before, before + timedelta(minutes=10), 500, "count", WATCH, -480),
            SampleIn("steps", after, after + timedelta(minutes=10), 700, "count", WATCH, 60),
            SampleIn(
                "steps", late_berlin, late_berlin + timedelta(minutes=10), 90, "count", WATCH, 60
            ),
        ],
    )
    # In UTC all three are on March 2; locally they are three different days.
    assert days_with_steps(user) == {"2026-03-01": 500, "2026-03-02": 700, "2026-03-03": 90}


def test_days_across_the_spring_dst_change(user):
    # Los Angeles springs forward on 2026-03-08 at 02:00 (UTC-8 -> UTC-7).
    late_saturday = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 23:30 on March 7, UTC-8
    sunday_morning = datetime(2026, 3, 8, 10, 30, tzinfo=UTC)  # 03:30 on March 8, UTC-7
    sunday_late = datetime(2026, 3, 9, 6, 45, tzinfo=UTC)  # 23:45 on March 8, UTC-7
    samples_ingest(
        user=user,
        records=[
            SampleIn(
                "steps",
                late_saturday,
                late_saturday + timedelta(minutes=5),
                10,
                "count",
                WATCH,
                -480,
            ),
            SampleIn(
                "steps",
                sunday_morning,
                sunday_morning + timedelta(minutes=5),
                20,
                "count",
                WATCH,
                -420,
            ),
            SampleIn(
                "steps", sunday_late, sunday_late + timedelta(minutes=5), 30, "count", WATCH, -420
            ),
        ],
    )
    assert days_with_steps(user) == {"2026-03-07": 10, "2026-03-08": 50}


def test_sleep_counts_on_the_day_one_wakes_up():
    start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 23:00 on March 1 in LA
    end = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # 06:30 on March 2
    assert local_day(BY_KEY["sleep_asleep"].id, start, end, -480).isoformat() == "2026-03-02"
    assert local_day(BY_KEY["steps"].id, start, end, -480).isoformat() == "2026-03-01"


def test_a_write_refreshes_only_the_days_it_touched(user):
    t = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    samples_ingest(
        user=user,
        records=[
            SampleIn(
                "steps",
                t + timedelta(days=n),
                t + timedelta(days=n, minutes=5),
                100,
                "count",
                WATCH,
                0,
            )
            for n in range(5)
        ],
    )
    before = {r.day: r.pk for r in DailyRollup.objects.all()}
    DailyRollup.objects.filter(day="2026-05-04").update(sum=-1)  # mark an untouched day
    result = samples_ingest(
        user=user,
        records=[
            SampleIn(
                "steps",
                t + timedelta(days=1),
                t + timedelta(days=1, minutes=5),
                150,
                "count",
                WATCH,
                0,
            ),  # changed
            SampleIn(
                "steps",
                t + timedelta(days=2, hours=1),
                t + timedelta(days=2, hours=1, minutes=5),
                40,
                "count",
                WATCH,
                0,
            ),  # new
            SampleIn("steps", t, t + timedelta(minutes=5), 100, "count", WATCH, 0),  # unchanged
        ],
    )
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert result.days_refreshed == 2
    sums = {r.day.isoformat(): r.sum for r in DailyRollup.objects.all()}
    assert sums == {
        "2026-05-01": 100,
        "2026-05-02": 150,
        "2026-05-03": 140,
        "2026-05-04": -1,
        "2026-05-05": 100,
    }
    assert {r.day: r.pk for r in DailyRollup.objects.all()} == before
