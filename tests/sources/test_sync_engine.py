"""The sync engine against a minimal provider ("Pulse", tests/sources/engine_provider.py)."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from metrics.models import DataSource, Sample
from sources.models import Connection, SyncCursor, SyncRun
from sources.services import sync
from tests.fakes.base import FakeResponse
from tests.sources.engine_provider import PAGE_SIZE, SLUG, FakePulse, install

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    now = timezone.now()
    with FakePulse(now - timedelta(days=120), now - timedelta(minutes=5)) as server:
        yield server


@pytest.fixture
def provider(settings, fake):
    settings.SYNC_RAW_PAYLOAD_DAYS = 7
    return install(settings, fake)


@pytest.fixture
def connection(user, provider):
    item = Connection(
        user=user,
        provider=SLUG,
        provider_user_id="u-1",
        token_expires_at=timezone.now() + timedelta(hours=1),
        backfill_days=90,
    )
    item.access_token = "access-1"
    item.refresh_token = "refresh-1"
    item.save()
    return item


def samples(metric_key: str | None = None) -> int:
    from metrics.catalog import BY_KEY

    rows = Sample.objects.filter(data_source_id__in=DataSource.objects.filter(kind=SLUG))
    if metric_key:
        rows = rows.filter(metric=BY_KEY[metric_key].id)
    return rows.count()


def readings_between(fake, start, end) -> int:
    return sum(1 for r in fake.readings if start <= r < end)


def test_first_sync_backfills_every_type_in_chunks_and_records_the_run(connection, fake):
    run = sync.sync_run_now(connection=connection, trigger=SyncRun.Trigger.CONNECT)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    now = run.started_at
    expected = readings_between(fake, now - timedelta(days=90), now)
    assert samples("heart_rate") == expected
    assert samples("resting_heart_rate") == expected
    # heartrate: 90 days in 30-day windows; resting: 45-day windows.
    windows = {
        kind: len({c.query["start"] for c in fake.calls_to("/v1/data") if c.query["type"] == kind})
        for kind in ("heartrate", "resting")
    }
    assert windows == {"heartrate": 3, "resting": 2}
    assert run.counts["heartrate"]["samples"] == expected
    assert run.counts["heartrate"]["pages"] >= expected // PAGE_SIZE
    assert run.requests == len(fake.calls)
    assert run.progress == 1.0
    assert all(c.backfill_complete for c in SyncCursor.objects.filter(connection=connection))
    connection.refresh_from_db()
    assert connection.sync_claim == ""
    assert connection.last_success_at == run.finished_at
    assert connection.next_sync_at > run.finished_at + timedelta(minutes=59)
    assert (
        connection.payloads.count()
        == run.counts["heartrate"]["pages"] + run.counts["resting"]["pages"]
    )


def test_incremental_sync_rereads_only_the_look_back_and_adds_nothing_twice(connection, fake):
    first = sync.sync_run_now(connection=connection)
    stored = samples()
    fake.calls.clear()

    second = sync.sync_run_now(connection=connection)

    assert second.status == SyncRun.Status.SUCCEEDED
    assert samples() == stored
    earliest = min(
        timezone.datetime.fromisoformat(c.query["start"]) for c in fake.calls_to("/v1/data")
    )
    assert earliest >= first.started_at - timedelta(days=2)
    assert second.counts["heartrate"]["samples"] == 0


def test_a_backfill_interrupted_half_way_continues_from_its_cursor(connection, fake):
    # The third heartrate window fails (a crash in the middle of the run).
    calls = {"n": 0}
    original = fake.data

    def failing(request):
        if request.query["type"] == "heartrate" and request.query.get("cursor") is None:
            calls["n"] += 1
            if calls["n"] == 3:
                return FakeResponse(503, {"error": "unavailable"})
        return original(request)

    fake.route("GET", "/v1/data", failing)
    run = sync.sync_run_now(connection=connection)
    assert run.status == SyncRun.Status.FAILED
    cursor = SyncCursor.objects.get(connection=connection, data_type="heartrate")
    assert not cursor.backfill_complete
    assert cursor.oldest_synced > run.started_at - timedelta(days=61)
    done = samples("heart_rate")
    assert 0 < done < readings_between(fake, run.started_at - timedelta(days=90), run.started_at)

    fake.route("GET", "/v1/data", original)
    again = sync.sync_run_now(connection=connection)

    assert again.status == SyncRun.Status.SUCCEEDED
    expected = readings_between(fake, again.started_at - timedelta(days=90), again.started_at)
    assert samples("heart_rate") == expected


def test_a_429_parks_the_connection_until_the_provider_says(connection, fake):
    fake.fail_next(FakeResponse(429, {"error": "slow down"}, {"Retry-After": "120"}))

    run = sync.sync_run_now(connection=connection)

    assert run.status == SyncRun.Status.RATE_LIMITED
    connection.refresh_from_db()
    wait = connection.parked_until - run.started_at
    assert timedelta(seconds=115) <= wait <= timedelta(seconds=130)
    assert connection.next_sync_at == connection.parked_until
    assert "slow down" in connection.last_error and "resumes" in connection.last_error
    requests_made = len(fake.calls)
    # Nothing talks to the provider before that time: not the schedule, not "sync now".
    assert sync.syncs_dispatch() == 0
    assert sync.sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is None
    assert len(fake.calls) == requests_made
    # After it: due again.
    later = connection.parked_until + timedelta(seconds=1)
    assert list(sync._due(later)) == [connection]


def test_server_errors_back_off_with_jitter_then_become_a_visible_error(settings, connection, fake):
    settings.SYNC_MAX_RETRIES = 3
    fake.fail_next(FakeResponse(503, {"error": "down"}), times=100)
    delays = []
    for attempt in range(1, 4):
        run = sync.sync_run_now(connection=connection)
        assert run.status == SyncRun.Status.FAILED
        connection.refresh_from_db()
        assert connection.consecutive_failures == attempt
        delays.append((connection.next_sync_at - run.finished_at).total_seconds())
        if attempt < 3:
            assert connection.last_error == ""
    # 1, 2, 4 minutes, each with ±50 % jitter.
    for delay, base in zip(delays, (60, 120, 240), strict=True):
        assert base * 0.5 - 1 <= delay <= base * 1.5 + 1
    assert "failed 3 times" in connection.last_error
    assert samples() == 0


def test_a_malformed_page_writes_nothing_of_its_window_and_other_types_go_on(connection, fake):
    fake.malformed_types = {"resting"}

    run = sync.sync_run_now(connection=connection)

    assert run.status == SyncRun.Status.PARTIAL
    assert samples("resting_heart_rate") == 0
    assert samples("heart_rate") > 0
    resting = SyncCursor.objects.get(connection=connection, data_type="resting")
    assert resting.oldest_synced is None and resting.newest_synced is None
    connection.refresh_from_db()
    assert connection.last_error.startswith("resting:")


def test_an_expired_access_token_is_refreshed_once_and_the_window_retried(connection, fake):
    fake.tokens = {"access-other": "refresh-1"}  # access-1 no longer accepted

    run = sync.sync_run_now(connection=connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert fake.refreshes == 1
    connection.refresh_from_db()
    assert connection.refresh_token != "refresh-1"
    assert connection.access_token in fake.tokens


def test_a_dead_refresh_token_asks_the_user_to_reconnect_and_stops_syncing(connection, fake):
    fake.tokens = {}  # neither token works any more

    run = sync.sync_run_now(connection=connection)

    assert run.status == SyncRun.Status.FAILED
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_RECONNECT
    assert "Reconnect Pulse" in connection.last_error
    calls = len(fake.calls)
    assert sync.syncs_dispatch(now=timezone.now() + timedelta(days=1)) == 0
    assert sync.sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is None
    assert len(fake.calls) == calls


def test_one_run_at_a_time_per_connection(connection):
    Connection.objects.filter(id=connection.id).update(
        sync_claim="other-run", sync_claimed_at=timezone.now()
    )
    with pytest.raises(sync.SyncBusy):
        sync.sync_run_now(connection=connection)
    assert sync.sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is None

    # A claim without a heartbeat for CLAIM_STALE_AFTER belongs to a dead worker.
    Connection.objects.filter(id=connection.id).update(
        sync_claimed_at=timezone.now() - sync.CLAIM_STALE_AFTER - timedelta(seconds=1)
    )
    assert sync.sync_run_now(connection=connection).status == SyncRun.Status.SUCCEEDED


def test_dispatch_queues_each_due_connection_once(connection, other_user, provider):
    not_due = Connection.objects.create(
        user=other_user,
        provider=SLUG,
        provider_user_id="u-2",
        next_sync_at=timezone.now() + timedelta(minutes=30),
    )
    unoffered = Connection.objects.create(
        user=other_user, provider="retired", provider_user_id="u-3"
    )  # its module or its credentials are gone from this server
    assert sync.syncs_dispatch() == 1  # eager: the run happens inline
    assert not SyncRun.objects.filter(connection=unoffered).exists()
    assert SyncRun.objects.filter(connection=connection, trigger="schedule").count() == 1
    assert not SyncRun.objects.filter(connection=not_due).exists()
    assert sync.syncs_dispatch() == 0


def test_sync_request_queues_one_run_and_folds_webhooks(
    connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        manual = sync.sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
        again = sync.sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
        hook1 = sync.sync_request(
            connection=connection, trigger=SyncRun.Trigger.WEBHOOK, data_types=("resting",)
        )
        hook2 = sync.sync_request(
            connection=connection, trigger=SyncRun.Trigger.WEBHOOK, data_types=("heartrate",)
        )
    assert manual.status == SyncRun.Status.QUEUED and again == manual
    assert hook1 == hook2
    hook2.refresh_from_db()
    assert hook2.data_types == ["heartrate", "resting"]
    assert len(queued) == 2


def test_housekeeping_prunes_and_recovers(connection, settings):
    old = timezone.now() - timedelta(days=8)
    run = sync.sync_run_now(connection=connection)
    connection.payloads.update(fetched_at=old)
    stuck = SyncRun.objects.create(
        connection=connection,
        user=connection.user,
        trigger="manual",
        status=SyncRun.Status.RUNNING,
        started_at=old,
    )
    lost = SyncRun.objects.create(
        connection=connection, user=connection.user, trigger="manual", created_at=old
    )

    result = sync.sync_housekeeping()

    assert result["payloads"] == run.counts["heartrate"]["pages"] + run.counts["resting"]["pages"]
    assert result["closed"] == 1 and result["requeued"] == 1
    stuck.refresh_from_db()
    assert stuck.status == SyncRun.Status.FAILED and "stopped" in stuck.error
    lost.refresh_from_db()
    assert lost.status == SyncRun.Status.SUCCEEDED  # eager: re-queued and run


def test_kept_payloads_can_be_normalized_again(connection, fake):
    run = sync.sync_run_now(connection=connection)
    Sample.objects.filter(data_source_id__in=DataSource.objects.filter(kind=SLUG)).delete()

    totals = sync.payloads_replay(connection=connection, data_type="heartrate")

    assert totals["payloads"] == run.counts["heartrate"]["pages"]
    assert samples("heart_rate") == run.counts["heartrate"]["samples"]
    assert samples("resting_heart_rate") == 0
    out = io.StringIO()
    call_command("replay_payloads", str(connection.id), stdout=out)
    assert "malformed: 0" in out.getvalue()
    assert samples("resting_heart_rate") == run.counts["resting"]["samples"]


def test_a_type_the_provider_refuses_is_reported_and_the_others_sync(connection, fake):
    def refused(request):
        if request.query["type"] == "resting":
            return FakeResponse(403, {"detail": "missing scope"})
        return original(request)

    original = fake.data
    fake.route("GET", "/v1/data", refused)
    provider = sync.providers.get(SLUG)
    provider_fetch = provider.fetch

    def fetch(http, token, data_type, start, end):
        for page in provider_fetch(http, token, data_type, start, end):
            if "detail" in page:
                raise sync.ProviderError(f"Pulse refused {data_type}: missing scope")
            yield page

    provider.fetch = fetch
    run = sync.sync_run_now(connection=connection)

    assert run.status == SyncRun.Status.PARTIAL
    assert samples("heart_rate") > 0 and samples("resting_heart_rate") == 0
    assert "missing scope" in run.error
