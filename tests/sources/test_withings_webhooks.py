"""Withings notifications: unsigned form POSTs treated as hints; subscriptions per user."""

from datetime import UTC, datetime

import pytest
from django.test import RequestFactory

from sources.errors import AuthExpired, WebhookRejected
from sources.providers import withings
from tests.fakes.withings import FakeWithings

USER = 12345678
CALLBACK = "https://hub.example.org/webhooks/withings/"
FORM = "application/x-www-form-urlencoded"

provider = withings.Withings()


@pytest.fixture
def fake(settings):
    with FakeWithings() as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "withings": server.settings_for(),
        }
        yield server


def post(body: bytes, content_type: str = FORM):
    return RequestFactory().post("/webhooks/withings/", data=body, content_type=content_type)


def notification(**fields) -> bytes:
    return FakeWithings().notification(**fields)


def test_a_valid_notification_is_a_hint_for_the_right_data_types():
    body = notification(userid=USER, appli=44, startdate=1767567600, enddate=1767596400)
    [event] = provider.verify_webhook(post(body))
    assert event.provider_user_id == str(USER)
    assert event.data_types == ("sleep",)
    assert event.start == datetime(2026, 1, 4, 23, tzinfo=UTC)
    assert event.end == datetime(2026, 1, 5, 7, tzinfo=UTC)
    assert len(event.delivery_id) == 64


@pytest.mark.parametrize(
    ("appli", "data_types"),
    [(1, ("measures",)), (2, ("measures",)), (4, ("measures",)), (16, ("activity", "workouts"))],
)
def test_each_subscribed_appli_maps_to_data_types(appli, data_types):
    body = notification(userid=USER, appli=appli, startdate=1767567600, enddate=1767596400)
    assert provider.verify_webhook(post(body))[0].data_types == data_types


def test_a_date_notification_covers_that_local_day_everywhere():
    [event] = provider.verify_webhook(post(notification(userid=USER, appli=16, day="2026-01-05")))
    assert event.start == datetime(2026, 1, 4, 10, tzinfo=UTC)
    assert event.end == datetime(2026, 1, 6, 14, tzinfo=UTC)


def test_a_retry_has_the_same_delivery_id_and_another_window_another():
    first = notification(userid=USER, appli=1, startdate=1767600000, enddate=1767600001)
    again = provider.verify_webhook(post(first))[0].delivery_id
    assert again == provider.verify_webhook(post(first))[0].delivery_id
    other = notification(userid=USER, appli=1, startdate=1767600000, enddate=1767600002)
    assert provider.verify_webhook(post(other))[0].delivery_id != again


@pytest.mark.parametrize(
    "body",
    [
        b"userid=12345678&appli=3&startdate=1767567600&enddate=1767596400",  # 1 byte: appli 3
        b"userid=1234567x&appli=1&startdate=1767567600&enddate=1767596400",  # 1 byte: userid
        b"userid=12345678&appli=1&startdate=1767567600&enddate=176759640x",  # 1 byte: enddate
        b"userid=12345678&appli=1&startdate=1767596400&enddate=1767567600",  # inverted window
        b"userid=12345678&appli=1&startdate=4102444800&enddate=4102448400",  # year 2100
        b"userid=12345678&appli=1&date=2026-02-30",
        b"userid=12345678&appli=1",
        b"userid=12345678&userid=87654321&appli=1&startdate=1&enddate=2",
        b"",
    ],
)
def test_tampered_or_incomplete_notifications_are_rejected(body):
    with pytest.raises(WebhookRejected) as caught:
        provider.verify_webhook(post(body))
    assert caught.value.status == 400
    assert "12345678" not in str(caught.value)


def test_a_json_body_is_not_a_withings_notification():
    body = b'{"userid": 12345678, "appli": 1}'
    with pytest.raises(WebhookRejected):
        provider.verify_webhook(post(body, content_type="application/json"))


def test_the_head_probe_is_answered_200_and_nothing_else_is_a_handshake():
    factory = RequestFactory()
    assert provider.webhook_handshake(factory.head("/webhooks/withings/")).status_code == 200
    assert provider.webhook_handshake(factory.get("/webhooks/withings/")) is None


def test_subscribe_registers_every_appli_we_fetch_and_unsubscribe_removes_them(fake):
    access, _ = fake.issue_tokens(USER)
    remembered = provider.subscribe(provider.http(), access, CALLBACK)
    assert {s["appli"] for s in remembered} == {1, 2, 4, 16, 44}
    assert fake.subscriptions[USER] == {(CALLBACK, a) for a in (1, 2, 4, 16, 44)}
    assert {c.bearer for c in fake.calls_to("/notify")} == {access}
    provider.unsubscribe(provider.http(), access, CALLBACK, remembered)
    assert fake.subscriptions[USER] == set()


def test_unsubscribing_what_is_already_gone_is_not_an_error(fake):
    access, _ = fake.issue_tokens(USER)
    provider.unsubscribe(provider.http(), access, CALLBACK, [{"appli": 44}])
    assert len(fake.calls_to("/notify")) == 1


def test_subscribing_with_an_expired_token_is_auth_expired(fake):
    access, _ = fake.issue_tokens(USER)
    fake.expire_access_token(access)
    with pytest.raises(AuthExpired):
        provider.subscribe(provider.http(), access, CALLBACK)


def test_the_fake_delivers_only_to_subscribers_and_as_withings_does(fake):
    access, _ = fake.issue_tokens(USER)
    with pytest.raises(LookupError):
        fake.deliver(CALLBACK, USER, 44, startdate=1, enddate=2)
    provider.subscribe(provider.http(), access, CALLBACK)
    body = fake.notification(USER, 44, startdate=1767567600, enddate=1767596400)
    [event] = provider.verify_webhook(post(body))
    assert event.data_types == ("sleep",)
