"""Series and summaries computed by metrics.selectors, on hand-computed data."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics import selectors
from metrics.catalog import get_metric
from metrics.models import DataSource, Sample
from metrics.schemas import SampleIn, SourceRef
from metrics.services import samples_ingest

pytestmark = pytest.mark.django_db

WATCH = SourceRef("apple_health", "Apple Watch", "Watch7,1")
PHONE = SourceRef("apple_health", "iPhone", "iPhone15,2")
MON = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday; 09:00 at +01:00


def at(days=0, hours=0, minutes=0):
    return MON + timedelta(days=days, hours=hours, minutes=minutes)


def steps(start, value, source=WATCH, offset=60):
    return SampleIn("steps", start, start + timedelta(minutes=10), value, "count", source, offset)


def bpm(start, value, source=WATCH, offset=60):
    return SampleIn("heart_rate", start, start, value, "/min", source, offset)


def source_id(ref=WATCH):
    return DataSource.objects.get(user__email="alice@example.org", origin=ref.origin).id


def points(series):
    return {s.data_source_id: s.points for s in series}


def test_offsets_and_local_times_render_as_iso_8601():
    assert selectors.offset_text(60) == "+01:00"
    assert selectors.offset_text(0) == "+00:00"
    assert selectors.offset_text(-570) == "-09:30"
    assert selectors.iso_local(MON, 60) == "2026-03-02T09:00:00+01:00"
    assert selectors.iso_local(MON, -300) == "2026-03-02T03:00:00-05:00"
    half = MON.replace(microsecond=250000)
    assert selectors.iso_local(half, 345) == "2026-03-02T13:45:00.25+05:45"


def test_rollup_series_by_day_week_and_month(user):
    samples_ingest(
        user=user,
        records=[
            steps(at(), 100),
            steps(at(minutes=30), 50),
            steps(at(days=1, hours=2), 200),
            steps(at(days=7, hours=2), 400),  # Monday 9 March
            steps(at(days=30, hours=2), 1000),  # Wednesday 1 April
            steps(at(hours=15, minutes=30), 7, offset=60),  # 23:30Z = 00:30 on 3 March
        ],
    )
    metric, sid = get_metric("steps"), source_id()

    def series(resolution, aggregation="sum", **kwargs):
        return points(
            selectors.series_from_rollups_for_user(
                user=user, metric=metric, resolution=resolution, aggregation=aggregation, **kwargs
            )
        )[sid]

    with CaptureQueriesContext(connection) as queries:
        days = series("day")
    assert days == [
        ["2026-03-02", 150],
        ["2026-03-03", 207],
        ["2026-03-09", 400],
        ["2026-04-01", 1000],
    ]
    assert all("metrics_sample" not in q["sql"] for q in queries.captured_queries)
    assert series("week") == [["2026-03-02", 357], ["2026-03-09", 400], ["2026-03-30", 1000]]
    assert series("month") == [["2026-03-01", 757], ["2026-04-01", 1000]]
    assert series("month", "count") == [["2026-03-01", 5], ["2026-04-01", 1]]
    # Ranges are dates, inclusive; weeks and months widen to whole buckets.
    assert series("day", first=date(2026, 3, 3), last=date(2026, 3, 9)) == days[1:3]
    assert series("week", first=date(2026, 3, 4), last=date(2026, 3, 4)) == [["2026-03-02", 357]]


def test_week_of_a_discrete_metric_combines_its_days(user):
    samples_ingest(user=user, records=[bpm(at(), 60), bpm(at(minutes=5), 80), bpm(at(days=2), 90)])
    metric, sid = get_metric("heart_rate"), source_id()

    def week(aggregation):
        return selectors.series_from_rollups_for_user(
            user=user, metric=metric, resolution="week", aggregation=aggregation
        )[0].points

    assert week("avg") == [["2026-03-02", pytest.approx(230 / 3)]]
    assert week("min") == [["2026-03-02", 60]]
    assert week("max") == [["2026-03-02", 90]]
    assert week("last") == [["2026-03-02", 90]]
    assert week("count") == [["2026-03-02", 3]]
    day = selectors.series_from_rollups_for_user(
        user=user, metric=metric, resolution="day", aggregation="avg", data_source_id=sid
    )
    assert day[0].points == [["2026-03-02", 70], ["2026-03-04", 90]]


def test_hour_buckets_are_local_hours_in_each_samples_offset(user):
    samples_ingest(
        user=user,
        records=[
            bpm(at(), 60),
            bpm(at(minutes=5), 80),
            bpm(at(minutes=70), 100),
            bpm(at(days=2, hours=4), 50, offset=-300),  # 12:00Z = 07:00 at -05:00
            bpm(at(), 70, source=PHONE),
        ],
    )
    metric = get_metric("heart_rate")

    def hours(aggregation):
        return points(
            selectors.series_from_samples_for_user(
                user=user, metric=metric, resolution="hour", aggregation=aggregation
            )
        )

    watch, phone = source_id(WATCH), source_id(PHONE)
    assert hours("avg")[watch] == [
        ["2026-03-02T09:00:00+01:00", 70],
        ["2026-03-02T10:00:00+01:00", 100],
        ["2026-03-04T07:00:00-05:00", 50],
    ]
    assert hours("avg")[phone] == [["2026-03-02T09:00:00+01:00", 70]]
    assert [p[1] for p in hours("last")[watch]] == [80, 100, 50]
    assert [p[1] for p in hours("count")[watch]] == [2, 1, 1]
    assert [p[1] for p in hours("sum")[watch]] == [140, 100, 50]


@pytest.mark.parametrize("aggregation", selectors.AGGREGATIONS)
def test_portable_hour_buckets_match_postgresql(user, aggregation):
    offsets = [60, 60, 120, 120, -300, 345, 60]
    records = [bpm(at(minutes=23 * i), 50 + 7 * i, offset=o) for i, o in enumerate(offsets)]
    samples_ingest(user=user, records=[*records, bpm(at(minutes=5), 99, PHONE)])
    rows = Sample.objects.order_by("data_source_id", "start", "end").values_list(
        "data_source_id", "start", "end", "value", "utc_offset"
    )
    in_sql = selectors.series_from_samples_for_user(
        user=user, metric=get_metric("heart_rate"), resolution="hour", aggregation=aggregation
    )
    portable = selectors._hour_series_python(rows, aggregation)
    assert [s.data_source_id for s in portable] == [s.data_source_id for s in in_sql]
    for ours, theirs in zip(portable, in_sql, strict=True):
        assert [p[0] for p in ours.points] == [p[0] for p in theirs.points]
        assert [p[1] for p in ours.points] == pytest.approx([p[1] for p in theirs.points])


def test_raw_json_from_postgresql_matches_the_portable_rendering(user):
    # Several offsets in one range (the first, the last and rarer ones in between),
    # fractional seconds and fractional values.
    offsets = [60, 330, -570, 60, 0, 120]
    records = [
        SampleIn(
            "body_temperature",
            at(hours=i, minutes=i),
            at(hours=i, minutes=i),
            36.6 + i / 10,
            "Cel",
            WATCH,
            offset,
        )
        for i, offset in enumerate(offsets)
    ]
    records.append(
        SampleIn(
            "body_temperature",
            at(days=1).replace(microsecond=500000),
            at(days=1).replace(microsecond=500000),
            37.25,
            "Cel",
            PHONE,
            60,
        )
    )
    samples_ingest(user=user, records=records)
    metric = get_metric("body_temperature")
    rendered = json.loads(selectors.raw_series_json_for_user(user=user, metric=metric))
    portable = selectors.series_from_samples_for_user(
        user=user, metric=metric, resolution="raw", aggregation="last"
    )
    assert rendered == [{"data_source": s.data_source_id, "points": s.points} for s in portable]
    watch = rendered[0]["points"]
    assert [p[0] for p in watch[:3]] == [
        "2026-03-02T09:00:00+01:00",
        "2026-03-02T14:31:00+05:30",
        "2026-03-02T00:32:00-09:30",
    ]
    assert rendered[1]["points"] == [["2026-03-03T09:00:00.5+01:00", 37.25]]
    start, end = at(hours=1), at(hours=4)
    ranged = json.loads(
        selectors.raw_series_json_for_user(user=user, metric=metric, start=start, end=end)
    )
    assert [p[1] for p in ranged[0]["points"]] == pytest.approx([36.7, 36.8, 36.9])


def test_daily_summaries_use_each_metrics_kind_of_value(user, other_user):
    samples_ingest(
        user=user,
        records=[
            steps(at(), 100),
            steps(at(hours=1), 50),
            steps(at(), 30, source=PHONE),
            bpm(at(), 60),
            bpm(at(hours=1), 90),
            SampleIn("readiness_score", at(), at(), 70, "{score}", WATCH, 60),
            SampleIn("readiness_score", at(hours=2), at(hours=2), 85, "{score}", WATCH, 60),
        ],
    )
    samples_ingest(user=other_user, records=[steps(at(), 9999)])
    days = selectors.daily_summaries_for_user(
        user=user, first=date(2026, 3, 1), last=date(2026, 3, 31)
    )
    watch, phone = source_id(WATCH), source_id(PHONE)
    assert days == [
        {
            "day": date(2026, 3, 2),
            "metrics": {
                "steps": [
                    {"data_source": watch, "value": 150, "count": 2},
                    {"data_source": phone, "value": 30, "count": 1},
                ],
                "heart_rate": [{"data_source": watch, "value": 75, "count": 2}],
                "readiness_score": [{"data_source": watch, "value": 85, "count": 2}],
            },
        }
    ]
    only_steps = selectors.daily_summaries_for_user(
        user=user, first=date(2026, 3, 2), last=date(2026, 3, 2), metric=get_metric("steps")
    )
    assert list(only_steps[0]["metrics"]) == ["steps"]


def test_another_users_data_source_is_not_found(user, other_user):
    samples_ingest(user=other_user, records=[steps(at(), 10)])
    theirs = DataSource.objects.get(user=other_user).id
    with pytest.raises(DataSource.DoesNotExist):
        selectors.data_source_ids_for_user(user=user, data_source_id=theirs)
    assert selectors.data_source_ids_for_user(user=user) == []
    assert selectors.raw_series_json_for_user(user=user, metric=get_metric("steps")) == b"[]"
