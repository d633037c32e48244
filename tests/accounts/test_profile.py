import pytest

pytestmark = pytest.mark.django_db


def test_the_account_page_saves_the_profile(user_client, user):
    response = user_client.post(
        "/account/profile/", {"display_name": "Alice", "timezone": "America/Los_Angeles"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.timezone) == ("Alice", "America/Los_Angeles")


def test_an_unknown_time_zone_is_refused_with_a_message(user_client, user):
    response = user_client.post(
        "/account/profile/", {"display_name": "Alice", "timezone": "Atlantis/Capital"}
    )
    assert response.status_code == 400
    assert b"is not a known IANA time zone" in response.content
    user.refresh_from_db()
    assert user.timezone == "UTC"
