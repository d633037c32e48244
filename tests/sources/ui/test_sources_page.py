"""The Sources page: provider cards, connection state, "Sync now" and the status JSON."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from sources.models import Connection, SyncCursor, SyncRun
from tests.conftest import login
from tests.sources.ui.helpers import hold_claim, make_connection, make_run

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/sources/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_configured_provider_is_offered_with_a_post_form_to_allauths_connect(
    user_client, pulse, fake
):
    response = user_client.get("/sources/")
    html = response.content.decode()
    assert "Connect Pulse" in html
    assert 'action="/accounts/pulse/login/?process=connect"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Heart rate" in html  # what it delivers
    # The POST is redirected to the provider's authorize page: form-action allows it.
    assert fake.base_url in response["Content-Security-Policy"].split("form-action")[1]


def test_a_provider_without_credentials_is_not_offered(user_client, pulse, settings):
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        "pulse": {**settings.HEALTHHUB_PROVIDERS["pulse"], "CLIENT_ID": ""},
    }
    html = user_client.get("/sources/").content.decode()
    assert "Pulse" not in html


def test_without_any_configured_provider_the_page_says_how_to_configure_one(
    user_client, clean_registry
):
    html = user_client.get("/sources/").content.decode()
    assert "No services are set up on this server" in html
    assert "OURA_CLIENT_ID / OURA_CLIENT_SECRET" in html


def test_a_connection_shows_its_state_progress_runs_and_plain_error(user_client, connection):
    now = timezone.now()
    SyncCursor.objects.create(
        connection=connection, data_type="heartrate", oldest_synced=now - timedelta(days=15)
    )
    make_run(
        connection,
        status=SyncRun.Status.FAILED,
        error="GET http://127.0.0.1:1/v1/data?token=x: the provider had an error (HTTP 502)",
    )
    connection.last_sync_at = now
    connection.last_error = "GET http://127.0.0.1:1/v1/data: the provider had an error (HTTP 502)"
    connection.save()
    html = user_client.get("/sources/").content.decode()
    assert "Connect Pulse" not in html
    assert "Sync now" in html
    assert 'value="25"' in html  # half of one of two data types' windows
    assert "Pulse&#x27;s servers had a problem" in html
    assert "http://127.0.0.1" not in html
    assert "heartrate</strong>: 4 samples" in html
    assert "Failed" in html


def test_a_connection_needing_reconnect_offers_reconnect_instead_of_sync(user_client, connection):
    connection.status = Connection.Status.NEEDS_RECONNECT
    connection.save()
    html = user_client.get("/sources/").content.decode()
    assert "needs reconnect" in html
    assert "Reconnect Pulse" in html
    assert "Sync now" not in html


def test_sync_now_queues_a_manual_run(user_client, connection, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = user_client.post(f"/sources/{connection.id}/sync/", follow=True)
    run = SyncRun.objects.get(connection=connection)
    assert run.trigger == SyncRun.Trigger.MANUAL
    assert run.status == SyncRun.Status.QUEUED
    assert len(callbacks) == 1  # the task is sent once the transaction commits
    assert "Sync of Pulse started." in response.content.decode()
    assert "sync queued" in response.content.decode()


def test_sync_now_is_refused_politely_while_a_sync_runs(user_client, connection):
    hold_claim(connection)
    response = user_client.post(f"/sources/{connection.id}/sync/", follow=True)
    assert "Pulse is syncing right now" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_sync_now_is_refused_while_parked_and_says_until_when(user_client, connection):
    connection.parked_until = timezone.now() + timedelta(minutes=30)
    connection.save()
    response = user_client.post(f"/sources/{connection.id}/sync/", follow=True)
    html = response.content.decode()
    assert "asked HealthHub to wait (rate limit)" in html
    assert f"{connection.parked_until:%Y-%m-%d %H:%M} (UTC)" in html
    assert not SyncRun.objects.exists()


def test_another_users_connection_answers_404(client, other_user, connection):
    assert login(client, other_user.email).status_code == 302
    assert client.post(f"/sources/{connection.id}/sync/").status_code == 404
    assert client.get(f"/sources/{connection.id}/disconnect/").status_code == 404
    assert "Pulse" not in client.get("/sources/status/").content.decode()
    assert not SyncRun.objects.exists()


def test_sync_now_needs_post(user_client, connection):
    assert user_client.get(f"/sources/{connection.id}/sync/").status_code == 405


def test_status_json_reports_state_without_tokens(user_client, user):
    connection = make_connection(user, access="AT-must-never-show", refresh="RT-never")
    hold_claim(connection)
    response = user_client.get("/sources/status/")
    body = response.json()
    assert body["connections"][0]["syncing"] is True
    assert body["connections"][0]["status"] == "active"
    assert "AT-must-never-show" not in response.content.decode()
    assert "RT-never" not in response.content.decode()


def test_the_connect_form_starts_allauths_connect_flow_for_a_real_provider(user_client, settings):
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        "whoop": {
            **settings.HEALTHHUB_PROVIDERS["whoop"],
            "CLIENT_ID": "whoop-client",
            "CLIENT_SECRET": "whoop-secret",
            "AUTHORIZE_URL": "https://auth.whoop.test/oauth/oauth2/auth",
        },
    }
    page = user_client.get("/sources/")
    html = page.content.decode()
    action = re.search(
        r'<form method="post" action="([^"]+)">\s*<input type="hidden" '
        r'name="csrfmiddlewaretoken"[^>]*><input type="hidden" name="process" '
        r'value="connect"><input type="hidden" name="next" value="/sources/">'
        r'\s*<button type="submit">Connect WHOOP</button>',
        html,
    )
    assert action is not None
    response = user_client.post(
        action.group(1).replace("&amp;", "&"), {"process": "connect", "next": "/sources/"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("https://auth.whoop.test/oauth/oauth2/auth?")
    assert "whoop-secret" not in response["Location"] and "whoop-secret" not in html
    form_action = page["Content-Security-Policy"].split("form-action")[1].split(";")[0]
    assert "https://auth.whoop.test" in form_action
