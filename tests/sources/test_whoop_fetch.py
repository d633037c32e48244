"""WHOOP fetch against the local fake: pagination, window splitting, limits, errors."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from sources.errors import AuthExpired, MalformedPayload, ProviderError, RateLimited
from tests.fakes.base import FakeResponse
from tests.sources.whoop_support import MEMBER, WHOOP, connect, payload, started_fake

FIRST = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def fake(settings):
    yield from started_fake(settings)


@pytest.fixture
def token(fake):
    fake.generate(MEMBER, FIRST, days=60)
    return connect(fake).access_token


def pages(data_type, token, start, end):
    return list(WHOOP.fetch(WHOOP.http(), token, data_type, start, end))


def test_it_follows_next_token_until_the_window_is_read(fake, token):
    got = pages("cycle", token, FIRST, FIRST + timedelta(days=30))
    assert [len(page["records"]) for page in got] == [25, 5]
    requests_made = fake.calls_to("/developer/v2/cycle")
    assert "nextToken" not in requests_made[0].query
    assert requests_made[1].query["nextToken"] == got[0]["next_token"]
    ids = [record["id"] for page in got for record in page["records"]]
    assert len(set(ids)) == 30


def test_it_never_asks_for_more_than_25_records(fake, token):
    pages("sleep", token, FIRST, FIRST + timedelta(days=60))
    limits = {int(call.query["limit"]) for call in fake.calls_to("/developer/v2/activity/sleep")}
    assert limits == {25}


def test_the_fake_refuses_a_limit_above_25(fake, token):
    response = requests.get(
        f"{fake.base_url}/developer/v2/cycle",
        params={"limit": 26},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 400


def test_a_long_window_is_split_into_chunks(fake, token):
    got = pages("workout", token, FIRST, FIRST + timedelta(days=60))
    windows = [
        (call.query["start"], call.query["end"])
        for call in fake.calls_to("/developer/v2/activity/workout")
        if "nextToken" not in call.query
    ]
    assert windows == [
        ("2026-01-01T00:00:00.000Z", "2026-01-31T00:00:00.000Z"),
        ("2026-01-31T00:00:00.000Z", "2026-03-02T00:00:00.000Z"),
    ]
    assert sum(len(page["records"]) for page in got) == 60


def test_the_window_end_is_exclusive(fake, token):
    # Day 3's cycle starts at 2026-01-04T03:00Z: a window ending exactly there misses it.
    got = pages("cycle", token, FIRST, datetime(2026, 1, 4, 3, tzinfo=UTC))
    assert [record["id"] for record in got[0]["records"]] == [500_002, 500_001, 500_000]


def test_recovery_is_filtered_by_its_sleep(fake, token):
    got = pages("recovery", token, FIRST, FIRST + timedelta(days=2))
    assert [record["cycle_id"] for record in got[0]["records"]] == [500_001, 500_000]


def test_a_429_raises_rate_limited_until_the_reset(fake, token):
    fake.fail_next(fake.rate_limited(reset_seconds=42), match="/developer/v2/cycle")
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        pages("cycle", token, FIRST, FIRST + timedelta(days=5))
    after = datetime.now(UTC)
    assert before + timedelta(seconds=42) <= caught.value.retry_at <= after + timedelta(seconds=42)


def test_an_exhausted_budget_answers_429(fake, token):
    fake.rate_budget = 1
    fake.rate_reset_seconds = 30
    with pytest.raises(RateLimited):
        pages("sleep", token, FIRST, FIRST + timedelta(days=60))
    assert len(fake.calls_to("/developer/v2/activity/sleep")) == 2


def test_an_expired_access_token_raises_auth_expired(fake, token):
    fake.expire_access_tokens()
    with pytest.raises(AuthExpired):
        pages("cycle", token, FIRST, FIRST + timedelta(days=5))


def test_a_repeated_next_token_is_malformed(fake, token):
    loop = FakeResponse(200, {"records": [], "next_token": "same"})
    fake.fail_next(loop, times=3, match="/developer/v2/cycle")
    with pytest.raises(MalformedPayload):
        pages("cycle", token, FIRST, FIRST + timedelta(days=5))


def test_a_missing_scope_is_a_provider_error(fake, token):
    fake.fail_next(FakeResponse(403, {"message": "Missing scope"}), match="/developer/v2/")
    with pytest.raises(ProviderError, match="403"):
        pages("workout", token, FIRST, FIRST + timedelta(days=5))


def test_body_is_one_request_stamped_at_the_start_of_the_windows_last_day(fake, token):
    fake.seed_fixtures(MEMBER)
    end = datetime.now(UTC)
    got = pages("body", token, end - timedelta(days=1), end)
    assert got == [
        {
            "as_of": end.strftime("%Y-%m-%dT00:00:00.000Z"),
            "measurement": payload("body"),
        }
    ]
    assert len(fake.calls_to("/developer/v2/user/measurement/body")) == 1


def test_body_windows_that_ended_days_ago_fetch_nothing(fake, token):
    end = datetime.now(UTC) - timedelta(days=5)
    assert pages("body", token, end - timedelta(days=1), end) == []
    assert fake.calls_to("/developer/v2/user/measurement/body") == []


def test_the_profile_names_the_whoop_user(fake, token):
    assert WHOOP.profile_user_id(WHOOP.http(), token) == str(MEMBER)
