"""WHOOP webhook verification: signature, timestamp, body, handshake."""

import json
import time

import pytest
from django.test import RequestFactory

from sources.errors import WebhookRejected
from tests.fakes.whoop import FakeWhoop
from tests.sources.whoop_support import WHOOP, payload

SECRET = "whoop-webhook-secret"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        "whoop": {**settings.HEALTHHUB_PROVIDERS["whoop"], "CLIENT_SECRET": SECRET},
    }


def delivery(event, *, body=None, **signing):
    """An HttpRequest carrying `event` signed as WHOOP signs it (body may be swapped)."""
    signed_body, headers = FakeWhoop(client_secret=SECRET).signed(event, **signing)
    del headers["Content-Type"]
    return RequestFactory().post(
        "/webhooks/whoop/",
        data=signed_body if body is None else body,
        content_type="application/json",
        headers=headers,
    )


def test_a_valid_delivery_names_the_user_type_and_object():
    [event] = WHOOP.verify_webhook(delivery(payload("webhook_sleep_updated")))
    assert event.provider_user_id == "10129"
    assert event.data_types == ("sleep", "cycle")
    assert event.object_id == "ecfc6a15-4661-442f-a9a4-f160dd7afae8"
    assert event.delivery_id == "e369c784-5100-49e8-8098-75d35c47b31b"
    assert event.deleted is False


def test_a_recovery_named_by_its_cycle_id_is_accepted():
    [event] = WHOOP.verify_webhook(delivery(payload("webhook_recovery_updated")))
    assert (event.data_types, event.object_id) == (("recovery",), "93845")


def test_a_deletion_is_marked_deleted():
    body = {**payload("webhook_sleep_updated"), "type": "workout.deleted"}
    [event] = WHOOP.verify_webhook(delivery(body))
    assert (event.deleted, event.data_types) == (True, ("workout", "cycle"))


def test_a_wrong_signature_is_rejected():
    with pytest.raises(WebhookRejected) as caught:
        WHOOP.verify_webhook(delivery(payload("webhook_sleep_updated"), secret="not-the-secret"))
    assert caught.value.status == 401


def test_a_body_changed_by_one_byte_is_rejected():
    event = payload("webhook_sleep_updated")
    original = json.dumps(event, separators=(",", ":")).encode()
    tampered = original.replace(b"10129", b"10128")
    assert len(tampered) == len(original)
    with pytest.raises(WebhookRejected, match="signature"):
        WHOOP.verify_webhook(delivery(event, body=tampered))


def test_a_timestamp_more_than_5_minutes_old_is_rejected():
    stale = int((time.time() - 6 * 60) * 1000)
    with pytest.raises(WebhookRejected, match="stale"):
        WHOOP.verify_webhook(delivery(payload("webhook_sleep_updated"), timestamp_ms=stale))


def test_a_timestamp_more_than_5_minutes_ahead_is_rejected():
    ahead = int((time.time() + 6 * 60) * 1000)
    with pytest.raises(WebhookRejected, match="stale"):
        WHOOP.verify_webhook(delivery(payload("webhook_sleep_updated"), timestamp_ms=ahead))


def test_a_timestamp_in_seconds_is_not_mistaken_for_milliseconds():
    seconds = int(time.time())
    with pytest.raises(WebhookRejected):
        WHOOP.verify_webhook(delivery(payload("webhook_sleep_updated"), timestamp_ms=seconds))


def test_missing_signature_headers_are_rejected():
    request = RequestFactory().post("/webhooks/whoop/", data=b"{}", content_type="application/json")
    with pytest.raises(WebhookRejected):
        WHOOP.verify_webhook(request)


def test_a_signed_body_that_is_not_a_whoop_event_is_a_bad_request():
    body = {"user_id": "10129", "id": "x", "type": "sleep.updated", "trace_id": "t"}
    with pytest.raises(WebhookRejected) as caught:
        WHOOP.verify_webhook(delivery(body))
    assert caught.value.status == 400


def test_an_unknown_signed_event_type_is_acknowledged_without_events():
    body = {**payload("webhook_sleep_updated"), "type": "body_measurement.updated"}
    assert WHOOP.verify_webhook(delivery(body)) == []


def test_the_handshake_answers_a_probe_and_leaves_posts_to_verification():
    probe = WHOOP.webhook_handshake(RequestFactory().get("/webhooks/whoop/"))
    assert probe is not None and probe.status_code == 200
    assert WHOOP.webhook_handshake(delivery(payload("webhook_sleep_updated"))) is None


def test_subscriptions_are_dashboard_only():
    http = WHOOP.http()
    assert WHOOP.subscribe(http, "token", "https://example.org/webhooks/whoop/") == []
    assert WHOOP.renew_subscriptions(http, []) == []
    assert WHOOP.unsubscribe(http, "token", "https://example.org/webhooks/whoop/", []) is None
