"""Log redaction: nothing secret reaches a log line.

Runs as the last structlog processor before rendering, so it covers our own events, Django's,
Celery's and django-structlog's request events alike.
"""

import re
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"

# Keys whose values are secrets or health data wherever they appear in an event.
SENSITIVE_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "token",
        "password",
        "secret",
        "client_secret",
        "authorization",
        "state",
        "key",
        "otp",
        "value",
        "values",
    }
)

# Secrets carried in URL paths: allauth's password-reset and email-confirmation keys.
_PATH_SECRETS = re.compile(r"(/(?:password/reset/key|confirm-email)/)[^/?\s\"']+")
_QUERY = re.compile(r"\?[^\s\"']*")


def _redact_query(match: re.Match) -> str:
    pairs = [(k, REDACTED) for k, _ in parse_qsl(match.group(0)[1:], keep_blank_values=True)]
    return "?" + urlencode(pairs, safe="[]")


def redact_text(text: str) -> str:
    """Redact secret path segments and every query-string value in a text that may hold
    URLs (a request line, or a message such as "Not Found: /path?x=1")."""
    text = _PATH_SECRETS.sub(lambda m: m.group(1) + REDACTED, text)
    return _QUERY.sub(_redact_query, text)


def redact_sensitive(logger, method_name, event_dict):
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
    for key in ("event", "request", "path"):
        if isinstance(event_dict.get(key), str):
            event_dict[key] = redact_text(event_dict[key])
    return event_dict
