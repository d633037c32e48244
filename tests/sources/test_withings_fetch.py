"""Withings fetch against the local fake: pagination, window splitting, errors in HTTP 200."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from sources.errors import AuthExpired, MalformedPayload, ProviderError, RateLimited
from sources.providers import withings
from tests.fakes.base import FakeResponse
from tests.fakes.withings import FakeWithings

USER = 12345678


@pytest.fixture
def fake(settings):
    with FakeWithings(page_size=2) as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "withings": server.settings_for(),
        }
        server.seed_from_fixtures(USER)
        yield server


@pytest.fixture
def provider():
    return withings.Withings()


@pytest.fixture
def token(fake):
    return fake.issue_tokens(USER)[0]


def pages(provider, token, data_type, start, end):
    return list(provider.fetch(provider.http(), token, data_type, start, end))


JAN = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 31, tzinfo=UTC))
EARLY_JAN = (datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC))  # one chunk


def test_getmeas_follows_the_integer_more_and_offset(fake, provider, token):
    got = pages(provider, token, "measures", *JAN)
    calls = fake.calls_to("/measure")
    # 7 groups in January, 2 per page: category=1 leaves out the objective and meastypes
    # the group holding only an AFib result (type 130).
    assert [p["body"]["more"] for p in got] == [1, 1, 1, 0]
    assert [c.form.get("offset") for c in calls] == [None, "2", "4", "6"]
    assert {c.form["action"] for c in calls} == {"getmeas"}
    assert {c.form["category"] for c in calls} == {"1"}
    assert calls[0].bearer == token
    grpids = [g["grpid"] for p in got for g in p["body"]["measuregrps"]]
    assert len(grpids) == len(set(grpids)) == 7


def test_getmeas_sends_the_window_as_unix_seconds(fake, provider, token):
    pages(provider, token, "measures", *JAN)
    form = fake.calls_to("/measure")[0].form
    assert form["startdate"] == str(int(JAN[0].timestamp()))
    assert form["enddate"] == str(int(JAN[1].timestamp()) - 1)
    assert set(form["meastypes"].split(",")) >= {"1", "4", "9", "10", "11", "54", "77"}


def test_v2_services_follow_the_boolean_more(fake, provider, token):
    got = pages(provider, token, "workouts", *EARLY_JAN)
    assert [p["body"]["more"] for p in got] == [True, False]
    calls = fake.calls_to("/v2/measure")
    assert [c.form.get("offset") for c in calls] == [None, "2"]
    assert calls[0].form["action"] == "getworkouts"
    ids = {w["id"] for p in got for w in p["body"]["series"]}
    assert ids == {3661300001, 3661300350, 3661300400, 3661300500}


def test_sleep_and_activity_use_local_dates_around_the_window(fake, provider, token):
    start = datetime(2026, 1, 5, 12, tzinfo=UTC)
    pages(provider, token, "sleep", start, start + timedelta(days=1))
    form = fake.calls_to("/v2/sleep")[0].form
    assert form["action"] == "getsummary"
    # 14 h either side: every time zone's local date of the window.
    assert (form["startdateymd"], form["enddateymd"]) == ("2026-01-04", "2026-01-07")
    assert "startdate" not in form and "lastupdate" not in form


def test_a_long_window_is_split_into_chunks_the_fake_accepts(fake, provider, token):
    fake.max_range_days = 30
    got = pages(provider, token, "activity", datetime(2025, 10, 1, tzinfo=UTC), JAN[1])
    ranges = [(c.form["startdateymd"], c.form["enddateymd"]) for c in fake.calls_to("/v2/measure")]
    assert ranges[0][0] == "2025-09-30" and ranges[-1][1] == "2026-01-31"
    for (_, last), (following, _) in pairwise(ranges):
        assert (datetime.fromisoformat(following) - datetime.fromisoformat(last)).days == 1
    assert all((datetime.fromisoformat(b) - datetime.fromisoformat(a)).days < 30 for a, b in ranges)
    assert sum(len(p["body"]["activities"]) for p in got) == 2  # Jan 5 and Jan 6


def test_a_measures_window_longer_than_a_chunk_is_split(fake, provider, token):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    pages(provider, token, "measures", start, start + timedelta(days=200))
    windows = {(c.form["startdate"], c.form["enddate"]) for c in fake.calls_to("/measure")}
    assert len(windows) == 3  # 90 + 90 + 20 days
    assert max(int(b) - int(a) for a, b in windows) < 90 * 86400


def test_status_401_inside_http_200_is_auth_expired(fake, provider, token):
    fake.expire_access_token(token)
    with pytest.raises(AuthExpired, match="status 401"):
        pages(provider, token, "measures", *JAN)


def test_status_601_is_rate_limited_for_a_minute(fake, provider, token):
    fake.rate_limit = 1
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        pages(provider, token, "measures", *JAN)  # the second page is one request too many
    after = datetime.now(UTC)
    assert before + timedelta(seconds=60) <= caught.value.retry_at <= after + timedelta(seconds=60)
    assert len(fake.calls_to("/measure")) == 2


def test_http_429_honours_retry_after(fake, provider, token):
    fake.fail_next(FakeResponse(429, {}, headers={"Retry-After": "120"}), match="/v2/sleep")
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        pages(provider, token, "sleep", *JAN)
    after = datetime.now(UTC)
    assert before + timedelta(seconds=120) <= caught.value.retry_at
    assert caught.value.retry_at <= after + timedelta(seconds=121)


def test_another_status_is_a_provider_error_naming_it(fake, provider, token):
    fake.fail_next(FakeResponse(200, {"status": 2555, "body": {}, "error": "Unauthorized"}))
    with pytest.raises(ProviderError, match="status 2555") as caught:
        pages(provider, token, "workouts", *JAN)
    assert not isinstance(caught.value, AuthExpired | RateLimited)


def test_an_offset_that_does_not_advance_is_malformed(fake, provider, token):
    stuck = {"status": 0, "body": {"series": [], "more": True, "offset": 0}}
    fake.fail_next(FakeResponse(200, stuck), match="/v2/measure")
    with pytest.raises(MalformedPayload, match="offset"):
        pages(provider, token, "workouts", *JAN)


def test_a_non_json_answer_is_malformed(fake, provider, token):
    fake.fail_next(FakeResponse(200, "<html>maintenance</html>"))
    with pytest.raises(MalformedPayload):
        pages(provider, token, "activity", *JAN)


def test_fetched_pages_normalize(fake, provider, token):
    records = 0
    for page in pages(provider, token, "sleep", *JAN):
        records += len(provider.normalize("sleep", page).sleep)
    assert records == 3  # the in-progress night is skipped
