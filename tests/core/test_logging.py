import io
import json
import logging

import pytest

from core.logging import REDACTED, redact_sensitive, redact_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """What the configured JSON handler writes, captured in memory."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def log_lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines()]


def test_each_request_logs_json_lines_with_the_returned_request_id(client, log_output):
    response = client.get("/accounts/login/")
    request_id = response["X-Request-ID"]
    lines = [
        line for line in log_lines(log_output.getvalue()) if line.get("request_id") == request_id
    ]
    assert [line["event"] for line in lines] == ["request_started", "request_finished"]
    assert lines[1]["code"] == 200
    assert lines[1]["level"] == "info"
    assert lines[1]["timestamp"].endswith("Z")


def test_a_client_chosen_request_id_is_ignored_unless_the_proxy_is_trusted(client, settings):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] != "abc-123"
    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_secrets_in_urls_never_reach_the_log(client, log_output, user):
    client.get("/accounts/password/reset/key/1-abcdef-SECRETKEY123/")
    client.get("/accounts/login/?next=/&token=SECRETTOKEN456")
    client.post("/accounts/login/", {"login": user.email, "password": "SECRETPASSWORD789"})
    out = log_output.getvalue()
    for secret in ("SECRETKEY123", "SECRETTOKEN456", "SECRETPASSWORD789"):
        assert secret not in out
    assert "/accounts/password/reset/key/[redacted]/" in out


def test_redaction_of_sensitive_keys_and_texts():
    event = redact_sensitive(
        None,
        "info",
        {
            "event": "Not Found: /cb?code=abc&state=xyz",
            "refresh_token": "r-1",
            "Authorization": "Bearer x",
            "value": 72.5,
            "count": 3,
        },
    )
    assert event == {
        "event": "Not Found: /cb?code=[redacted]&state=[redacted]",
        "refresh_token": REDACTED,
        "Authorization": REDACTED,
        "value": REDACTED,
        "count": 3,
    }
    assert redact_text("GET /accounts/confirm-email/Mjk:1v:abc/") == (
        "GET /accounts/confirm-email/[redacted]/"
    )
