"""Oura webhooks: challenge handshake, signature and timestamp checks, subscriptions."""

import json
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from sources.errors import WebhookRejected
from tests.sources.oura_support import OURA, payload, started_fake

PATH = "/webhooks/oura/"


@pytest.fixture
def fake(settings):
    yield from started_fake(settings)


def post(body: bytes, headers: dict):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    return RequestFactory().post(PATH, data=body, content_type="application/json", **extra)


def now_stamp(delta: timedelta = timedelta()) -> str:
    return str(int((timezone.now() + delta).timestamp()))


def test_a_valid_event_names_the_user_type_and_object(fake):
    body, headers = fake.signed_event(payload("webhook_event"), timestamp=now_stamp())
    (event,) = OURA.verify_webhook(post(body, headers))
    assert event.provider_user_id == "5a8c0f2e1d3b4c6a"
    assert event.data_types == ("sleep",)
    assert event.object_id == "c5a1b8e4-2f63-4d0b-9a39-0e8f52b8a001"
    assert not event.deleted and event.start < event.end
    assert len(event.delivery_id) == 64


def test_a_replayed_delivery_has_the_same_delivery_id(fake):
    body, headers = fake.signed_event(payload("webhook_event"), timestamp=now_stamp())
    first = OURA.verify_webhook(post(body, headers))[0].delivery_id
    assert OURA.verify_webhook(post(body, headers))[0].delivery_id == first


def test_a_bad_signature_is_rejected(fake):
    body, headers = fake.signed_event(payload("webhook_event"), timestamp=now_stamp(), secret="x")
    with pytest.raises(WebhookRejected) as info:
        OURA.verify_webhook(post(body, headers))
    assert info.value.status == 401


def test_a_body_tampered_by_one_byte_is_rejected(fake):
    body, headers = fake.signed_event(payload("webhook_event"), timestamp=now_stamp())
    tampered = body.replace(b'"update"', b'"updatf"')
    assert len(tampered) == len(body)
    with pytest.raises(WebhookRejected):
        OURA.verify_webhook(post(tampered, headers))


@pytest.mark.parametrize("delta", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_more_than_5_minutes_off_is_rejected(fake, delta):
    body, headers = fake.signed_event(payload("webhook_event"), timestamp=now_stamp(delta))
    with pytest.raises(WebhookRejected, match="stale"):
        OURA.verify_webhook(post(body, headers))


def test_missing_signature_headers_are_rejected(fake):
    body = json.dumps(payload("webhook_event")).encode()
    with pytest.raises(WebhookRejected):
        OURA.verify_webhook(post(body, {}))


def test_vo2_max_events_map_to_our_data_type_and_deletes_are_flagged(fake):
    event = fake.event("u1", "vo2_max", "abc", event_type="delete")
    body, headers = fake.signed_event(event, timestamp=now_stamp())
    (parsed,) = OURA.verify_webhook(post(body, headers))
    assert parsed.data_types == ("vo2_max",) and parsed.deleted


def test_events_for_data_types_we_do_not_sync_are_verified_but_empty(fake):
    body, headers = fake.signed_event(fake.event("u1", "enhanced_tag", "t1"), timestamp=now_stamp())
    assert OURA.verify_webhook(post(body, headers)) == []


def test_the_handshake_echoes_the_challenge_for_our_token(fake):
    request = RequestFactory().get(PATH, {"verification_token": "verify-me", "challenge": "c-42"})
    response = OURA.webhook_handshake(request)
    assert response.status_code == 200
    assert json.loads(response.content) == {"challenge": "c-42"}


def test_the_handshake_refuses_a_wrong_token(fake):
    request = RequestFactory().get(PATH, {"verification_token": "nope", "challenge": "c-42"})
    response = OURA.webhook_handshake(request)
    assert response.status_code == 401 and b"c-42" not in response.content


def test_a_post_is_not_a_handshake(fake):
    assert OURA.webhook_handshake(post(b"{}", {})) is None


def test_subscribe_creates_each_pair_once_and_is_idempotent(fake):
    callback = "https://hub.example.org/webhooks/oura/"
    created = OURA.subscribe(OURA.http(), "", callback)
    assert len(created) == 8 * 3 == len(fake.subscriptions)
    assert {s["data_type"] for s in created} >= {"vo2_max", "sleep", "daily_stress"}
    post_call = fake.calls_to("/v2/webhook/subscription", "POST")[0]
    assert post_call.headers["x-client-id"] == fake.client_id
    assert post_call.json["verification_token"] == "verify-me"
    again = OURA.subscribe(OURA.http(), "", callback)
    assert len(fake.calls_to("/v2/webhook/subscription", "POST")) == 24
    assert {s["id"] for s in again} == {s["id"] for s in created}


def test_renew_extends_subscriptions_close_to_expiry(fake):
    fake.subscription_ttl = timedelta(days=3)
    created = OURA.subscribe(OURA.http(), "", "https://hub.example.org/webhooks/oura/")
    fake.subscription_ttl = timedelta(days=90)
    renewed = OURA.renew_subscriptions(OURA.http(), created)
    assert len(fake.calls_to("/v2/webhook/subscription/renew/", "PUT")) == 24
    assert all(
        new["expires_at"] > old["expires_at"] for old, new in zip(created, renewed, strict=True)
    )
    OURA.renew_subscriptions(OURA.http(), renewed)  # far from expiry: nothing to do
    assert len(fake.calls_to("/v2/webhook/subscription/renew/", "PUT")) == 24


def test_a_subscription_oura_forgot_is_recreated_on_renewal(fake):
    fake.subscription_ttl = timedelta(days=1)
    created = OURA.subscribe(OURA.http(), "", "https://hub.example.org/webhooks/oura/")
    fake.subscriptions.pop(created[0]["id"])
    renewed = OURA.renew_subscriptions(OURA.http(), created)
    assert renewed[0]["id"] != created[0]["id"] and renewed[0]["id"] in fake.subscriptions


def test_one_users_disconnect_keeps_the_apps_subscriptions(fake):
    created = OURA.subscribe(OURA.http(), "", "https://hub.example.org/webhooks/oura/")
    OURA.unsubscribe(OURA.http(), "token", "https://hub.example.org/webhooks/oura/", created)
    assert len(fake.subscriptions) == 24
    assert OURA.delete_subscriptions(OURA.http(), created) == 24
    assert fake.subscriptions == {}
