"""WHOOP records through the real ingestion service: canonical units, idempotent upserts,
and a fake-backed fetch -> normalize -> ingest of a generated month."""

from datetime import UTC, datetime, timedelta

import pytest

from metrics.catalog import BY_KEY
from metrics.models import Sample, SleepSession, Workout
from metrics.services.ingest import samples_ingest, sleep_sessions_ingest, workouts_ingest
from tests.sources.whoop_support import MEMBER, WHOOP, connect, payload, started_fake

pytestmark = pytest.mark.django_db


def ingest(user, normalized):
    samples = samples_ingest(user=user, records=normalized.samples)
    sleep = sleep_sessions_ingest(user=user, sessions=normalized.sleep)
    workouts = workouts_ingest(user=user, workouts=normalized.workouts)
    return samples, sleep, workouts


def stored(user, key, start=None):
    rows = Sample.objects.filter(data_source__user=user, metric=BY_KEY[key].id)
    if start is not None:
        rows = rows.filter(start=start)
    return sorted(rows.values_list("value", flat=True))


def test_cycle_energy_is_stored_in_kcal(user):
    samples, _, _ = ingest(user, WHOOP.normalize("cycle", payload("cycle_page1")))
    assert samples.rejected == 0
    assert stored(user, "active_energy") == [pytest.approx(2500.0)]
    assert stored(user, "strain") == [pytest.approx(12.7355)]


def test_a_night_is_stored_with_minutes_and_the_sessions_own_totals(user):
    _, sleep, _ = ingest(user, WHOOP.normalize("sleep", payload("sleep")))
    assert (sleep.created, sleep.rejected) == (3, 0)
    night = datetime(2026, 3, 10, 3, 10, tzinfo=UTC)
    assert stored(user, "sleep_asleep", night) == [pytest.approx(445.0)]
    assert stored(user, "sleep_deep", night) == [pytest.approx(90.0)]
    assert stored(user, "sleep_in_bed", night) == [pytest.approx(490.0)]
    assert stored(user, "sleep_score", night) == [91.0]
    session = SleepSession.objects.get(external_id="ecfc6a15-4661-442f-a9a4-f160dd7afae8")
    assert session.utc_offset == -300


def test_workouts_and_body_are_stored(user):
    _, _, workouts = ingest(user, WHOOP.normalize("workout", payload("workout")))
    assert workouts.created == 3
    run = Workout.objects.get(external_id="3fa4c1d2-8b7e-4a6f-9c5d-2e1f0a9b8c7d")
    assert (run.activity_type, run.energy_kcal) == ("running", pytest.approx(500.0))
    body = {"as_of": "2026-03-11T00:00:00.000Z", "measurement": payload("body")}
    samples, _, _ = ingest(user, WHOOP.normalize("body", body))
    assert samples.rejected == 0
    assert stored(user, "height") == [pytest.approx(182.88)]


def test_the_same_pages_twice_change_nothing(user):
    pages = [("recovery", payload("recovery")), ("sleep", payload("sleep"))]
    for data_type, page in pages:
        ingest(user, WHOOP.normalize(data_type, page))
    count = Sample.objects.filter(data_source__user=user).count()
    for data_type, page in pages:
        samples, sleep, _ = ingest(user, WHOOP.normalize(data_type, page))
        assert (samples.created, samples.updated, sleep.created, sleep.updated) == (0, 0, 0, 0)
    assert Sample.objects.filter(data_source__user=user).count() == count


@pytest.fixture
def fake(settings):
    yield from started_fake(settings)


def test_a_generated_month_fetched_from_the_fake_lands_without_rejections(user, fake):
    first = (datetime.now(UTC) - timedelta(days=40)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    fake.generate(MEMBER, first, days=30)
    token = connect(fake).access_token
    http = WHOOP.http()
    for data_type in ("cycle", "recovery", "sleep", "workout"):
        for page in WHOOP.fetch(http, token, data_type, first, first + timedelta(days=30)):
            samples, sleep, workouts = ingest(user, WHOOP.normalize(data_type, page))
            assert samples.rejected == sleep.rejected == workouts.rejected == 0
    assert SleepSession.objects.filter(data_source__user=user).count() == 30
    assert Workout.objects.filter(data_source__user=user).count() == 30
    assert len(stored(user, "recovery_score")) == 30
    assert len(stored(user, "strain")) == 30
    assert http.count == 4 * 2  # one 30-day chunk a type, 30 records: pages of 25 and 5
