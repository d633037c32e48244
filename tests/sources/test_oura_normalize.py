"""Oura normalizers against recorded payloads (pure: no database, no HTTP)."""

from datetime import UTC, datetime, timedelta

from metrics.models import ActivityType
from tests.sources.oura_support import OURA as oura
from tests.sources.oura_support import payload


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def by_metric(samples):
    return {(s.metric, s.start): s for s in samples}


def test_daily_activity_spans_the_oura_day_from_4am_local():
    out = oura.normalize("daily_activity", payload("daily_activity"))
    first = [s for s in out.samples if s.start == utc(2024, 1, 15, 3)]
    values = {s.metric: (s.value, s.unit) for s in first}
    assert values == {
        "steps": (10432, "{steps}"),
        "active_energy": (512, "kcal"),
        "basal_energy": (2580 - 512, "kcal"),
        "distance_walking_running": (9245, "m"),
    }
    assert all(s.end == utc(2024, 1, 16, 3) and s.utc_offset == 60 for s in first)
    assert all(s.source.kind == "oura" and s.source.origin == "Oura Ring" for s in first)


def test_an_unscored_activity_day_still_counts_its_steps():
    out = oura.normalize("daily_activity", payload("daily_activity"))
    today = by_metric(out.samples)[("steps", utc(2024, 1, 16, 3))]
    assert today.value == 2301


def test_sleep_periods_become_sessions_with_5_minute_stages():
    out = oura.normalize("sleep", payload("sleep"))
    night = out.sleep[0]
    assert (night.start, night.end) == (utc(2024, 1, 14, 22, 10), utc(2024, 1, 15, 6))
    assert night.utc_offset == 60 and night.latency_minutes == 15
    assert night.external_id == "c5a1b8e4-2f63-4d0b-9a39-0e8f52b8a001"
    assert len(night.stages) == 13
    first = night.stages[0]
    assert (first.stage, first.start, first.end) == (
        "awake",
        utc(2024, 1, 14, 22, 10),
        utc(2024, 1, 14, 22, 25),
    )
    minutes = {}
    for stage in night.stages:
        minutes[stage.stage] = minutes.get(stage.stage, 0) + (stage.end - stage.start) / timedelta(
            minutes=1
        )
    # The same totals Oura reports in seconds: deep 4800, light 14700, REM 6600, awake 2100.
    assert minutes == {"deep": 80, "light": 245, "rem": 110, "awake": 35}
    assert night.stages[-1].end == night.end


def test_rest_and_deleted_periods_are_skipped():
    out = oura.normalize("sleep", payload("sleep"))
    assert [s.external_id[-3:] for s in out.sleep] == ["001", "002"]


def test_sleep_vitals_average_hrv_is_rmssd_and_lowest_hr_is_resting():
    out = oura.normalize("sleep", payload("sleep"))
    night = {s.metric: s for s in out.samples if s.start == utc(2024, 1, 14, 22, 10)}
    assert (night["hrv_rmssd"].value, night["hrv_rmssd"].unit) == (48, "ms")
    assert "hrv_sdnn" not in night
    assert night["resting_heart_rate"].value == 51
    assert (night["respiratory_rate"].value, night["respiratory_rate"].unit) == (14.625, "/min")
    assert night["hrv_rmssd"].end == utc(2024, 1, 15, 6) and night["hrv_rmssd"].utc_offset == 60


def test_a_night_across_a_dst_change_keeps_real_durations():
    night = oura.normalize("sleep", payload("sleep_dst")).sleep[0]
    assert (night.start, night.end) == (utc(2024, 3, 10, 7, 30), utc(2024, 3, 10, 14))
    assert night.utc_offset == -480
    assert sum((s.end - s.start for s in night.stages), timedelta()) == timedelta(minutes=390)
    assert [s.stage for s in night.stages] == ["light", "deep", "rem"]


