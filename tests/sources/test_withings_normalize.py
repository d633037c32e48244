"""Withings normalizers against recorded payloads (pure: no database, no network)."""

import copy
from datetime import UTC, datetime

import pytest

from sources.errors import MalformedPayload
from sources.providers import withings
from tests.fakes.withings import fixture

provider = withings.Withings()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def by_metric(samples, origin=None) -> dict:
    found = {}
    for s in samples:
        if origin is None or s.source.origin == origin:
            assert s.metric not in found, f"{s.metric} twice"
            found[s.metric] = s
    return found


def test_it_scales_measures_by_their_power_of_ten():
    out = provider.normalize("measures", fixture("getmeas_page1.json"))
    scale = by_metric(out.samples, "Body Cardio")
    assert scale["body_mass"].value == 75.232
    assert scale["body_fat_percentage"].value == 21.45
    assert scale["lean_body_mass"].value == 59.095
    assert scale["muscle_mass"].value == 56.13
    assert scale["bone_mass"].value == 2.965
    assert scale["heart_rate"].value == 64
    assert (scale["body_mass"].unit, scale["heart_rate"].unit) == ("kg", "/min")


def test_it_computes_body_water_from_hydration_and_the_groups_weight():
    out = provider.normalize("measures", fixture("getmeas_page1.json"))
    water = by_metric(out.samples, "Body Cardio")["body_water_percentage"]
    assert water.value == pytest.approx(41.38 / 75.232 * 100)  # 55.00 %
    assert water.unit == "%"


def test_it_skips_hydration_without_a_weight_in_the_group():
    out = provider.normalize("measures", fixture("getmeas_page2.json"))
    assert not [s for s in out.samples if s.metric == "body_water_percentage"]
    assert not [
        s for s in out.samples if s.source.origin == "Manual entry" and s.metric != "height"
    ]


def test_it_skips_unknown_types_objectives_and_ambiguous_weigh_ins():
    out = provider.normalize("measures", fixture("getmeas_page1.json"))
    weights = sorted(s.value for s in out.samples if s.metric == "body_mass")
    assert weights == [75.232]  # not 92.1 (attrib 1) nor 70 (category 2 objective)
    assert len(out.samples) == 7 + 3  # scale: 6 mapped + water; BPM: 3; fat mass, PWV dropped


def test_it_reads_blood_pressure_with_time_and_offset():
    out = provider.normalize("measures", fixture("getmeas_page1.json"))
    bpm = by_metric(out.samples, "BPM Connect")
    assert bpm["blood_pressure_systolic"].value == 126
    assert bpm["blood_pressure_diastolic"].value == 81
    assert bpm["heart_rate"].value == 69
    reading = bpm["blood_pressure_systolic"]
    assert reading.start == reading.end == at(2026, 1, 5, 11, 0)
    assert reading.start.tzinfo is UTC
    assert reading.utc_offset == 60  # Europe/Paris in January
    assert reading.unit == "mm[Hg]"


def test_it_reads_height_in_metres_from_a_manual_entry_in_summer_time():
    out = provider.normalize("measures", fixture("getmeas_page2.json"))
    height = by_metric(out.samples, "Manual entry")["height"]
    assert (height.value, height.unit) == (1.78, "m")  # the ingestion service makes it cm
    assert height.utc_offset == 120


def test_it_prefers_body_temperature_over_temperature_in_one_group():
    out = provider.normalize("measures", fixture("getmeas_page2.json"))
    thermo = by_metric(out.samples, "Thermo")
    assert thermo["body_temperature"].value == 37.12
    assert thermo["skin_temperature"].value == 34.05
    assert thermo["body_temperature"].unit == "Cel"


