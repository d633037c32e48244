"""WHOOP recorded payloads -> normalized records, values checked by hand."""

from datetime import UTC, datetime

import pytest

from metrics.schemas import SourceRef
from metrics.units import convert
from sources.providers.whoop import parse_offset
from tests.sources.whoop_support import WHOOP, payload

STRAP = SourceRef(kind="whoop", origin="WHOOP strap")


def by_metric(samples):
    return {sample.metric: sample for sample in samples}


def test_a_closed_scored_cycle_gives_strain_energy_and_heart_rate():
    samples = by_metric(WHOOP.normalize("cycle", payload("cycle_page1")).samples)
    assert set(samples) == {"strain", "active_energy", "heart_rate"}
    energy = samples["active_energy"]
    assert (energy.value, energy.unit) == (10460.0, "kJ")
    assert convert(energy.value, energy.unit, "kcal") == pytest.approx(2500.0)
    assert energy.start == datetime(2026, 3, 10, 4, 12, 3, 100000, tzinfo=UTC)
    assert energy.end == datetime(2026, 3, 11, 3, 58, 41, 500000, tzinfo=UTC)
    assert energy.utc_offset == -300
    assert energy.source == STRAP
    assert samples["strain"].value == pytest.approx(12.7355)
    assert (samples["heart_rate"].value, samples["heart_rate"].unit) == (68.0, "/min")


def test_the_current_cycle_without_an_end_gives_nothing_yet():
    samples = WHOOP.normalize("cycle", payload("cycle_page1")).samples
    current_start = datetime(2026, 3, 11, 3, 58, 41, 500000, tzinfo=UTC)
    assert not [sample for sample in samples if sample.start == current_start]
    assert len(samples) == 3


def test_pending_and_unscorable_cycles_give_nothing():
    assert len(WHOOP.normalize("cycle", payload("cycle_page2"))) == 0


def test_recovery_gives_five_values_at_its_creation_time():
    samples = WHOOP.normalize("recovery", payload("recovery")).samples
    first = by_metric(samples[:5])
    at = datetime(2026, 3, 10, 11, 25, 44, 774000, tzinfo=UTC)
    assert {(s.start, s.end, s.utc_offset) for s in first.values()} == {(at, at, None)}
    assert (first["recovery_score"].value, first["recovery_score"].unit) == (44.0, "%")
    assert (first["resting_heart_rate"].value, first["resting_heart_rate"].unit) == (64.0, "/min")
    assert (first["hrv_rmssd"].value, first["hrv_rmssd"].unit) == (31.813562, "ms")
    assert first["oxygen_saturation"].value == 95.6875
    assert (first["skin_temperature"].value, first["skin_temperature"].unit) == (33.7, "Cel")


def test_recovery_without_spo2_or_skin_temperature_and_pending_recovery():
    samples = WHOOP.normalize("recovery", payload("recovery")).samples
    assert len(samples) == 8  # 5 (WHOOP 4.0) + 3 (null SpO2, no skin temp) + 0 (pending)
    older = by_metric(samples[5:])
    assert set(older) == {"recovery_score", "resting_heart_rate", "hrv_rmssd"}
    assert older["recovery_score"].value == 67.0


def test_a_scored_night_is_a_session_with_stage_totals_in_minutes():
    result = WHOOP.normalize("sleep", payload("sleep"))
    night = result.sleep[1]
    assert night.external_id == "ecfc6a15-4661-442f-a9a4-f160dd7afae8"
    assert (night.start, night.end) == (
        datetime(2026, 3, 10, 3, 10, tzinfo=UTC),
        datetime(2026, 3, 10, 11, 20, tzinfo=UTC),
    )
    assert (night.utc_offset, night.score, night.nap, night.stages) == (-300, 91.0, False, ())
    minutes = {
        s.metric: convert(s.value, s.unit, "min")
        for s in result.samples
        if s.start == night.start and s.unit == "ms"
    }
    assert minutes == {
        "sleep_asleep": 445.0,
        "sleep_deep": 90.0,
        "sleep_rem": 115.0,
        "sleep_light": 240.0,
        "sleep_awake": 45.0,
    }


