"""Oura fetch against the fake: params, pagination, window splitting, errors."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from sources.errors import AuthExpired, MalformedPayload, ProviderError, RateLimited
from tests.fakes.base import FakeResponse
from tests.sources.oura_support import OURA, connect, payload, started_fake


@pytest.fixture
def fake(settings):
    yield from started_fake(settings, page_size=2)


@pytest.fixture
def token(fake):
    fake.generate("oura-user-1", date(2024, 1, 1), date(2024, 3, 31))
    return connect(fake)["access_token"]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_daily_types_use_start_date_end_date_and_follow_next_token(fake, token):
    pages = list(
        OURA.fetch(OURA.http(), token, "daily_readiness", utc(2024, 1, 10), utc(2024, 1, 13))
    )
    calls = fake.calls_to("/v2/usercollection/daily_readiness")
    # Padded a day each side: 9 Jan .. 14 Jan inclusive = 6 days, 2 per page.
    assert [c.query.get("start_date") for c in calls] == ["2024-01-09"] * 3
    assert [c.query.get("end_date") for c in calls] == ["2024-01-14"] * 3
    assert [c.query.get("next_token") is None for c in calls] == [True, False, False]
    days = [doc["day"] for page in pages for doc in page["data"]]
    assert days == [f"2024-01-{d:02}" for d in range(9, 15)]


def test_heartrate_uses_datetimes_in_windows_of_at_most_30_days(fake, token):
    fake.heartrate_page_size = 100_000
    pages = list(OURA.fetch(OURA.http(), token, "heartrate", utc(2024, 1, 1), utc(2024, 3, 11)))
    calls = fake.calls_to("/v2/usercollection/heartrate")
    assert len(calls) == len(pages) == 3
    spans = []
    for call in calls:
        assert "start_date" not in call.query and "end_date" not in call.query
        start = datetime.fromisoformat(call.query["start_datetime"])
        end = datetime.fromisoformat(call.query["end_datetime"])
        assert end - start <= timedelta(days=30)
        spans.append((start, end))
    assert spans[0][0] == utc(2024, 1, 1) and spans[-1][1] == utc(2024, 3, 11)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_vo2_max_is_fetched_from_the_capitalised_path(fake, token):
    fake.add_user("oura-user-1", {"vo2_max": payload("vo2_max")["data"]})
    (page,) = OURA.fetch(OURA.http(), token, "vo2_max", utc(2024, 1, 14), utc(2024, 1, 16))
    assert page["data"][0]["vo2_max"] == 42
    assert fake.calls_to("/v2/usercollection/vO2_max")


def test_429_raises_rate_limited_until_the_reset_epoch(fake, token):
    fake.clock = lambda: 1_900_000_000.0  # reset = clock + 600 s, later than Retry-After
    fake.fail_next(fake.rate_limited(retry_after=30, reset_in=600), match="/v2/")
    with pytest.raises(RateLimited) as info:
        list(OURA.fetch(OURA.http(), token, "daily_sleep", utc(2024, 1, 1), utc(2024, 1, 2)))
    assert info.value.retry_at == datetime.fromtimestamp(1_900_000_600, UTC)


def test_the_fakes_budget_answers_429_with_oura_headers(fake, token):
    fake.budget = 1
    with pytest.raises(RateLimited):
        list(OURA.fetch(OURA.http(), token, "daily_readiness", utc(2024, 1, 1), utc(2024, 1, 10)))
    assert len(fake.calls_to("/v2/usercollection/daily_readiness")) == 2


def test_an_expired_access_token_raises_auth_expired(fake, token):
    now = fake.clock()
    fake.clock = lambda: now + 86400 + 1
    with pytest.raises(AuthExpired):
        list(OURA.fetch(OURA.http(), token, "daily_sleep", utc(2024, 1, 1), utc(2024, 1, 2)))


def test_a_scope_not_granted_is_a_plain_words_403(fake):
    token = connect(fake, scopes=("daily",))["access_token"]
    with pytest.raises(ProviderError, match=r"heart rate.*403.*membership"):
        list(OURA.fetch(OURA.http(), token, "heartrate", utc(2024, 1, 1), utc(2024, 1, 2)))


def test_an_outdated_oura_app_is_a_plain_words_426(fake, token):
    fake.app_too_old["oura-user-1"] = {"daily_stress"}
    with pytest.raises(ProviderError, match=r"daily stress.*updated.*426"):
        list(OURA.fetch(OURA.http(), token, "daily_stress", utc(2024, 1, 1), utc(2024, 1, 2)))


def test_a_repeating_next_token_is_malformed(fake, token):
    page = {"data": [], "next_token": "same"}
    fake.fail_next(FakeResponse(200, page), times=2, match="/v2/usercollection/daily_sleep")
    with pytest.raises(MalformedPayload):
        list(OURA.fetch(OURA.http(), token, "daily_sleep", utc(2024, 1, 1), utc(2024, 1, 2)))


def test_fetch_document_returns_a_page_normalize_accepts(fake, token):
    fake.add_user("oura-user-1", {"sleep": payload("sleep")["data"]})
    page = OURA.fetch_document(OURA.http(), token, "sleep", "c5a1b8e4-2f63-4d0b-9a39-0e8f52b8a001")
    assert len(OURA.normalize("sleep", page).sleep) == 1
