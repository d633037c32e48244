from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from metrics.catalog import BY_KEY
from metrics.models import DailyRollup, Sample, SleepSession, Workout
from metrics.schemas import RouteJSON, SleepSessionIn, SourceRef, StageIn, WorkoutIn
from metrics.services import sleep_sessions_ingest, workouts_ingest

pytestmark = pytest.mark.django_db
OURA = SourceRef("oura", "Oura Ring", "Gen3")
WATCH = SourceRef("apple_health", "Apple Watch")
BED = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 23:00 on March 1 in Los Angeles


def night(score=82.0):
    def at(minutes):
        return BED + timedelta(minutes=minutes)

    return SleepSessionIn(
        source=OURA,
        start=at(0),
        end=at(480),
        utc_offset=-480,
        score=score,
        latency_minutes=10,
        stages=(
            StageIn("awake", at(0), at(10)),
            StageIn("light", at(10), at(130)),
            StageIn("deep", at(130), at(220)),
            StageIn("rem", at(220), at(330)),
            StageIn("light", at(330), at(460)),
            StageIn("awake", at(460), at(480)),
        ),
    )


def test_a_sleep_session_is_stored_with_stages_and_nightly_metrics(user):
    result = sleep_sessions_ingest(user=user, sessions=[night()])
    assert (result.created, result.rejected) == (1, 0)
    session = SleepSession.objects.get()
    assert session.stages.count() == 6
    assert (session.asleep_minutes, session.in_bed_minutes) == (450, 480)
    values = {s.metric_key: s.value for s in Sample.objects.all()}
    assert values == {
        "sleep_in_bed": 480,
        "sleep_asleep": 450,
        "sleep_deep": 90,
        "sleep_rem": 110,
        "sleep_light": 250,
        "sleep_awake": 30,
        "sleep_efficiency": 93.75,
        "sleep_latency": 10,
        "sleep_score": 82,
    }
    # The night counts on the morning one wakes up (March 2, local).
    assert DailyRollup.objects.get(metric=BY_KEY["sleep_asleep"].id).day.isoformat() == (
        "2026-03-02"
    )


def test_a_night_asleep_throughout_is_100_percent_efficient(user):
    # Its stages' minutes (floats) add up to a hair more than the night's own length.
    def at(seconds):
        return BED + timedelta(seconds=seconds)

    whole = SleepSessionIn(
        source=WATCH,
        start=at(0),
        end=at(3234),
        stages=(
            StageIn("light", at(0), at(1000)),
            StageIn("deep", at(1000), at(2000)),
            StageIn("rem", at(2000), at(3234)),
        ),
    )
    assert sleep_sessions_ingest(user=user, sessions=[whole]).rejected == 0
    assert Sample.objects.get(metric=BY_KEY["sleep_efficiency"].id).value == 100


def test_sleep_ingestion_is_idempotent_and_applies_revisions(user):
    sleep_sessions_ingest(user=user, sessions=[night()])
    again = sleep_sessions_ingest(user=user, sessions=[night()])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    revised = sleep_sessions_ingest(user=user, sessions=[night(score=85)])
    assert revised.updated == 1
    assert SleepSession.objects.get().score == 85
    assert Sample.objects.get(metric=BY_KEY["sleep_score"].id).value == 85
    assert SleepSession.objects.get().stages.count() == 6


def test_bad_sleep_sessions_are_rejected(user):
    bad = SleepSessionIn(source=OURA, start=BED, end=BED - timedelta(hours=1))
    unknown = SleepSessionIn(
        source=OURA,
        start=BED,
        end=BED + timedelta(hours=1),
        stages=(StageIn("dreaming", BED, BED + timedelta(hours=1)),),
    )
    result = sleep_sessions_ingest(user=user, sessions=[bad, unknown, night()])
    assert result.created == 1
    assert dict(result.reasons) == {"inverted_interval": 1, "unknown_stage": 1}


def test_workouts_upsert_on_source_and_start(user):
    run = WorkoutIn(
        source=WATCH,
        activity_type="running",
        start=BED,
        end=BED + timedelta(minutes=45),
        utc_offset=-480,
        distance_m=8000,
        energy_kcal=540,
        heart_rate_avg=150,
        heart_rate_max=176,
        route=[["2026-03-02T07:00:00Z", 37.77, -122.42, 10.0]],
    )
    assert workouts_ingest(user=user, workouts=[run]).created == 1
    assert workouts_ingest(user=user, workouts=[run]).unchanged == 1
    longer = replace(run, end=BED + timedelta(minutes=50), distance_m=8800)
    assert workouts_ingest(user=user, workouts=[longer]).updated == 1
    workout = Workout.objects.get()
    assert workout.duration_seconds == 3000
    assert workout.distance_m == 8800
    odd = WorkoutIn(source=WATCH, activity_type="underwater_chess", start=BED, end=BED)
    assert dict(workouts_ingest(user=user, workouts=[odd]).reasons) == {"unknown_activity": 1}


def test_a_route_given_as_its_json_text_is_stored_as_those_points(user):
    points = [
        ["2026-03-02T07:00:00Z", 37.77, -122.42, 10.0],
        ["2026-03-02T07:00:02Z", 37.8, -122.4, None],
    ]
    text = RouteJSON(
        '[["2026-03-02T07:00:00Z",37.770000,-122.42,10.0],'
        '["2026-03-02T07:00:02Z",37.8,-122.4,null]]'
    )
    run = WorkoutIn(source=WATCH, activity_type="running", start=BED, end=BED, route=text)
    assert workouts_ingest(user=user, workouts=[run]).created == 1
    assert Workout.objects.get().route == points
    # The same points, as text or as a list: unchanged; other points: updated.
    assert workouts_ingest(user=user, workouts=[run]).unchanged == 1
    assert workouts_ingest(user=user, workouts=[replace(run, route=points)]).unchanged == 1
    moved = RouteJSON(text.replace("37.8,", "37.9,"))
    assert workouts_ingest(user=user, workouts=[replace(run, route=moved)]).updated == 1
    assert Workout.objects.get().route[1][1] == 37.9


def test_the_same_night_twice_in_one_call_is_stored_once(user):
    result = sleep_sessions_ingest(user=user, sessions=[night(80), night(81)])
    assert (result.created, result.updated) == (1, 1)
    assert SleepSession.objects.get().score == 81
