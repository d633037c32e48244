"""The whole WHOOP path against the local fake: connect through allauth -> callback ->
backfill -> signed webhook -> targeted sync, and a replayed delivery changing nothing."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.catalog import BY_KEY
from metrics.models import Sample, SleepSession, Workout
from sources.models import Connection, SyncRun
from tests.fakes.whoop import FakeWhoop, iso
from tests.sources.oauth_helpers import connect
from tests.sources.whoop_support import MEMBER

pytestmark = pytest.mark.django_db
SITE = "http://127.0.0.1:8000"


@pytest.fixture
def fake(settings):
    settings.SITE_URL = SITE
    with FakeWhoop() as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "whoop": server.settings_for(),
        }
        server.add_member(MEMBER)
        first = (timezone.now() - timedelta(days=12)).replace(hour=0, minute=0, second=0)
        server.generate(MEMBER, first, days=10)
        server.seed_fixtures(MEMBER)  # March 2026 records and a body measurement
        yield server


def count(model, user):
    return model.objects.filter(data_source__user=user).count()


def new_night(fake: FakeWhoop) -> str:
    """A sleep WHOOP scores after the backfill (ended an hour ago)."""
    end = timezone.now() - timedelta(hours=1)
    night = {
        **fake.members[MEMBER].data["sleep"][-1],
        "id": str(uuid.uuid4()),
        "start": iso(end - timedelta(hours=8)),
        "end": iso(end),
    }
    fake.seed(MEMBER, "sleep", [night])
    return night["id"]


def test_connect_backfill_webhook_then_replay(
    user_client, user, fake, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = connect(user_client, fake, "whoop")
    assert response.status_code == 302
    connection = Connection.objects.get(user=user, provider="whoop")
    assert connection.provider_user_id == str(MEMBER)
    backfill = SyncRun.objects.get(connection=connection, trigger=SyncRun.Trigger.CONNECT)
    assert backfill.status == SyncRun.Status.SUCCEEDED, backfill.error
    # 10 generated nights + 3 recorded ones (a nap and a pending night among them).
    assert count(SleepSession, user) == 13
    assert count(Workout, user) == 13
    height = Sample.objects.filter(data_source__user=user, metric=BY_KEY["height"].id)
    assert [round(value, 2) for value in height.values_list("value", flat=True)] == [182.88]

    sleep_id = new_night(fake)
    event = fake.event(MEMBER, "sleep.updated", sleep_id)
    with django_capture_on_commit_callbacks(execute=True):
        answer = fake.deliver(f"{SITE}/webhooks/whoop/", event, client=user_client)
    assert answer.status_code == 200
    run = SyncRun.objects.get(connection=connection, trigger=SyncRun.Trigger.WEBHOOK)
    assert (run.status, run.data_types) == (SyncRun.Status.SUCCEEDED, ["cycle", "sleep"])
    assert SleepSession.objects.filter(external_id=sleep_id).exists()

    with django_capture_on_commit_callbacks(execute=True):
        again = fake.deliver(f"{SITE}/webhooks/whoop/", event, client=user_client)
    assert again.status_code == 200
    assert SyncRun.objects.filter(connection=connection).count() == 2


def test_a_forged_webhook_changes_nothing(
    user_client, user, fake, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        connect(user_client, fake, "whoop")
    runs = SyncRun.objects.count()
    event = fake.event(MEMBER, "sleep.updated", new_night(fake))
    with django_capture_on_commit_callbacks(execute=True):
        answer = fake.deliver(f"{SITE}/webhooks/whoop/", event, client=user_client, secret="x")
    assert answer.status_code == 401
    assert SyncRun.objects.count() == runs