def test_an_unprocessed_sleep_period_has_no_stages_and_no_vitals():
    out = oura.normalize("sleep", payload("sleep_pending"))
    assert len(out.sleep) == 1 and out.sleep[0].stages == () and out.samples == []
    assert out.sleep[0].latency_minutes is None


def test_daily_sleep_score_counts_on_the_wake_up_day():
    out = oura.normalize("daily_sleep", payload("daily_sleep"))
    assert len(out.samples) == 1  # the unscored day is skipped
    score = out.samples[0]
    assert (score.metric, score.value, score.unit) == ("sleep_score", 84, "{score}")
    # Oura's sleep day ends at 18:00 local (17:00 UTC at +01:00) on `day`.
    assert (score.start, score.end, score.utc_offset) == (
        utc(2024, 1, 14, 17),
        utc(2024, 1, 15, 17),
        60,
    )


def test_daily_readiness_score_and_temperature_deviation():
    out = oura.normalize("daily_readiness", payload("daily_readiness"))
    values = {s.metric: (s.value, s.unit, s.start, s.end) for s in out.samples}
    day = (utc(2024, 1, 14, 23), utc(2024, 1, 15, 23))
    assert values == {
        "readiness_score": (79, "{score}", *day),
        "skin_temperature_deviation": (-0.23, "Cel", *day),
    }


def test_heart_rate_rows_are_instant_readings_in_utc():
    out = oura.normalize("heartrate", payload("heartrate"))
    assert len(out.samples) == 5
    workout = out.samples[3]
    assert (workout.metric, workout.value, workout.unit) == ("heart_rate", 142, "/min")
    assert workout.start == workout.end == utc(2024, 1, 15, 17, 5)
    assert workout.utc_offset is None


def test_workouts_map_activities_and_keep_calories_and_distance():
    run, ride, other = oura.normalize("workout", payload("workout")).workouts
    assert run.activity_type == ActivityType.RUNNING
    assert (run.start, run.end) == (utc(2024, 1, 15, 17, 2, 10), utc(2024, 1, 15, 17, 31, 40))
    assert (run.distance_m, run.energy_kcal, run.utc_offset) == (5012.3, 402.5, 60)
    assert run.external_id == "a9f0e1d2-c3b4-4a59-8687-7f6e5d4c3b31"
    assert run.source.origin == "Oura Ring"
    assert ride.activity_type == ActivityType.CYCLING and ride.source.origin == "Oura app"
    assert other.activity_type == ActivityType.OTHER
    assert (other.distance_m, other.energy_kcal) == (None, None)


def test_daily_spo2_average_lands_on_its_date():
    out = oura.normalize("daily_spo2", payload("daily_spo2"))
    assert len(out.samples) == 1
    spo2 = out.samples[0]
    assert (spo2.metric, spo2.value, spo2.unit) == ("oxygen_saturation", 96.482, "%")
    assert (spo2.start, spo2.end, spo2.utc_offset) == (utc(2024, 1, 15), utc(2024, 1, 16), 0)


def test_daily_stress_times_in_seconds():
    out = oura.normalize("daily_stress", payload("daily_stress"))
    values = {s.metric: (s.value, s.unit) for s in out.samples}
    assert values == {"stress_high_time": (5400, "s"), "recovery_high_time": (3600, "s")}


def test_vo2_max():
    (sample,) = oura.normalize("vo2_max", payload("vo2_max")).samples
    assert (sample.metric, sample.value, sample.unit) == ("vo2_max", 42, "mL/(kg.min)")
    assert (sample.start, sample.utc_offset) == (utc(2024, 1, 14, 23), 60)


def test_every_metric_produced_is_declared_by_its_data_type():
    for kind in oura.data_types:
        names = [kind.name] if kind.name != "sleep" else ["sleep", "sleep_dst"]
        for name in names:
            out = oura.normalize(kind.name, payload(name))
            assert {s.metric for s in out.samples} <= set(kind.metrics), kind.name
