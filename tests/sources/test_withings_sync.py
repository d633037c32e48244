"""Withings through the ingestion service and the sync engine, against the local fake."""

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.models import Sample, SleepSession, Workout
from metrics.services.ingest import samples_ingest, sleep_sessions_ingest, workouts_ingest
from sources.models import Connection, SyncRun
from sources.providers import withings
from sources.services.sync import sync_run_now
from tests.fakes.withings import FakeWithings, fixture

USER = 12345678
provider = withings.Withings()


@pytest.fixture
def fake(settings):
    with FakeWithings(page_size=5, max_range_days=30) as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "withings": server.settings_for(),
        }
        yield server


@pytest.fixture
def connection(fake, user):
    access, refresh = fake.issue_tokens(USER)
    item = Connection(
        user=user,
        provider="withings",
        provider_user_id=str(USER),
        token_expires_at=timezone.now() + timedelta(hours=3),
        scopes="user.metrics user.activity",
        backfill_days=20,
    )
    item.access_token, item.refresh_token = access, refresh
    item.save()
    return item


@pytest.mark.django_db
def test_every_recorded_payload_is_accepted_by_the_ingestion_service(user):
    for data_type, names in {
        "measures": ("getmeas_page1.json", "getmeas_page2.json"),
        "activity": ("getactivity.json",),
        "sleep": ("getsummary.json",),
        "workouts": ("getworkouts.json",),
    }.items():
        for name in names:
            out = provider.normalize(data_type, fixture(name))
            results = [
                samples_ingest(user=user, records=out.samples),
                sleep_sessions_ingest(user=user, sessions=out.sleep),
                workouts_ingest(user=user, workouts=out.workouts),
            ]
            assert [r.rejected for r in results] == [0, 0, 0], (name, results)
    height = Sample.objects.get(metric=67)  # stored in the catalog's cm
    assert height.value == pytest.approx(178)
    assert SleepSession.objects.count() == 3
    assert Workout.objects.count() == 4


@pytest.mark.django_db
def test_a_backfill_reads_every_data_type_into_the_store(fake, connection):
    today = timezone.now().date()
    fake.generate(USER, today - timedelta(days=10), today - timedelta(days=1))
    run = sync_run_now(connection=connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    weights = Sample.objects.filter(metric=60, data_source__user=connection.user)
    assert weights.count() == 10
    assert SleepSession.objects.filter(data_source__user=connection.user).count() == 10
    assert Workout.objects.filter(data_source__user=connection.user).count() == 4
    assert Sample.objects.filter(metric=1, data_source__user=connection.user).count() == 10


@pytest.mark.django_db
def test_an_expired_token_is_refreshed_once_and_the_new_pair_saved(fake, connection):
    old_refresh = connection.refresh_token
    fake.expire_access_token(connection.access_token)
    run = sync_run_now(connection=connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert fake.refresh_calls == 1
    connection.refresh_from_db()
    assert connection.refresh_token != old_refresh
    assert connection.access_token in fake.access_tokens


@pytest.mark.django_db
def test_a_dead_refresh_token_asks_the_user_to_reconnect(fake, connection):
    fake.expire_access_token(connection.access_token)
    fake.refresh_tokens[connection.refresh_token].dead = True
    sync_run_now(connection=connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_RECONNECT


@pytest.mark.django_db
def test_a_notification_through_the_webhook_view_syncs_that_window(
    fake, connection, client, django_capture_on_commit_callbacks
):
    callback = "https://hub.example.org/webhooks/withings/"
    provider.subscribe(provider.http(), connection.access_token, callback)
    assert fake.head_probe(callback, client=client).status_code == 200
    today = timezone.now().date()
    fake.generate(USER, today - timedelta(days=1), today - timedelta(days=1))
    end = int(timezone.now().timestamp())
    start = end - 2 * 86400  # covers yesterday's 07:00 UTC weigh-in
    with django_capture_on_commit_callbacks(execute=True):  # the queued sync runs (eager)
        response = fake.deliver(callback, USER, 1, client=client, startdate=start, enddate=end)
    assert response.status_code == 200
    run = SyncRun.objects.get(connection=connection, trigger=SyncRun.Trigger.WEBHOOK)
    assert (run.data_types, run.status) == (["measures"], SyncRun.Status.SUCCEEDED)
    assert Sample.objects.filter(metric=60, data_source__user=connection.user).count() == 1
    # Withings retries the same notification: acknowledged, not synced twice.
    again = fake.deliver(callback, USER, 1, client=client, startdate=start, enddate=end)
    assert again.status_code == 200
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.WEBHOOK).count() == 1


@pytest.mark.django_db
def test_disconnect_revokes_with_the_stored_user_id_and_no_extra_refresh(fake, connection):
    from sources.services.connections import connection_disconnect

    connection_disconnect(connection=connection, delete_data=False)

    assert fake.revoked_users == [USER]
    assert fake.refresh_calls == 0
    assert not Connection.objects.filter(id=connection.id).exists()
