import time

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_the_user_sees_their_sessions_and_can_end_the_others(user_client, user):
    laptop = Client(HTTP_USER_AGENT="Laptop browser")
    assert login(laptop, user.email).status_code == 302
    assert laptop.get("/").status_code == 200

    page = user_client.get("/accounts/sessions/")
    assert page.status_code == 200
    assert b"Laptop browser" in page.content

    response = user_client.post("/accounts/sessions/")
    assert response.status_code == 302
    assert laptop.get("/").status_code == 302  # the other session is over
    assert user_client.get("/").status_code == 200  # this one continues


def test_sessions_of_other_users_are_not_listed(user_client, other_user):
    stranger = Client(HTTP_USER_AGENT="Stranger browser")
    login(stranger, other_user.email)
    page = user_client.get("/accounts/sessions/")
    assert b"Stranger browser" not in page.content
    user_client.post("/accounts/sessions/")
    assert stranger.get("/").status_code == 200


def test_a_session_ends_after_the_idle_timeout(user_client, settings):
    """Sessions live in the cache (TTL = idle timeout) backed by the database (expiry
    date). Time travel does not age Redis keys, so each step drops the cache and lets the
    database's expiry date decide, as it does once Redis has expired the key."""
    age = settings.SESSION_COOKIE_AGE
    start = time.time()
    assert user_client.get("/").status_code == 200
    for offset, expected in ((age - 60, 200), (2 * age - 120, 200), (3 * age, 302)):
        with time_machine.travel(start + offset, tick=False):
            cache.clear()
            assert user_client.get("/").status_code == expected, offset