def test_it_reads_spo2_vo2max_and_unit_variants():
    out = provider.normalize("measures", fixture("getmeas_page2.json"))
    watch = by_metric(out.samples, "ScanWatch")
    assert watch["oxygen_saturation"].value == 97
    assert watch["vo2_max"].value == 42.1
    body_plus = by_metric(out.samples, "Body+")  # model null: named from modelid 13
    assert body_plus["body_mass"].value == 74.9  # 749 x 10^-1


def test_it_turns_a_day_of_activity_into_daily_samples():
    out = provider.normalize("activity", fixture("getactivity.json"))
    day = by_metric([s for s in out.samples if s.start.month == 1], "ScanWatch")
    assert day["steps"].value == 8412
    assert day["distance_walking_running"].value == 6234.5
    assert day["flights_climbed"].value == 7
    assert day["active_energy"].value == 412.5
    assert day["basal_energy"].value == pytest.approx(2301.25 - 412.5)
    assert (day["exercise_minutes"].value, day["exercise_minutes"].unit) == (2100, "s")
    # The local day Jan 5 in Paris (UTC+1).
    assert day["steps"].start == at(2026, 1, 4, 23, 0)
    assert day["steps"].end == at(2026, 1, 5, 23, 0)
    assert day["steps"].utc_offset == 60


def test_it_leaves_out_nulls_in_activity():
    out = provider.normalize("activity", fixture("getactivity.json"))
    phone = by_metric(out.samples, "GoogleFit tracker")
    assert set(phone) == {"steps", "distance_walking_running", "flights_climbed", "active_energy"}
    assert phone["active_energy"].value == 85.497


def test_a_day_of_activity_on_the_dst_change_lasts_23_hours():
    out = provider.normalize("activity", fixture("getactivity.json"))
    steps = [s for s in out.samples if s.metric == "steps" and s.value == 5000]
    assert len(steps) == 1
    assert steps[0].start == at(2026, 3, 28, 23, 0)
    assert steps[0].end == at(2026, 3, 29, 22, 0)


def test_it_makes_a_sleep_session_with_score_latency_and_stage_totals():
    out = provider.normalize("sleep", fixture("getsummary.json"))
    night = next(s for s in out.sleep if s.external_id == "2412345678")
    assert (night.start, night.end) == (at(2026, 1, 4, 23, 0), at(2026, 1, 5, 7, 0))
    assert night.score == 82
    assert night.latency_minutes == 15
    assert night.utc_offset == 60
    assert night.source.origin == "ScanWatch"
    assert night.stages == ()  # getsummary has totals, not intervals
    totals = {s.metric: (s.value, s.unit) for s in out.samples if s.source == night.source}
    assert totals["sleep_asleep"] == (25200, "s")
    assert totals["sleep_deep"] == (5400, "s")
    assert totals["sleep_light"] == (12600, "s")
    assert totals["sleep_rem"] == (7200, "s")
    assert totals["sleep_awake"] == (3600, "s")
    assert totals["sleep_efficiency"] == (0.875, "1")
    assert totals["respiratory_rate"] == (14, "/min")


def test_an_unscored_night_has_no_score_and_an_external_night_only_time_asleep():
    out = provider.normalize("sleep", fixture("getsummary.json"))
    nights = {s.external_id: s for s in out.sleep}
    assert nights["2412345999"].score is None
    assert nights["2412345999"].source.origin == "Aura Sensor V2"
    external = nights["2412346100"]
    assert external.utc_offset == -300  # America/New_York
    metrics = {s.metric: s.value for s in out.samples if s.source == external.source}
    assert metrics == {"sleep_asleep": 24000}


def test_it_skips_a_night_still_in_progress():
    out = provider.normalize("sleep", fixture("getsummary.json"))
    assert "2412346200" not in {s.external_id for s in out.sleep}
    assert len(out.sleep) == 3


