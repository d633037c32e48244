"""The HTTP seam: typed errors, the time to come back, nothing secret in messages."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from sources.errors import AuthExpired, MalformedPayload, RateLimited, TransientError
from sources.http import ProviderHTTP, retry_at, safe_url
from tests.fakes.base import FakeProvider, FakeResponse


@pytest.fixture
def fake():
    with FakeProvider() as server:
        server.route("GET", "/ok", lambda r: FakeResponse(200, {"bearer": r.bearer}))
        yield server


def response_with(headers: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return response


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "kwargs", "expected"),
    [
        ({"Retry-After": "120"}, {}, NOW + timedelta(seconds=120)),
        (
            {"Retry-After": format_datetime(NOW + timedelta(minutes=5), usegmt=True)},
            {},
            NOW + timedelta(minutes=5),
        ),
        # Oura: epoch seconds; WHOOP: seconds from now. The later signal wins.
        (
            {"X-RateLimit-Reset": str(int((NOW + timedelta(minutes=3)).timestamp()))},
            {"reset_header": "X-RateLimit-Reset", "reset_is_epoch": True},
            NOW + timedelta(minutes=3),
        ),
        (
            {"Retry-After": "30", "X-RateLimit-Reset": "90"},
            {"reset_header": "X-RateLimit-Reset"},
            NOW + timedelta(seconds=90),
        ),
        ({"Retry-After": "soon"}, {}, NOW + timedelta(seconds=60)),
        ({}, {}, NOW + timedelta(seconds=60)),
    ],
)
def test_retry_at_reads_every_signal(headers, kwargs, expected):
    assert retry_at(response_with(headers), now=NOW, **kwargs) == expected


def test_bearer_token_and_json(fake):
    http = ProviderHTTP()
    response = http.request("GET", f"{fake.base_url}/ok", token="tok-1")
    assert http.json(response) == {"bearer": "tok-1"}
    assert fake.calls[0].headers["user-agent"].startswith("HealthHub/")
    assert http.count == 1


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (FakeResponse(429, {}, {"Retry-After": "10"}), RateLimited),
        (FakeResponse(500, {}), TransientError),
        (FakeResponse(503, b"<html>"), TransientError),
        (FakeResponse(401, {"error": "invalid_token"}), AuthExpired),
    ],
)
def test_status_codes_become_typed_errors(fake, response, error):
    fake.fail_next(response)
    with pytest.raises(error) as caught:
        ProviderHTTP().request("GET", f"{fake.base_url}/ok?access_token=secret-value", token="t")
    assert "secret-value" not in str(caught.value)


def test_a_hung_provider_is_a_transient_error(fake):
    fake.fail_next(FakeResponse(200, {}, delay=1.0))
    with pytest.raises(TransientError, match="did not answer in time"):
        ProviderHTTP(timeout=(1, 0.2)).request("GET", f"{fake.base_url}/ok")


def test_an_unreachable_provider_is_a_transient_error():
    with pytest.raises(TransientError, match="could not reach"):
        ProviderHTTP(timeout=(0.5, 0.5)).request("GET", "http://127.0.0.1:9/nothing")


def test_a_body_that_is_not_json_is_malformed(fake):
    fake.fail_next(FakeResponse(200, b"<html>maintenance</html>"))
    http = ProviderHTTP()
    with pytest.raises(MalformedPayload):
        http.json(http.request("GET", f"{fake.base_url}/ok"))


def test_safe_url_drops_the_query():
    assert safe_url("https://api.example.org/oauth/revoke?access_token=x") == (
        "https://api.example.org/oauth/revoke"
    )
