"""What the Sources page and API read: owner scoping, backfill progress, refusals, errors."""

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone

from sources import selectors
from sources.models import Connection, SyncCursor
from tests.sources.ui.helpers import hold_claim, make_connection

pytestmark = pytest.mark.django_db


def test_connections_are_scoped_to_their_owner(connection, user, other_user):
    mine = selectors.connections_for_user(user=user)
    assert list(mine) == [connection]
    assert not selectors.connections_for_user(user=other_user).exists()
    with pytest.raises(Connection.DoesNotExist):
        selectors.connection_get(user=other_user, connection_id=connection.id)


def test_backfill_progress_is_the_share_of_each_history_window_synced(connection):
    now = timezone.now()
    # heartrate: 15 of its 30 days; resting: complete.
    SyncCursor.objects.create(
        connection=connection,
        data_type="heartrate",
        oldest_synced=now - timedelta(days=15),
        newest_synced=now,
    )
    SyncCursor.objects.create(connection=connection, data_type="resting", backfill_complete=True)
    overall, items = selectors.backfill_progress(
        connection=connection, provider=selectors.provider_or_none("pulse"), now=now
    )
    assert [(i.name, i.covered, i.complete) for i in items] == [
        ("heartrate", 0.5, False),
        ("resting", 1.0, True),
    ]
    assert overall == 0.75


def test_a_data_type_without_a_cursor_counts_as_nothing_synced(connection):
    overall, items = selectors.backfill_progress(
        connection=connection, provider=selectors.provider_or_none("pulse")
    )
    assert overall == 0
    assert all(item.covered == 0 for item in items)


def test_sync_is_refused_while_a_live_run_holds_the_connection(connection):
    assert selectors.sync_refusal(connection=connection) is None
    hold_claim(connection)
    assert selectors.sync_refusal(connection=connection).code == "sync_running"
    # A claim nobody has renewed for a long time belongs to a dead worker.
    Connection.objects.filter(id=connection.id).update(
        sync_claimed_at=timezone.now() - timedelta(hours=2)
    )
    connection.refresh_from_db()
    assert selectors.sync_refusal(connection=connection) is None


def test_sync_is_refused_while_parked_and_says_until_when(connection, user):
    user.timezone = "Europe/Berlin"
    user.save()
    until = timezone.now() + timedelta(minutes=20)
    connection.parked_until = until
    connection.save()
    refusal = selectors.sync_refusal(connection=connection)
    assert refusal.code == "parked"
    assert refusal.retry_at == until
    local = timezone.localtime(until, zoneinfo.ZoneInfo("Europe/Berlin"))
    assert f"{local:%Y-%m-%d %H:%M} (Europe/Berlin)" in refusal.message
    # The schedule's next sync is not before the rate limit lifts.
    assert selectors.next_sync_at(connection=connection) == until


def test_a_connection_needing_reconnect_has_no_next_sync_and_says_why(connection):
    connection.status = Connection.Status.NEEDS_RECONNECT
    connection.save()
    assert selectors.sync_refusal(connection=connection).code == "needs_reconnect"
    assert selectors.next_sync_at(connection=connection) is None
    assert "Reconnect" in selectors.connection_last_error(connection=connection)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (
            "GET https://api.example/v2/x?access_token=abc: the provider had an error (HTTP 503)",
            "Pulse's servers had a problem. HealthHub will try again later.",
        ),
        (
            "GET https://api.example/v2/x: the provider did not answer in time",
            "Pulse did not answer in time. HealthHub will try again later.",
        ),
        (
            "https://api.example/v2/x?code=1: the answer is not JSON (HTTP 200)",
            "Pulse sent data HealthHub could not read; nothing from that answer was saved.",
        ),
        ("Something odd at https://api.example/v2/x?token=secret", "Something odd at Pulse"),
    ],
)
def test_stored_errors_are_told_in_plain_words_without_urls(stored, expected):
    plain = selectors.error_in_plain_words(stored, name="Pulse")
    assert plain == expected
    assert "http" not in plain and "token=" not in plain


def test_providers_offered_are_the_configured_ones_not_yet_connected(pulse, user, settings):
    assert [p.slug for p in selectors.providers_offered(user=user)] == ["pulse"]
    make_connection(user)
    assert selectors.providers_offered(user=user) == []
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        "pulse": {**settings.HEALTHHUB_PROVIDERS["pulse"], "CLIENT_SECRET": ""},
    }
    Connection.objects.filter(user=user).delete()
    assert selectors.providers_offered(user=user) == []