def test_a_night_gives_efficiency_and_respiratory_rate_over_the_session():
    samples = WHOOP.normalize("sleep", payload("sleep")).samples
    night = by_metric(s for s in samples if s.start == datetime(2026, 3, 10, 3, 10, tzinfo=UTC))
    assert night["sleep_efficiency"].value == pytest.approx(90.81633)
    rate = night["respiratory_rate"]
    assert (rate.value, rate.unit) == (16.11328125, "/min")
    assert night["respiratory_rate"].end == datetime(2026, 3, 10, 11, 20, tzinfo=UTC)


def test_a_nap_is_flagged_and_has_no_sleep_score():
    nap = WHOOP.normalize("sleep", payload("sleep")).sleep[0]
    assert nap.nap is True
    assert nap.score is None  # its 12 % "performance" is not a night's score


def test_a_pending_sleep_keeps_its_timing_and_offset_but_no_numbers():
    result = WHOOP.normalize("sleep", payload("sleep"))
    pending = result.sleep[2]
    assert pending.utc_offset == 330  # +05:30
    assert pending.score is None
    assert not [s for s in result.samples if s.start == pending.start]
    assert len(result.samples) == 14  # 7 per scored sleep


def test_workouts_map_sport_energy_distance_and_heart_rate():
    run, lifting, bath = WHOOP.normalize("workout", payload("workout")).workouts
    assert run.activity_type == "running"
    assert run.external_id == "3fa4c1d2-8b7e-4a6f-9c5d-2e1f0a9b8c7d"
    assert run.energy_kcal == pytest.approx(500.0)  # 2092 kJ
    assert (run.distance_m, run.heart_rate_avg, run.heart_rate_max) == (8012.5, 152.0, 178.0)
    assert run.elevation_gain_m == pytest.approx(46.6438446)
    assert run.utc_offset == -300
    assert (lifting.activity_type, lifting.energy_kcal) == ("strength_training", pytest.approx(250))
    assert (lifting.distance_m, lifting.elevation_gain_m, lifting.utc_offset) == (None, None, 0)
    assert (bath.activity_type, bath.energy_kcal, bath.heart_rate_avg) == ("other", None, None)
    assert bath.end == datetime(2026, 3, 8, 10, 0, tzinfo=UTC)


def test_body_measurements_are_stamped_with_the_page_date():
    page = {"as_of": "2026-03-11T00:00:00.000Z", "measurement": payload("body")}
    samples = by_metric(WHOOP.normalize("body", page).samples)
    at = datetime(2026, 3, 11, tzinfo=UTC)
    assert convert(samples["height"].value, samples["height"].unit, "cm") == pytest.approx(182.88)
    assert (samples["body_mass"].value, samples["body_mass"].unit) == (90.7185, "kg")
    assert {(s.start, s.end, s.source.origin) for s in samples.values()} == {(at, at, "WHOOP app")}


def test_no_body_measurement_yet_gives_nothing():
    page = {"as_of": "2026-03-11T00:00:00.000Z", "measurement": None}
    assert len(WHOOP.normalize("body", page)) == 0


@pytest.mark.parametrize(
    ("designator", "minutes"),
    [("Z", 0), ("+00:00", 0), ("-05:00", -300), ("+05:30", 330), ("+14:00", 840)],
)
def test_time_zone_designators_become_minutes(designator, minutes):
    assert parse_offset(designator) == minutes


@pytest.mark.parametrize("designator", ["", "UTC", "+5:00", "0500", "+25:00", "-05:60"])
def test_other_designators_are_refused(designator):
    with pytest.raises(ValueError):
        parse_offset(designator)
