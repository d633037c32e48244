"""The read API under /api/v1/: scoping, pagination, validation and rendering."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.services import access_token_create
from metrics.models import DataSource, SleepSession, Workout
from metrics.schemas import SampleIn, SleepSessionIn, SourceRef, StageIn, WorkoutIn
from metrics.services import samples_ingest, sleep_sessions_ingest, workouts_ingest

pytestmark = pytest.mark.django_db

WATCH = SourceRef("apple_health", "Apple Watch", "Watch7,1")
PHONE = SourceRef("apple_health", "iPhone", "iPhone15,2")
OURA = SourceRef("oura", "Oura Ring", "Gen3")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 at +01:00


def bpm(minutes, value, source=WATCH, offset=60):
    start = T0 + timedelta(minutes=minutes)
    return SampleIn("heart_rate", start, start, value, "/min", source, offset)


@pytest.fixture
def api(user):
    raw = access_token_create(user=user, name="test", scope="read").raw
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def source_of(user, ref=WATCH):
    return DataSource.objects.get(user=user, origin=ref.origin).id


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    return body["error"]


def test_everything_needs_authentication(client):
    for path in ("/api/v1/metrics/", "/api/v1/series/?metric=steps", "/api/v1/workouts/"):
        assert_error(client.get(path), 401, "not_authenticated")


def test_the_catalog_lists_metrics_by_key(api):
    metrics = {m["key"]: m for m in api.get("/api/v1/metrics/").json()}
    assert metrics["heart_rate"] == {
        "key": "heart_rate",
        "name": "Heart rate",
        "category": "heart",
        "unit": "/min",
        "aggregation": "discrete",
        "loinc": "8867-4",
        "min_value": 20,
        "max_value": 250,
    }


def test_data_sources_are_the_users_own(api, user, other_user):
    samples_ingest(user=user, records=[bpm(0, 60)])
    samples_ingest(user=other_user, records=[bpm(0, 61, PHONE)])
    mine, theirs = source_of(user), source_of(other_user, PHONE)
    listed = api.get("/api/v1/data-sources/").json()
    assert [s["id"] for s in listed] == [mine]
    assert listed[0]["kind"] == "apple_health" and listed[0]["origin"] == "Apple Watch"
    assert api.get(f"/api/v1/data-sources/{mine}/").json()["device_model"] == "Watch7,1"
    error = assert_error(api.get(f"/api/v1/data-sources/{theirs}/"), 404, "not_found")
    assert error["message"] == "Data source not found."


def test_samples_walk_all_pages_in_start_order_without_loss_or_duplicates(api, user, other_user):
    # Two sources sharing start times (ties on the cursor's position) and another user's.
    samples_ingest(user=user, records=[bpm(i, 60 + i) for i in range(15)])
    samples_ingest(user=user, records=[bpm(i, 100 + i, PHONE) for i in range(0, 20, 2)])
    samples_ingest(user=other_user, records=[bpm(i, 150) for i in range(15)])
    watch, phone = source_of(user), source_of(user, PHONE)
    seen, url, pages = [], "/api/v1/samples/?metric=heart_rate&page_size=4", 0
    while url:
        page = api.get(url).json()
        seen += [(s["start"], s["data_source"], s["value"]) for s in page["results"]]
        url, pages = page["next"], pages + 1
    expected = sorted(
        [((T0 + timedelta(minutes=i)), watch, 60 + i) for i in range(15)]
        + [((T0 + timedelta(minutes=i)), phone, 100 + i) for i in range(0, 20, 2)],
        key=lambda s: (s[0], s[1]),
    )
    assert pages == 7
    assert [(v, ds) for _, ds, v in seen] == [(v, ds) for _, ds, v in expected]
    assert seen[0][0] == "2026-03-02T09:00:00+01:00"
    assert 150 not in [v for *_, v in seen]


def test_sample_items_and_filters(api, user):
    samples_ingest(user=user, records=[bpm(0, 60, offset=-300), bpm(30, 70), bpm(60, 80, PHONE)])
    phone = source_of(user, PHONE)
    # An unencoded "+" arrives as a space and is still understood.
    response = api.get("/api/v1/samples/?metric=heart_rate&start=2026-03-02T09:30:00+01:00")
    items = response.json()["results"]
    assert items == [
        {
            "data_source": source_of(user),
            "metric": "heart_rate",
            "start": "2026-03-02T09:30:00+01:00",
            "end": "2026-03-02T09:30:00+01:00",
            "value": 70.0,
            "unit": "/min",
        },
        {
            "data_source": phone,
            "metric": "heart_rate",
            "start": "2026-03-02T10:00:00+01:00",
            "end": "2026-03-02T10:00:00+01:00",
            "value": 80.0,
            "unit": "/min",
        },
    ]
    first = api.get("/api/v1/samples/", {"metric": "heart_rate", "end": "2026-03-02T08:30:00Z"})
    assert [s["start"] for s in first.json()["results"]] == ["2026-03-02T03:00:00-05:00"]
    only_phone = api.get("/api/v1/samples/", {"metric": "heart_rate", "data_source": phone})
    assert [s["value"] for s in only_phone.json()["results"]] == [80.0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "metric"),
        ({"metric": "moon_phase"}, "metric"),
        ({"metric": "steps", "start": "2026-03-02T09:00:00"}, "start"),
        ({"metric": "steps", "end": "yesterday"}, "end"),
        ({"metric": "steps", "data_source": "abc"}, "data_source"),
        ({"metric": "steps", "start": "2026-03-03T00:00Z", "end": "2026-03-02T00:00Z"}, "end"),
    ],
)
def test_sample_queries_are_validated(api, query, field):
    error = assert_error(api.get("/api/v1/samples/", query), 400, "invalid")
    assert list(error["details"]) == [field]


def test_another_users_data_source_answers_404_everywhere(api, other_user):
    samples_ingest(user=other_user, records=[bpm(0, 60)])
    theirs = source_of(other_user)
    for path in (
        f"/api/v1/samples/?metric=heart_rate&data_source={theirs}",
        f"/api/v1/series/?metric=heart_rate&data_source={theirs}",
        f"/api/v1/series/?metric=heart_rate&resolution=raw&data_source={theirs}",
        f"/api/v1/sleep-sessions/?data_source={theirs}",
        f"/api/v1/workouts/?data_source={theirs}",
    ):
        assert_error(api.get(path), 404, "not_found")


def test_raw_series_renders_each_sample_in_its_own_offset(api, user, other_user):
    samples_ingest(user=user, records=[bpm(0, 60), bpm(1, 61.5, offset=-300), bpm(0, 70, PHONE)])
    samples_ingest(user=other_user, records=[bpm(0, 99)])
    response = api.get("/api/v1/series/?metric=heart_rate&resolution=raw")
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "metric": "heart_rate",
        "unit": "/min",
        "resolution": "raw",
        "aggregation": None,
        "series": [
            {
                "data_source": source_of(user),
                "points": [["2026-03-02T09:00:00+01:00", 60], ["2026-03-02T03:01:00-05:00", 61.5]],
            },
            {"data_source": source_of(user, PHONE), "points": [["2026-03-02T09:00:00+01:00", 70]]},
        ],
    }
    ranged = api.get(
        "/api/v1/series/",
        {"metric": "heart_rate", "resolution": "raw", "start": "2026-03-02T08:01:00Z"},
    )
    assert [s["points"] for s in ranged.json()["series"]] == [[["2026-03-02T03:01:00-05:00", 61.5]]]


def test_raw_series_dates_are_whole_days_in_the_home_time_zone(api, user):
    user.timezone = "America/New_York"
    user.save()
    samples_ingest(user=user, records=[bpm(0, 60), bpm(16 * 60 + 30, 70)])  # 19:30 in New York

    def values(day):
        query = {"metric": "heart_rate", "resolution": "raw", "start": day, "end": day}
        return [
            p[1] for s in api.get("/api/v1/series/", query).json()["series"] for p in s["points"]
        ]

    assert values("2026-03-02") == [60, 70]
    assert values("2026-03-03") == []


def test_day_series_comes_from_the_rollups_with_default_aggregations(api, user):
    samples_ingest(
        user=user,
        records=[
            bpm(0, 60),
            bpm(5, 80),
            SampleIn("steps", T0, T0 + timedelta(minutes=5), 100, "count", WATCH, 60),
            SampleIn(
                "steps", T0 + timedelta(days=1), T0 + timedelta(days=1), 50, "count", WATCH, 60
            ),
        ],
    )
    api.get("/api/v1/me/")  # the token's last use is recorded once a minute
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/series/?metric=heart_rate&resolution=day&start=2026-03-01")
    assert not [q for q in queries.captured_queries if "metrics_sample" in q["sql"]]
    assert len(queries.captured_queries) <= 3  # token, data sources, rollups
    assert response.json() == {
        "metric": "heart_rate",
        "unit": "/min",
        "resolution": "day",
        "aggregation": "avg",
        "series": [{"data_source": source_of(user), "points": [["2026-03-02", 70]]}],
    }
    steps = api.get(
        "/api/v1/series/", {"metric": "steps", "resolution": "month", "end": "2026-03-31T12:00Z"}
    ).json()
    assert steps["aggregation"] == "sum"
    assert steps["series"][0]["points"] == [["2026-03-01", 150]]
    maximum = api.get("/api/v1/series/?metric=heart_rate&resolution=week&aggregation=max").json()
    assert maximum["series"][0]["points"] == [["2026-03-02", 80]]


def test_hour_series_buckets_local_hours(api, user):
    samples_ingest(user=user, records=[bpm(0, 60), bpm(59, 80), bpm(60, 90)])
    response = api.get("/api/v1/series/?metric=heart_rate&resolution=hour&aggregation=max")
    assert response.json()["series"][0]["points"] == [
        ["2026-03-02T09:00:00+01:00", 80],
        ["2026-03-02T10:00:00+01:00", 90],
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metric": "steps", "resolution": "fortnight"}, "resolution"),
        ({"metric": "steps", "aggregation": "median"}, "aggregation"),
        ({"metric": "nope"}, "metric"),
        ({"metric": "steps", "resolution": "raw", "start": "2026-03-02T09:00"}, "start"),
        ({"metric": "steps", "resolution": "hour", "end": "2026-03-02T10:00"}, "end"),
        ({"metric": "steps", "start": "2026-03-05", "end": "2026-03-02"}, "end"),
    ],
)
def test_series_queries_are_validated(api, query, field):
    error = assert_error(api.get("/api/v1/series/", query), 400, "invalid")
    assert list(error["details"]) == [field]


def night(day, source=OURA, offset=60):
    start = datetime(2026, 3, day, 22, 0, tzinfo=UTC)
    mid = start + timedelta(hours=3)
    return SleepSessionIn(
        source=source,
        start=start,
        end=start + timedelta(hours=8),
        stages=(StageIn("light", start, mid), StageIn("deep", mid, start + timedelta(hours=8))),
        utc_offset=offset,
        score=80 + day,
    )


def test_sleep_sessions_newest_first_with_stages_on_detail(api, user, other_user):
    sleep_sessions_ingest(user=user, sessions=[night(1), night(2), night(3, offset=-300)])
    sleep_sessions_ingest(user=other_user, sessions=[night(1)])
    listed = api.get("/api/v1/sleep-sessions/?page_size=2").json()
    assert [s["score"] for s in listed["results"]] == [83, 82]
    assert listed["results"][0]["start"] == "2026-03-03T17:00:00-05:00"
    rest = api.get(listed["next"]).json()
    assert [s["score"] for s in rest["results"]] == [81] and rest["next"] is None
    ranged = api.get(
        "/api/v1/sleep-sessions/", {"start": "2026-03-02T00:00Z", "end": "2026-03-03T00:00Z"}
    )
    assert [s["score"] for s in ranged.json()["results"]] == [82]
    session = SleepSession.objects.get(data_source__user=user, score=81)
    detail = api.get(f"/api/v1/sleep-sessions/{session.id}/").json()
    assert detail["asleep_minutes"] == 480
    assert detail["stages"] == [
        {
            "stage": "light",
            "start": "2026-03-01T23:00:00+01:00",
            "end": "2026-03-02T02:00:00+01:00",
        },
        {"stage": "deep", "start": "2026-03-02T02:00:00+01:00", "end": "2026-03-02T07:00:00+01:00"},
    ]
    theirs = SleepSession.objects.get(data_source__user=other_user)
    assert_error(api.get(f"/api/v1/sleep-sessions/{theirs.id}/"), 404, "not_found")


def run(day, activity="running", route=None):
    start = datetime(2026, 3, day, 7, 0, tzinfo=UTC)
    return WorkoutIn(
        WATCH,
        activity,
        start,
        start + timedelta(minutes=45),
        utc_offset=60,
        distance_m=8000,
        route=route,
    )


def test_workouts_list_without_routes_and_detail_with_route(api, user, other_user):
    route = [["2026-03-02T07:00:00Z", 52.52, 13.40, 34.0]]
    workouts_ingest(user=user, workouts=[run(1), run(2, route=route), run(3, "cycling")])
    workouts_ingest(user=other_user, workouts=[run(1)])
    with CaptureQueriesContext(connection) as queries:
        listed = api.get("/api/v1/workouts/").json()["results"]
    workout_sql = [q["sql"] for q in queries.captured_queries if "metrics_workout" in q["sql"]]
    assert workout_sql and all('"route"' not in sql for sql in workout_sql)
    assert [w["activity_type"] for w in listed] == ["cycling", "running", "running"]
    assert listed[1]["start"] == "2026-03-02T08:00:00+01:00"
    assert listed[1]["end"] == "2026-03-02T08:45:00+01:00"
    assert "route" not in listed[1]
    running = api.get("/api/v1/workouts/?activity_type=running").json()["results"]
    assert len(running) == 2
    detail = api.get(f"/api/v1/workouts/{listed[1]['id']}/").json()
    assert detail["route"] == route and detail["duration_seconds"] == 2700
    theirs = Workout.objects.get(data_source__user=other_user)
    assert_error(api.get(f"/api/v1/workouts/{theirs.id}/"), 404, "not_found")
    error = assert_error(api.get("/api/v1/workouts/?activity_type=quidditch"), 400, "invalid")
    assert list(error["details"]) == ["activity_type"]


def test_daily_summaries_per_kind_of_metric(api, user, other_user):
    samples_ingest(
        user=user,
        records=[
            SampleIn("steps", T0, T0, 100, "count", WATCH, 60),
            SampleIn("steps", T0, T0, 40, "count", PHONE, 60),
            SampleIn(
                "steps", T0 + timedelta(hours=1), T0 + timedelta(hours=1), 60, "count", WATCH, 60
            ),
            bpm(0, 60),
            bpm(1, 70),
            SampleIn("sleep_score", T0, T0, 77, "{score}", OURA, 60),
            SampleIn(
                "sleep_score",
                T0 + timedelta(days=1),
                T0 + timedelta(days=1),
                88,
                "{score}",
                OURA,
                60,
            ),
        ],
    )
    samples_ingest(user=other_user, records=[SampleIn("steps", T0, T0, 5, "count", WATCH, 60)])
    watch, phone, oura = (source_of(user, ref) for ref in (WATCH, PHONE, OURA))
    days = api.get("/api/v1/daily-summaries/?start=2026-03-01&end=2026-03-31").json()
    assert days == [
        {
            "day": "2026-03-02",
            "metrics": {
                "steps": [
                    {"data_source": watch, "value": 160, "count": 2},
                    {"data_source": phone, "value": 40, "count": 1},
                ],
                "heart_rate": [{"data_source": watch, "value": 65, "count": 2}],
                "sleep_score": [{"data_source": oura, "value": 77, "count": 1}],
            },
        },
        {
            "day": "2026-03-03",
            "metrics": {"sleep_score": [{"data_source": oura, "value": 88, "count": 1}]},
        },
    ]
    steps = api.get("/api/v1/daily-summaries/?start=2026-03-02&end=2026-03-02&metric=steps").json()
    assert list(steps[0]["metrics"]) == ["steps"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-03-01", "end"),
        ("start=2025-01-01&end=2026-01-02", "end"),
        ("start=2026-03-01&end=2026-03-02&metric=nope", "metric"),
        ("start=03/01/2026&end=2026-03-02", "start"),
    ],
)
def test_daily_summary_ranges_are_validated(api, query, field):
    error = assert_error(api.get(f"/api/v1/daily-summaries/?{query}"), 400, "invalid")
    assert list(error["details"]) == [field]
    assert api.get("/api/v1/daily-summaries/?start=2025-01-01&end=2026-01-01").status_code == 200
