"""Disconnect: a confirmation page asking to keep or delete the source's data, behind a
recent reauthentication."""

import pytest

from metrics.models import DataSource, Sample
from sources.models import Connection
from sources.services.sync import sync_run_now
from tests.conftest import reauthenticate
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(connection):
    sync_run_now(connection=connection)
    assert Sample.objects.filter(data_source__kind="pulse").exists()
    return connection


def pulse_samples() -> int:
    ids = DataSource.objects.filter(kind="pulse").values_list("id", flat=True)
    return Sample.objects.filter(data_source_id__in=list(ids)).count()


def test_the_confirmation_page_asks_whether_to_keep_or_delete_the_data(user_client, connection):
    html = user_client.get(f"/sources/{connection.id}/disconnect/").content.decode()
    assert "Disconnect Pulse" in html
    assert 'type="radio" name="data" value="keep"' in html
    assert 'type="radio" name="data" value="delete"' in html


def test_disconnecting_asks_for_the_password_again(user_client, connection):
    response = user_client.post(f"/sources/{connection.id}/disconnect/", {"data": "keep"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert Connection.objects.filter(id=connection.id).exists()


def test_disconnect_and_keep_the_data(user_client, synced):
    before = pulse_samples()
    reauthenticate(user_client)
    response = user_client.post(f"/sources/{synced.id}/disconnect/", {"data": "keep"}, follow=True)
    assert "Pulse is disconnected; its data is kept." in response.content.decode()
    assert not Connection.objects.filter(id=synced.id).exists()
    assert pulse_samples() == before > 0
    # The provider is offered again.
    assert "Connect Pulse" in response.content.decode()


def test_disconnect_and_delete_the_data(user_client, synced):
    reauthenticate(user_client)
    response = user_client.post(
        f"/sources/{synced.id}/disconnect/", {"data": "delete"}, follow=True
    )
    assert "Pulse is disconnected and its data deleted." in response.content.decode()
    assert not Connection.objects.filter(id=synced.id).exists()
    assert pulse_samples() == 0


def test_the_choice_is_required(user_client, connection):
    reauthenticate(user_client)
    response = user_client.post(f"/sources/{connection.id}/disconnect/", {})
    assert response.status_code == 400
    assert Connection.objects.filter(id=connection.id).exists()


def test_the_suspended_post_resumes_after_reauthentication(user_client, connection):
    user_client.post(f"/sources/{connection.id}/disconnect/", {"data": "keep"})
    response = user_client.post(
        f"/accounts/reauthenticate/?next=/sources/{connection.id}/disconnect/",
        {"password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/sources/"
    assert not Connection.objects.filter(id=connection.id).exists()
