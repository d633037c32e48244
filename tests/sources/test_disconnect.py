"""sources.services.connections.connection_disconnect: revoke and unsubscribe at the
provider (best effort), delete the connection and its tokens, keep or delete the data."""

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from metrics.catalog import BY_KEY, Category
from metrics.models import (
    DailyRollup,
    DataSource,
    ResolvedDaily,
    Sample,
    SleepSession,
    SleepStageInterval,
    Workout,
)
from metrics.schemas import SampleIn, SleepSessionIn, SourceRef, StageIn, WorkoutIn
from metrics.services.ingest import samples_ingest, sleep_sessions_ingest, workouts_ingest
from preferences.models import SourcePriority
from sources.models import Connection
from sources.services.connections import connection_disconnect
from tests.factories import UserFactory
from tests.fakes.base import FakeResponse
from tests.sources.dummy_provider import DummyFake, use_dummy

RING = SourceRef("oura", "Oura Ring")
PHONE = SourceRef("apple_health", "iPhone")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEPS = BY_KEY["steps"].id


@pytest.fixture
def fake():
    with DummyFake() as server:
        yield server


@pytest.fixture
def provider(monkeypatch, settings, fake):
    return use_dummy(monkeypatch, settings, "oura", fake)


def connected(user, fake) -> Connection:
    access, refresh = fake.issue()
    connection = Connection(
        user=user,
        provider="oura",
        provider_user_id=f"acct-{user.pk}",
        token_expires_at=timezone.now() + timedelta(hours=1),
        subscriptions=[{"id": "sub-1", "data_type": "sleep"}],
    )
    connection.access_token, connection.refresh_token = access, refresh
    connection.save()
    return connection


def health_data(user) -> None:
    """Oura and the iPhone both counted the same hour's steps; Oura ranks first."""
    samples_ingest(
        user=user,
        records=[
            SampleIn("steps", T0, T0 + timedelta(hours=1), 1000, "count", RING, 0),
            SampleIn("steps", T0, T0 + timedelta(hours=1), 800, "count", PHONE, 0),
        ],
    )
    ring = DataSource.objects.get(user=user, kind="oura")
    phone = DataSource.objects.get(user=user, kind="apple_health")
    for rank, source in enumerate((ring, phone)):
        SourcePriority.objects.create(
            user=user, category=Category.ACTIVITY, data_source=source, rank=rank
        )
    night = T0 - timedelta(hours=9)
    stage = StageIn("deep", night, night + timedelta(hours=2))
    sleep_sessions_ingest(
        user=user,
        sessions=[SleepSessionIn(RING, night, night + timedelta(hours=7), (stage,), 0)],
    )
    workouts_ingest(
        user=user,
        workouts=[WorkoutIn(RING, "running", T0, T0 + timedelta(minutes=30), 0)],
    )
    # Recompute with the priorities in place (as a priority change would).
    from metrics.services.resolve import resolved_recompute

    resolved_recompute(user=user)


def steps_resolved(user) -> float:
    return ResolvedDaily.objects.get(user=user, metric=STEPS, day=T0.date()).value


def test_keep_revokes_and_leaves_the_data(db, fake, provider):
    user = UserFactory()
    connection = connected(user, fake)
    access = connection.access_token
    health_data(user)
    samples = Sample.objects.count()

    connection_disconnect(connection=connection, delete_data=False)

    assert not Connection.objects.exists()
    assert [c.form["token"] for c in fake.calls_to("/oauth/revoke")] == [access]
    assert len(fake.calls_to("/subscriptions/sub-1", "DELETE")) == 1
    assert Sample.objects.count() == samples
    assert DataSource.objects.filter(user=user, kind="oura").count() == 1
    assert SourcePriority.objects.filter(user=user).count() == 2
    assert steps_resolved(user) == 1000


def test_delete_removes_that_providers_data_and_recomputes(db, fake, provider):
    user = UserFactory()
    someone_else = UserFactory()
    connection = connected(user, fake)
    health_data(user)
    health_data(someone_else)
    assert steps_resolved(user) == 1000
    ring = DataSource.objects.get(user=user, kind="oura")

    connection_disconnect(connection=connection, delete_data=True)

    assert not DataSource.objects.filter(user=user, kind="oura").exists()
    assert Sample.objects.filter(data_source_id=ring.id).count() == 0
    assert DailyRollup.objects.filter(data_source_id=ring.id).count() == 0
    assert SleepSession.objects.filter(data_source__user=user).count() == 0
    assert SleepStageInterval.objects.filter(session__data_source__user=user).count() == 0
    assert Workout.objects.filter(data_source__user=user).count() == 0
    assert SourcePriority.objects.filter(user=user).count() == 1
    assert steps_resolved(user) == 800  # the iPhone takes over the day
    assert Sample.objects.filter(data_source__user=user, data_source__kind="apple_health").count()
    assert not ResolvedDaily.objects.filter(user=user, metric=BY_KEY["sleep_asleep"].id).exists()
    # The other user's Oura data is untouched.
    assert steps_resolved(someone_else) == 1000
    assert SleepSession.objects.filter(data_source__user=someone_else).count() == 1


@pytest.fixture
def raw_log():
    """Every log record as logged (no redaction formatter: what our code itself says)."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_a_failing_provider_does_not_block_nor_get_secrets_logged(db, fake, provider, raw_log):
    user = UserFactory()
    connection = connected(user, fake)
    access, refresh = connection.access_token, connection.refresh_token
    fake.fail_next(FakeResponse(500, {"error": "boom"}), times=5)

    connection_disconnect(connection=connection, delete_data=False)

    assert not Connection.objects.exists()
    assert len(fake.calls_to("/oauth/revoke")) == 1
    output = raw_log.getvalue()
    assert "disconnect_step_failed" in output
    assert access not in output and refresh not in output


def test_an_unconfigured_provider_is_disconnected_locally(db, fake, provider, settings):
    user = UserFactory()
    connection = connected(user, fake)
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        "oura": {**settings.HEALTHHUB_PROVIDERS["oura"], "CLIENT_ID": ""},
    }

    connection_disconnect(connection=connection, delete_data=False)

    assert not Connection.objects.exists()
    assert fake.calls == []
