"""A minimal provider and its fake, for testing the sync engine on its own.

"Pulse" serves heart-rate readings at /v1/data?type=&start=&end=&cursor= (ISO datetimes,
PAGE_SIZE readings per page), signs webhooks with hex HMAC-SHA256 over "<timestamp>.<body>",
and refreshes tokens with rotation. Real providers' modules are tested in their own files.
"""

import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

from metrics.schemas import SampleIn, SourceRef
from sources.errors import AuthRevoked, MalformedPayload, WebhookRejected
from sources.providers import REGISTRY
from sources.providers.base import DataType, Normalized, Provider, TokenSet, WebhookEvent
from tests.fakes.base import FakeProvider, FakeRequest, FakeResponse

SLUG = "pulse"
SECRET = "pulse-client-secret"
PAGE_SIZE = 10


class PulseProvider(Provider):
    slug = SLUG
    name = "Pulse"
    webhooks = True
    data_types = (
        DataType("heartrate", ("heart_rate",), max_history_days=90, chunk_days=30),
        DataType("resting", ("resting_heart_rate",), max_history_days=90, chunk_days=45),
    )

    def parse_token_response(self, data):
        if "access_token" not in data:
            raise AuthRevoked(data.get("error", "no token"))
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            expires_at=datetime.now(UTC) + timedelta(seconds=data["expires_in"]),
        )

    def refresh(self, http, refresh_token):
        response = http.request(
            "POST",
            self.config["TOKEN_URL"],
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )
        return self.parse_token_response(http.json(response))

    def fetch(self, http, access_token, data_type, start, end):
        cursor = ""
        while True:
            params = {"start": start.isoformat(), "end": end.isoformat(), "type": data_type}
            if cursor:
                params["cursor"] = cursor
            page = http.json(
                http.request("GET", self.url("/v1/data"), token=access_token, params=params)
            )
            yield page
            cursor = page.get("next") or ""
            if not cursor:
                return

    def normalize(self, data_type, page):
        metric = {"heartrate": "heart_rate", "resting": "resting_heart_rate"}[data_type]
        out = Normalized()
        try:
            for item in page["items"]:
                at = datetime.fromisoformat(item["at"])
                out.samples.append(
                    SampleIn(metric, at, at, float(item["bpm"]), "/min", SourceRef(SLUG, "Band"))
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedPayload(f"{data_type}: {type(exc).__name__}") from exc
        return out

    def verify_webhook(self, request):
        stamp = request.headers.get("X-Pulse-Timestamp", "")
        given = request.headers.get("X-Pulse-Signature", "")
        expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256)
        if not hmac.compare_digest(given, expected.hexdigest()):
            raise WebhookRejected("bad signature")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            raise WebhookRejected("stale timestamp")
        body = json.loads(request.body)
        return [
            WebhookEvent(
                provider_user_id=str(body["user"]),
                data_types=(body["type"],),
                delivery_id=body["id"],
                object_id=body.get("object", ""),
                deleted=body.get("deleted", False),
            )
        ]


class FakePulse(FakeProvider):
    """Serves readings every 12 hours between `first` and `last`, PAGE_SIZE per page."""

    def __init__(self, first: datetime, last: datetime):
        super().__init__()
        self.readings = []
        at = first
        while at <= last:
            self.readings.append(at)
            at += timedelta(hours=12)
        self.tokens = {"access-1": "refresh-1"}
        self.refreshes = 0
        self.malformed_types: set[str] = set()
        self.route("GET", "/v1/data", self.data)
        self.route("POST", "/oauth/token", self.token)

    def data(self, request: FakeRequest) -> FakeResponse:
        if request.bearer not in self.tokens:
            return FakeResponse(401, {"error": "invalid_token"})
        kind = request.query["type"]
        if kind in self.malformed_types:
            return FakeResponse(200, {"items": [{"at": "yesterday"}]})
        start = datetime.fromisoformat(request.query["start"])
        end = datetime.fromisoformat(request.query["end"])
        chosen = [r for r in self.readings if start <= r < end]
        offset = int(request.query.get("cursor") or 0)
        page = chosen[offset : offset + PAGE_SIZE]
        bpm = 60 if kind == "heartrate" else 50
        items = [{"at": r.isoformat(), "bpm": bpm + r.day % 7} for r in page]
        more = offset + PAGE_SIZE < len(chosen)
        following = str(offset + PAGE_SIZE) if more else None
        return FakeResponse(200, {"items": items, "next": following})

    def token(self, request: FakeRequest) -> FakeResponse:
        form = request.form
        with self.lock:
            for access, refresh in list(self.tokens.items()):
                if refresh == form.get("refresh_token"):
                    self.refreshes += 1
                    del self.tokens[access]
                    new_access = f"access-{secrets.token_hex(4)}"
                    self.tokens[new_access] = f"refresh-{secrets.token_hex(4)}"
                    return FakeResponse(
                        200,
                        {
                            "access_token": new_access,
                            "refresh_token": self.tokens[new_access],
                            "expires_in": 3600,
                        },
                    )
        return FakeResponse(400, {"error": "invalid_grant"})


def sign(body: bytes, stamp: int | None = None, secret: str = SECRET) -> dict:
    stamp = int(time.time()) if stamp is None else stamp
    digest = hmac.new(secret.encode(), str(stamp).encode() + b"." + body, hashlib.sha256)
    return {"HTTP_X_PULSE_TIMESTAMP": str(stamp), "HTTP_X_PULSE_SIGNATURE": digest.hexdigest()}


def install(settings, fake: FakePulse) -> PulseProvider:
    settings.HEALTHHUB_PROVIDERS = {
        **settings.HEALTHHUB_PROVIDERS,
        SLUG: {
            "CLIENT_ID": "pulse-client",
            "CLIENT_SECRET": SECRET,
            "AUTHORIZE_URL": f"{fake.base_url}/oauth/authorize",
            "TOKEN_URL": f"{fake.base_url}/oauth/token",
            "REVOKE_URL": f"{fake.base_url}/oauth/revoke",
            "API_BASE": fake.base_url,
        },
    }
    provider = PulseProvider()
    REGISTRY[SLUG] = provider
    return provider
