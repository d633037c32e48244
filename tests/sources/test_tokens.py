"""sources.services.tokens: refresh before expiry and after a 401, serialized per
connection, persisted before use; a dead grant marks the connection for reconnecting."""

import threading
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from sources.errors import AuthExpired, AuthRevoked
from sources.models import Connection
from sources.services.tokens import access_token_for, token_refresh
from tests.factories import UserFactory
from tests.sources.dummy_provider import DummyFake, use_dummy


@pytest.fixture
def fake():
    with DummyFake() as server:
        yield server


@pytest.fixture
def provider(monkeypatch, settings, fake):
    return use_dummy(monkeypatch, settings, "oura", fake)


def make_connection(fake, *, expires_in: int) -> Connection:
    access, refresh = fake.issue(expires_in=expires_in)
    connection = Connection(
        user=UserFactory(),
        provider="oura",
        provider_user_id="acct-1",
        token_expires_at=timezone.now() + timedelta(seconds=expires_in),
    )
    connection.access_token, connection.refresh_token = access, refresh
    connection.save()
    return connection


def test_a_valid_token_is_used_as_it_is(db, fake, provider):
    connection = make_connection(fake, expires_in=3600)

    assert access_token_for(connection, http=provider.http()) == fake.issued[0][0]
    assert fake.refreshes == 0


def test_a_token_expiring_within_five_minutes_is_refreshed_and_saved_first(db, fake, provider):
    connection = make_connection(fake, expires_in=240)
    _, old_refresh = fake.issued[0]

    token = access_token_for(connection, http=provider.http())

    new_access, new_refresh = fake.issued[1]
    assert token == new_access and fake.refreshes == 1
    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.access_token, stored.refresh_token) == (new_access, new_refresh)
    assert stored.token_expires_at > timezone.now() + timedelta(minutes=50)
    assert connection.refresh_token == new_refresh  # the caller's instance too
    assert provider.get_data(provider.http(), token) == {"data": [1, 2, 3]}
    with pytest.raises(AuthRevoked):  # the fake refuses the rotated-away refresh token
        provider.refresh(provider.http(), old_refresh)


def test_after_a_401_it_refreshes_once(db, fake, provider):
    connection = make_connection(fake, expires_in=3600)
    rejected = connection.access_token

    token = token_refresh(connection, http=provider.http(), rejected=rejected)

    assert token != rejected and fake.refreshes == 1
    assert Connection.objects.get(pk=connection.pk).access_token == token


def test_a_401_for_a_token_already_replaced_makes_no_call(db, fake, provider):
    connection = make_connection(fake, expires_in=3600)
    stale = Connection.objects.get(pk=connection.pk)
    fresh = token_refresh(connection, http=provider.http(), rejected=connection.access_token)

    token = token_refresh(stale, http=provider.http(), rejected=fake.issued[0][0])

    assert token == fresh and fake.refreshes == 1
    assert stale.refresh_token == fake.issued[1][1]


def test_a_dead_grant_asks_for_a_reconnect_and_stops_calling(db, fake, provider):
    connection = make_connection(fake, expires_in=0)
    fake.refresh_tokens.clear()  # the user withdrew consent

    with pytest.raises(AuthRevoked) as caught:
        access_token_for(connection, http=provider.http())

    stored = Connection.objects.get(pk=connection.pk)
    assert stored.status == Connection.Status.NEEDS_RECONNECT
    message = (
        "Dummy Oura no longer accepts HealthHub's access. Reconnect Dummy Oura to resume syncing."
    )
    assert stored.last_error == message and str(caught.value) == message
    assert fake.refreshes == 1
    for call in (access_token_for, token_refresh):
        with pytest.raises(AuthRevoked):
            call(stored, http=provider.http())
    with pytest.raises(AuthRevoked):
        token_refresh(connection, http=provider.http(), rejected="whatever")
    assert fake.refreshes == 1


def test_a_crash_right_after_the_refresh_keeps_the_new_pair(db, fake, provider):
    connection = make_connection(fake, expires_in=0)

    with pytest.raises(RuntimeError):
        access_token_for(connection, http=provider.http())
        raise RuntimeError("the worker died before using the token")

    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.access_token, stored.refresh_token) == fake.issued[1]
    assert access_token_for(stored, http=provider.http()) == fake.issued[1][0]
    assert fake.refreshes == 1


def test_it_refuses_to_refresh_inside_a_callers_transaction(transactional_db, fake, provider):
    connection = make_connection(fake, expires_in=0)

    # A rollback of the caller's transaction would lose a pair the provider rotated.
    with pytest.raises(RuntimeError), transaction.atomic():
        access_token_for(connection, http=provider.http())

    assert fake.refreshes == 0
    assert Connection.objects.get(pk=connection.pk).refresh_token == fake.issued[0][1]


def test_twenty_concurrent_workers_make_one_refresh(transactional_db, fake, provider):
    connection = make_connection(fake, expires_in=0)
    fake.refresh_delay = 0.2  # the lock must hold the others while the provider answers
    barrier = threading.Barrier(20)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker():
        try:
            mine = Connection.objects.get(pk=connection.pk)
            barrier.wait()
            tokens.append(access_token_for(mine, http=provider.http()))
        except BaseException as exc:
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert fake.refreshes == 1 and fake.invalid_grants == 0
    assert len(tokens) == 20 and set(tokens) == {fake.issued[1][0]}
    assert Connection.objects.get(pk=connection.pk).refresh_token == fake.issued[1][1]


def test_an_expired_access_token_is_refused_by_the_fake(db, fake, provider):
    # The premise of the tests above: the fake really enforces expiry.
    connection = make_connection(fake, expires_in=0)

    with pytest.raises(AuthExpired):
        provider.get_data(provider.http(), connection.access_token)
