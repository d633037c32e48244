"""Pages that are not what Oura documents are rejected whole."""

import copy

import pytest

from sources.errors import MalformedPayload
from tests.sources.oura_support import OURA as oura
from tests.sources.oura_support import payload


def broken(name: str, change) -> dict:
    page = copy.deepcopy(payload(name))
    change(page)
    return page


CASES = [
    ("daily_activity", lambda p: p.pop("data")),
    ("daily_activity", lambda p: p.update(next_token=5)),
    ("daily_activity", lambda p: p["data"].append("not an object")),
    ("daily_activity", lambda p: p["data"][0].update(steps="10432")),
    ("daily_activity", lambda p: p["data"][0].update(steps=True)),
    ("daily_activity", lambda p: p["data"][0].pop("timestamp")),
    ("daily_activity", lambda p: p["data"][0]["met"].update(items=[1.0, "x"])),
    ("sleep", lambda p: p["data"][0].update(bedtime_start="2024-01-14T23:10:00")),
    ("sleep", lambda p: p["data"][0].update(sleep_phase_5_min="12345")),
    ("sleep", lambda p: p["data"][0].update(type="siesta")),
    ("sleep", lambda p: p["data"][0].update(bedtime_end="2024-01-14T22:00:00+01:00")),
    ("sleep", lambda p: p["data"][1].pop("id")),
    ("daily_sleep", lambda p: p["data"][0].update(day="15.01.2024")),
    ("daily_readiness", lambda p: p["data"][0].update(temperature_deviation="-0.2")),
    ("heartrate", lambda p: p["data"][2].update(source="ecg")),
    ("heartrate", lambda p: p["data"][2].pop("bpm")),
    ("workout", lambda p: p["data"][0].update(intensity="extreme")),
    ("workout", lambda p: p["data"][0].update(start_datetime=None)),
    ("daily_spo2", lambda p: p["data"][0].update(spo2_percentage={"avg": 96})),
    ("daily_stress", lambda p: p["data"][0].update(day_summary="panicked")),
    ("vo2_max", lambda p: p["data"][0].update(vo2_max=None)),
]


@pytest.mark.parametrize(("name", "change"), CASES)
def test_it_rejects_undocumented_shapes(name, change):
    with pytest.raises(MalformedPayload):
        oura.normalize(name, broken(name, change))


def test_a_bad_record_after_good_ones_rejects_the_whole_page():
    page = broken("heartrate", lambda p: p["data"][-1].update(bpm="63"))
    with pytest.raises(MalformedPayload, match="record 4"):
        oura.normalize("heartrate", page)


def test_the_error_message_carries_no_health_value():
    page = broken("daily_activity", lambda p: p["data"][0].update(steps="10432"))
    with pytest.raises(MalformedPayload) as info:
        oura.normalize("daily_activity", page)
    assert "10432" not in str(info.value)
