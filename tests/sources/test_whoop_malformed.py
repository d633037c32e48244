"""WHOOP pages that are not as documented are rejected whole (nothing partial)."""

import copy

import pytest

from sources.errors import MalformedPayload
from tests.sources.whoop_support import WHOOP, payload


def broken(name: str, change):
    page = copy.deepcopy(payload(name))
    change(page)
    return page


def set_in(path, value):
    def change(page):
        target = page
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("data_type", "name", "change"),
    [
        ("cycle", "cycle_page1", set_in(["records"], {"id": 1})),
        ("cycle", "cycle_page1", set_in(["records", 1, "score"], KeyError)),  # SCORED, no score
        ("cycle", "cycle_page1", set_in(["records", 1, "score", "kilojoule"], "10460")),
        ("cycle", "cycle_page1", set_in(["records", 1, "score", "strain"], None)),
        ("cycle", "cycle_page1", set_in(["records", 1, "start"], "2026-03-10 04:12")),
        ("cycle", "cycle_page1", set_in(["records", 1, "start"], "2026-03-10T04:12:03")),
        ("cycle", "cycle_page1", set_in(["records", 1, "end"], "2026-03-09T00:00:00Z")),
        ("cycle", "cycle_page1", set_in(["records", 1, "timezone_offset"], "EST")),
        ("cycle", "cycle_page1", set_in(["records", 1, "score_state"], "DONE")),
        ("cycle", "cycle_page1", set_in(["records", 1, "id"], "93845")),
        ("cycle", "cycle_page1", set_in(["next_token"], 12)),
        ("recovery", "recovery", set_in(["records", 0, "score", "hrv_rmssd_milli"], True)),
        ("recovery", "recovery", set_in(["records", 0, "score", "recovery_score"], float("nan"))),
        ("recovery", "recovery", set_in(["records", 0, "sleep_id"], "not-a-uuid")),
        ("recovery", "recovery", set_in(["records", 0, "created_at"], KeyError)),
        ("sleep", "sleep", set_in(["records", 1, "score", "stage_summary"], KeyError)),
        (
            "sleep",
            "sleep",
            set_in(["records", 1, "score", "stage_summary", "total_rem_sleep_time_milli"], -5),
        ),
        ("sleep", "sleep", set_in(["records", 1, "nap"], "false")),
        ("sleep", "sleep", set_in(["records", 1, "id"], 93845)),
        ("workout", "workout", set_in(["records", 0, "sport_name"], None)),
        ("workout", "workout", set_in(["records", 0, "score", "distance_meter"], "8 km")),
        ("workout", "workout", set_in(["records", 0, "score", "zone_durations"], KeyError)),
    ],
)
def test_a_page_with_one_bad_field_is_rejected(data_type, name, change):
    with pytest.raises(MalformedPayload):
        WHOOP.normalize(data_type, broken(name, change))


@pytest.mark.parametrize("page", [[], "records", {"data": []}, {"records": [1, 2]}])
def test_a_page_that_is_not_a_collection_is_rejected(page):
    with pytest.raises(MalformedPayload):
        WHOOP.normalize("workout", page)


def test_the_first_good_records_are_not_returned_when_a_later_one_is_bad():
    page = broken("workout", set_in(["records", 2, "start"], "yesterday"))
    with pytest.raises(MalformedPayload):
        WHOOP.normalize("workout", page)


def test_optional_fields_may_be_null_but_not_wrong():
    page = broken("recovery", set_in(["records", 0, "score", "skin_temp_celsius"], None))
    assert len(WHOOP.normalize("recovery", page).samples) == 7
    page = broken("recovery", set_in(["records", 0, "score", "skin_temp_celsius"], "33.7"))
    with pytest.raises(MalformedPayload):
        WHOOP.normalize("recovery", page)


@pytest.mark.parametrize(
    "page",
    [
        {"as_of": "2026-03-11T00:00:00Z", "measurement": {"height_meter": 1.8}},
        {"as_of": "2026-03-11T00:00:00Z", "measurement": [1.8, 90]},
        {"measurement": {"height_meter": 1.8, "weight_kilogram": 90, "max_heart_rate": 200}},
    ],
)
def test_bad_body_measurements_are_rejected(page):
    with pytest.raises(MalformedPayload):
        WHOOP.normalize("body", page)


def test_error_messages_do_not_quote_values():
    page = broken("recovery", set_in(["records", 0, "score", "recovery_score"], "44.0 percent"))
    with pytest.raises(MalformedPayload) as caught:
        WHOOP.normalize("recovery", page)
    assert "44" not in str(caught.value)
