from datetime import UTC, datetime, timedelta

import pytest

from accounts.services import access_token_create
from metrics.models import DataSource, SleepSession, Workout
from metrics.schemas import SampleIn, SleepSessionIn, SourceRef, WorkoutIn
from metrics.services import samples_ingest, sleep_sessions_ingest, workouts_ingest
from preferences.models import SourcePriority

pytestmark = pytest.mark.django_db
WATCH = SourceRef("apple_health", "Apple Watch", "Watch7,2")
PHONE = SourceRef("apple_health", "iPhone", "iPhone15,2")
OURA = SourceRef("oura", "Oura Ring")
WHOOP = SourceRef("whoop", "WHOOP")
DAY = datetime(2026, 4, 7, tzinfo=UTC)


@pytest.fixture
def api(client, user):
    raw = access_token_create(user=user, name="t", scope="write").raw
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


@pytest.fixture
def steps(user):
    samples_ingest(
        user=user,
        records=[
            SampleIn(
                "steps", DAY + timedelta(hours=8), DAY + timedelta(hours=9), 1000, "count", WATCH, 0
            ),
            SampleIn(
                "steps", DAY + timedelta(hours=8), DAY + timedelta(hours=9), 700, "count", PHONE, 0
            ),
            SampleIn(
                "steps",
                DAY + timedelta(days=1, hours=8),
                DAY + timedelta(days=1, hours=9),
                300,
                "count",
                PHONE,
                0,
            ),
        ],
    )
    return {s.origin: s.id for s in DataSource.objects.filter(user=user)}


def test_read_the_default_order(api, steps):
    body = api.get("/api/v1/priorities/activity/").json()
    assert body["custom"] is False
    assert [s["label"] for s in body["order"]] == [
        "Apple Watch (Apple Health)",
        "iPhone (Apple Health)",
    ]
    listed = api.get("/api/v1/priorities/").json()
    assert [c["category"] for c in listed] == ["activity"]


def test_replace_the_order_then_read_resolved_values_with_provenance(
    api, steps, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.put(
            "/api/v1/priorities/activity/",
            {"data_sources": [steps["iPhone"], steps["Apple Watch"]]},
            content_type="application/json",
        )
    assert response.status_code == 202
    run = api.get(f"/api/v1/priorities/runs/{response.json()['id']}/").json()
    assert run["status"] == "succeeded"
    assert "steps" in run["metrics"]
    body = api.get(
        "/api/v1/resolved/daily/?metric=steps&start=2026-04-07&end=2026-04-08&provenance=true"
    ).json()
    assert [(d["day"], d["value"]) for d in body["days"]] == [
        ("2026-04-07", 700),
        ("2026-04-08", 300),
    ]
    first = body["days"][0]["provenance"]
    assert first["contributions"] == {str(steps["iPhone"]): 700, str(steps["Apple Watch"]): 0}
    assert first["set_aside"] == {str(steps["Apple Watch"]): 1000}
    assert body["sources"][str(steps["iPhone"])] == "iPhone (Apple Health)"
    plain = api.get("/api/v1/resolved/daily/?metric=steps&start=2026-04-07&end=2026-04-07")
    assert "provenance" not in plain.json()["days"][0]


def test_resolved_series_by_week(api, steps):
    body = api.get(
        "/api/v1/resolved/series/?metric=steps&start=2026-04-01&end=2026-04-30&resolution=week"
    ).json()
    assert body["points"] == [["2026-04-06", 1300]]  # Monday of that week: 1000 + 300


def test_orders_are_validated(api, steps, other_user):
    samples_ingest(
        user=other_user,
        records=[SampleIn("steps", DAY, DAY + timedelta(hours=1), 5, "count", WATCH, 0)],
    )
    theirs = DataSource.objects.get(user=other_user).id
    for payload in (
        {"data_sources": [steps["iPhone"], theirs]},
        {"data_sources": [steps["iPhone"], steps["iPhone"]]},
        {"data_sources": []},
        {"data_sources": [steps["iPhone"]], "metric": "body_mass"},
    ):
        response = api.put("/api/v1/priorities/activity/", payload, content_type="application/json")
        assert response.status_code == 400, payload
        assert response.json()["error"]["code"] == "invalid"
    assert not SourcePriority.objects.exists()
    assert api.get("/api/v1/priorities/astrology/").status_code == 404


def test_a_read_only_token_cannot_change_the_order(client, user, steps):
    raw = access_token_create(user=user, name="r", scope="read").raw
    response = client.put(
        "/api/v1/priorities/activity/",
        {"data_sources": [steps["iPhone"]]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403


def test_duplicate_sleep_sessions_and_workouts(api, user, other_user):
    night = (DAY - timedelta(hours=1), DAY + timedelta(hours=7))
    sleep_sessions_ingest(
        user=user,
        sessions=[
            SleepSessionIn(source=OURA, start=night[0], end=night[1], utc_offset=0),
            SleepSessionIn(
                source=WHOOP,
                start=night[0] + timedelta(minutes=10),
                end=night[1] + timedelta(minutes=5),
                utc_offset=0,
            ),
        ],
    )
    oura = SleepSession.objects.get(data_source__kind="oura")
    whoop = SleepSession.objects.get(data_source__kind="whoop")
    body = api.get(f"/api/v1/sleep-sessions/{whoop.id}/duplicates/").json()
    assert body["best"]["id"] == oura.id  # the ring (default order: by kind) stands for it
    assert [d["id"] for d in body["duplicates"]] == [whoop.id]
    workouts_ingest(
        user=user,
        workouts=[
            WorkoutIn(
                source=WATCH,
                activity_type="running",
                start=DAY + timedelta(hours=17),
                end=DAY + timedelta(hours=18),
                utc_offset=0,
            ),
            WorkoutIn(
                source=SourceRef("strava", "Strava"),
                activity_type="running",
                start=DAY + timedelta(hours=17),
                end=DAY + timedelta(hours=18, minutes=1),
                utc_offset=0,
            ),
        ],
    )
    watch_run = Workout.objects.get(data_source__kind="apple_health")
    strava_run = Workout.objects.get(data_source__kind="strava")
    body = api.get(f"/api/v1/workouts/{watch_run.id}/duplicates/").json()
    assert body["best"]["id"] == watch_run.id  # the watch recorded it; Strava relays it
    assert [d["id"] for d in body["duplicates"]] == [strava_run.id]
    # Other users' records are not found.
    sleep_sessions_ingest(
        user=other_user,
        sessions=[SleepSessionIn(source=OURA, start=night[0], end=night[1], utc_offset=0)],
    )
    theirs = SleepSession.objects.get(data_source__user=other_user)
    response = api.get(f"/api/v1/sleep-sessions/{theirs.id}/duplicates/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