def test_it_maps_workouts_with_energy_distance_and_heart_rate():
    out = provider.normalize("workouts", fixture("getworkouts.json"))
    runs = {w.external_id: w for w in out.workouts}
    run = runs["3661300001"]
    assert run.activity_type == "running"
    assert (run.start, run.end) == (at(2026, 1, 5, 15, 0), at(2026, 1, 5, 15, 45))
    assert (run.energy_kcal, run.distance_m) == (512, 8450)
    assert (run.heart_rate_avg, run.heart_rate_max) == (152, 178)
    assert run.utc_offset == 60
    assert run.source.origin == "ScanWatch"


def test_zero_heart_rate_and_missing_swim_distance_are_unknown():
    out = provider.normalize("workouts", fixture("getworkouts.json"))
    runs = {w.external_id: w for w in out.workouts}
    walk, swim = runs["3661300277"], runs["3661300350"]
    assert (walk.activity_type, walk.heart_rate_avg, walk.heart_rate_max) == ("walking", None, None)
    assert walk.source.origin == "GoogleFit tracker"
    assert walk.utc_offset == 120  # Amsterdam in August
    assert (swim.activity_type, swim.distance_m, swim.energy_kcal) == ("swimming", None, 320)


def test_no_activity_is_skipped_and_unknown_categories_are_other_with_manual_values():
    out = provider.normalize("workouts", fixture("getworkouts.json"))
    runs = {w.external_id: w for w in out.workouts}
    assert "3661300400" not in runs
    other = runs["3661300500"]
    assert (other.activity_type, other.energy_kcal, other.distance_m) == ("other", 250, 5000)
    assert other.source.origin == "Withings"


# --- malformed pages are rejected whole -------------------------------------------------


def broken(name: str, change) -> dict:
    page = copy.deepcopy(fixture(name))
    change(page)
    return page


@pytest.mark.parametrize(
    ("data_type", "name", "change"),
    [
        ("measures", "getmeas_page1.json", lambda p: p.update(status=401)),
        ("measures", "getmeas_page1.json", lambda p: p.pop("body")),
        ("measures", "getmeas_page1.json", lambda p: p["body"].update(measuregrps={})),
        (
            "measures",
            "getmeas_page1.json",
            lambda p: p["body"]["measuregrps"][1]["measures"][0].update(value="81"),
        ),
        ("measures", "getmeas_page1.json", lambda p: p["body"]["measuregrps"][3].pop("date")),
        (
            "measures",
            "getmeas_page1.json",
            lambda p: p["body"]["measuregrps"][0].update(category=9),
        ),
        ("activity", "getactivity.json", lambda p: p["body"]["activities"][1].update(steps="1209")),
        (
            "activity",
            "getactivity.json",
            lambda p: p["body"]["activities"][0].update(date="5/1/26"),
        ),
        ("activity", "getactivity.json", lambda p: p["body"]["activities"][0].update(steps=-1)),
        (
            "sleep",
            "getsummary.json",
            lambda p: p["body"]["series"][0]["data"].update(sleep_efficiency=87),
        ),
        ("sleep", "getsummary.json", lambda p: p["body"]["series"][1].update(enddate=1)),
        ("sleep", "getsummary.json", lambda p: p["body"]["series"][3].update(completed="no")),
        ("workouts", "getworkouts.json", lambda p: p["body"]["series"][0].update(startdate=None)),
        (
            "workouts",
            "getworkouts.json",
            lambda p: p["body"]["series"][2]["data"].update(calories=True),
        ),
    ],
)
def test_it_rejects_malformed_pages_whole(data_type, name, change):
    with pytest.raises(MalformedPayload) as caught:
        provider.normalize(data_type, broken(name, change))
    # Messages name fields, never values.
    assert "1209" not in str(caught.value) and "81" not in str(caught.value)


def test_an_unknown_time_zone_leaves_the_offset_to_the_users_home_zone():
    page = broken("getmeas_page1.json", lambda p: p["body"].update(timezone="Mars/Olympus"))
    out = provider.normalize("measures", page)
    assert {s.utc_offset for s in out.samples} == {None}
