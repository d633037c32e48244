"""A local Oura API v2 that behaves like the real one (providers.md §2 and §13).

- OAuth: GET /oauth/authorize validates client_id, the exact redirect URI, state and scopes;
  `approve(authorize_url)` plays the user consenting and returns our callback URL with code
  and state. POST /oauth/token takes client_id/client_secret in the form body; codes are
  single-use and short-lived; refresh tokens are single-use and rotate (a used one answers
  invalid_grant); access tokens expire after `access_ttl` seconds of `clock()`.
- POST /oauth/revoke?access_token= revokes the grant (access and refresh tokens).
- Data: GET /v2/usercollection/<path> with start_date/end_date (inclusive local dates) or,
  for heartrate, start_datetime/end_datetime (at most 30 days, else 400); `{data,
  next_token}` pages of `page_size`; 401 for unknown or expired tokens, 403 for a scope not
  granted or an expired membership, 426 for data types the user's app is too old for.
  VO2 max is served at vO2_max. Single documents at .../<path>/<id>.
- Rate limit: `budget` requests per `window` seconds per app; then 429 with Retry-After,
  X-RateLimit-Limit/-Window/-Reset (epoch)/-Tier. `fail_next` injects anything else.
- Webhooks: /v2/webhook/subscription (x-client-id + x-client-secret), create/list/get/
  update/delete/renew with an expiration_time; `deliver(callback_url, event)` POSTs an event
  signed like Oura (upper-case hex HMAC-SHA256 of timestamp + body, keyed with the secret).
"""

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.fakes.base import FakeProvider, FakeRequest, FakeResponse

FIXTURES = Path(__file__).resolve().parent.parent / "sources" / "fixtures" / "oura"
SCOPES = {
    "email",
    "personal",
    "daily",
    "heartrate",
    "workout",
    "tag",
    "session",
    "spo2Daily",
    "spo2",
    "stress",
    "heart_health",
    "ring_configuration",
}
# REST path -> (our data type, scope it needs)
COLLECTIONS = {
    "daily_activity": ("daily_activity", "daily"),
    "sleep": ("sleep", "daily"),
    "daily_sleep": ("daily_sleep", "daily"),
    "daily_readiness": ("daily_readiness", "daily"),
    "heartrate": ("heartrate", "heartrate"),
    "workout": ("workout", "workout"),
    "daily_spo2": ("daily_spo2", "spo2Daily"),
    "daily_stress": ("daily_stress", "stress"),
    "vO2_max": ("vo2_max", "heart_health"),
}
WEBHOOK_DATA_TYPES = {
    "tag",
    "enhanced_tag",
    "workout",
    "session",
    "sleep",
    "daily_sleep",
    "daily_readiness",
    "daily_activity",
    "daily_spo2",
    "sleep_time",
    "rest_mode_period",
    "ring_configuration",
    "daily_stress",
    "daily_cardiovascular_age",
    "daily_resilience",
    "vo2_max",
    "meal",
}
CODE_TTL = 600


@dataclass
class Grant:
    user_id: str
    scopes: tuple[str, ...]
    access: set[str] = field(default_factory=set)
    refresh: str = ""
    revoked: bool = False


class OuraError(Exception):
    """The authorize page would show an error instead of redirecting."""


class FakeOura(FakeProvider):
    def __init__(
        self,
        *,
        client_id: str = "oura-client",
        client_secret: str = "oura-secret",  # noqa: S107 (a fake)
        redirect_uris: tuple[str, ...] = ("http://testserver/accounts/oura/login/callback/",),
        access_ttl: int = 86400,
        page_size: int = 50,
        heartrate_page_size: int = 288,
        budget: int | None = None,
        window: int = 300,
        subscription_ttl: timedelta = timedelta(days=90),
    ):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = set(redirect_uris)
        self.access_ttl = access_ttl
        self.page_size, self.heartrate_page_size = page_size, heartrate_page_size
        self.budget, self.window = budget, window
        self.subscription_ttl = subscription_ttl
        # Inspectable state.
        self.codes: dict[str, dict] = {}
        self.grants: list[Grant] = []
        self.access_tokens: dict[str, tuple[Grant, float]] = {}
        self.refresh_tokens: dict[str, tuple[Grant, bool]] = {}  # token -> (grant, alive)
        self.tokens_issued: list[dict] = []
        self.refresh_calls = 0
        self.revoked: list[str] = []
        self.subscriptions: dict[str, dict] = {}
        self.users: dict[str, dict[str, list[dict]]] = {}
        self.membership_expired: set[str] = set()
        self.app_too_old: dict[str, set[str]] = {}  # user -> data types answering 426
        self._window_start = 0.0
        self._window_count = 0
        self.route("GET", "/oauth/authorize", self._authorize_page)
        self.route("POST", "/oauth/token", self._token)
        self.route("POST", "/oauth/revoke", self._revoke)
        self.route("GET", "/v2/usercollection/*", self._collection)
        self.route("GET", "/v2/webhook/subscription", self._subscriptions_list)
        self.route("POST", "/v2/webhook/subscription", self._subscription_create)
        self.route("PUT", "/v2/webhook/subscription/*", self._subscription_put)
        self.route("GET", "/v2/webhook/subscription/*", self._subscription_get)
        self.route("DELETE", "/v2/webhook/subscription/*", self._subscription_delete)

    # --- settings ----------------------------------------------------------------------------
    def provider_settings(self, verification_token: str = "verify-me") -> dict:  # noqa: S107
        """HEALTHHUB_PROVIDERS["oura"] pointing at this fake."""
        return {
            "CLIENT_ID": self.client_id,
            "CLIENT_SECRET": self.client_secret,
            "AUTHORIZE_URL": self.base_url + "/oauth/authorize",
            "TOKEN_URL": self.base_url + "/oauth/token",
            "REVOKE_URL": self.base_url + "/oauth/revoke",
            "API_BASE": self.base_url,
            "WEBHOOK_VERIFICATION_TOKEN": verification_token,
        }

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # --- data seeding --------------------------------------------------------------------------
    def add_user(self, user_id: str, data: dict[str, list[dict]] | None = None) -> None:
        """Seed a user's documents per data type (our names, e.g. "vo2_max")."""
        with self.lock:
            store = self.users.setdefault(user_id, {})
            for data_type, docs in (data or {}).items():
                store.setdefault(data_type, []).extend(docs)

    def seed_from_fixtures(self, user_id: str) -> None:
        data = {}
        for _path, (data_type, _scope) in COLLECTIONS.items():
            data[data_type] = json.loads((FIXTURES / f"{data_type}.json").read_text())["data"]
        self.add_user(user_id, data)

    def generate(self, user_id: str, first: date, last: date) -> None:
        """Realistic daily activity, readiness and heart rate (every 5 min) for [first, last]."""
        activity, readiness, heart = [], [], []
        day = first
        while day <= last:
            n = day.toordinal()
            activity.append(
                {
                    "id": f"act-{day.isoformat()}",
                    "day": day.isoformat(),
                    "timestamp": f"{day.isoformat()}T04:00:00+01:00",
                    "steps": 6000 + n % 5000,
                    "active_calories": 300 + n % 200,
                    "total_calories": 2200 + n % 300,
                    "equivalent_walking_distance": 5000 + n % 4000,
                    "score": 70 + n % 30,
                    "contributors": {},
                    "met": {"interval": 60.0, "items": [1.0, None], "timestamp": "x"},
                }
            )
            readiness.append(
                {
                    "id": f"rdy-{day.isoformat()}",
                    "day": day.isoformat(),
                    "timestamp": f"{day.isoformat()}T00:00:00+01:00",
                    "score": 60 + n % 40,
                    "temperature_deviation": ((n % 7) - 3) / 10,
                    "temperature_trend_deviation": 0.0,
                    "contributors": {},
                }
            )
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            for step in range(0, 24 * 60, 5):
                moment = start + timedelta(minutes=step)
                heart.append(
                    {
                        "bpm": 55 + (n + step) % 40,
                        "source": "awake",
                        "timestamp": moment.isoformat(),
                        "timestamp_unix": int(moment.timestamp() * 1000),
                    }
                )
            day += timedelta(days=1)
        for doc in activity:  # a valid PublicSample timestamp
            doc["met"]["timestamp"] = doc["timestamp"]
        self.add_user(
            user_id, {"daily_activity": activity, "daily_readiness": readiness, "heartrate": heart}
        )

    # --- OAuth ---------------------------------------------------------------------------------
    def _check_authorize(self, query: dict[str, str]) -> tuple[str, ...]:
        if query.get("response_type") != "code":
            raise OuraError("response_type must be code")
        if query.get("client_id") != self.client_id:
            raise OuraError("unknown client_id")
        if query.get("redirect_uri") not in self.redirect_uris:
            raise OuraError("redirect_uri is not registered for this application")
        if not query.get("state"):
            raise OuraError("state is required")
        scopes = tuple(query.get("scope", "").split()) or tuple(sorted(SCOPES))
        unknown = set(scopes) - SCOPES
        if unknown:
            raise OuraError(f"unknown scope {sorted(unknown)[0]}")
        return scopes

    def _authorize_page(self, request: FakeRequest) -> FakeResponse:
        try:
            scopes = self._check_authorize(request.query)
        except OuraError as exc:
            return FakeResponse(400, f"<h1>Error</h1><p>{exc}</p>")
        return FakeResponse(200, f"<h1>Allow access?</h1><p>{' '.join(scopes)}</p>")

    def approve(
        self,
        authorize_url: str,
        user_id: str = "oura-user-1",
        scopes: tuple[str, ...] | None = None,
    ) -> str:
        """The user consents (optionally unticking scopes): our redirect URL with code+state."""
        query = {k: v[-1] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        requested = self._check_authorize(query)
        granted = tuple(s for s in requested if scopes is None or s in scopes)
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.users.setdefault(user_id, {})
            self.codes[code] = {
                "user_id": user_id,
                "scopes": granted,
                "redirect_uri": query["redirect_uri"],
                "expires": self.clock() + CODE_TTL,
                "used": False,
            }
        return query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})

    def deny(self, authorize_url: str) -> str:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        self._check_authorize(query)
        return (
            query["redirect_uri"]
            + "?"
            + urlencode({"error": "access_denied", "state": query["state"]})
        )

    def _issue(self, grant: Grant) -> dict:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        grant.access.add(access)
        grant.refresh = refresh
        self.access_tokens[access] = (grant, self.clock() + self.access_ttl)
        self.refresh_tokens[refresh] = (grant, True)
        body = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": " ".join(grant.scopes),
        }
        self.tokens_issued.append(body)
        return body

    def _token(self, request: FakeRequest) -> FakeResponse:
        form = request.form
        if form.get("client_id") != self.client_id or not hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return FakeResponse(401, {"error": "invalid_client"})
        grant_type = form.get("grant_type")
        with self.lock:
            if grant_type == "authorization_code":
                code = self.codes.get(form.get("code", ""))
                if code is None or code["used"] or code["expires"] < self.clock():
                    return FakeResponse(400, {"error": "invalid_grant"})
                code["used"] = True
                if form.get("redirect_uri") != code["redirect_uri"]:
                    return FakeResponse(400, {"error": "invalid_grant"})
                grant = Grant(code["user_id"], code["scopes"])
                self.grants.append(grant)
                return FakeResponse(200, self._issue(grant))
            if grant_type == "refresh_token":
                self.refresh_calls += 1
                entry = self.refresh_tokens.get(form.get("refresh_token", ""))
                if entry is None or not entry[1] or entry[0].revoked:
                    return FakeResponse(400, {"error": "invalid_grant"})
                grant = entry[0]
                self.refresh_tokens[form["refresh_token"]] = (grant, False)  # single use
                return FakeResponse(200, self._issue(grant))
        return FakeResponse(400, {"error": "unsupported_grant_type"})

    def _revoke(self, request: FakeRequest) -> FakeResponse:
        token = request.query.get("access_token", "")
        with self.lock:
            entry = self.access_tokens.get(token)
            if entry is None:
                return FakeResponse(401, {"detail": "invalid token"})
            grant = entry[0]
            grant.revoked = True
            self.revoked.append(token)
        return FakeResponse(200, b"")

    def _user_for(self, request: FakeRequest) -> tuple[Grant | None, FakeResponse | None]:
        entry = self.access_tokens.get(request.bearer)
        if entry is None or entry[0].revoked or entry[1] < self.clock():
            return None, FakeResponse(401, {"detail": "Unauthorized"})
        return entry[0], None

    # --- rate limit ----------------------------------------------------------------------------
    def rate_limited(self, retry_after: int = 120, reset_in: int | None = None) -> FakeResponse:
        """A 429 as Oura sends it (for fail_next too)."""
        now = self.clock()
        reset = int(now + (retry_after if reset_in is None else reset_in))
        return FakeResponse(
            429,
            {"detail": "Rate limit exceeded"},
            {
                "Retry-After": str(retry_after),
                "X-RateLimit-Limit": str(self.budget or 5000),
                "X-RateLimit-Window": str(self.window),
                "X-RateLimit-Reset": str(reset),
                "X-RateLimit-Tier": "application",
            },
        )

    def _spend(self) -> FakeResponse | None:
        if self.budget is None:
            return None
        now = self.clock()
        if now >= self._window_start + self.window:
            self._window_start, self._window_count = now, 0
        if self._window_count >= self.budget:
            reset = self._window_start + self.window
            return self.rate_limited(
                retry_after=max(1, int(reset - now)), reset_in=int(reset - now)
            )
        self._window_count += 1
        return None

    # --- data ----------------------------------------------------------------------------------
    def _collection(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            limited = self._spend()
            if limited:
                return limited
            grant, error = self._user_for(request)
            if error:
                return error
            rest = request.path.removeprefix("/v2/usercollection/").strip("/")
            path, _, document_id = rest.partition("/")
            if path == "personal_info":
                return FakeResponse(200, {"id": grant.user_id, "age": 38, "email": None})
            if path not in COLLECTIONS:
                return FakeResponse(404, {"detail": "Not Found"})
            data_type, scope = COLLECTIONS[path]
            allowed = {scope, "spo2"} if scope == "spo2Daily" else {scope}
            if not allowed & set(grant.scopes) or grant.user_id in self.membership_expired:
                return FakeResponse(403, {"detail": "Forbidden"})
            if data_type in self.app_too_old.get(grant.user_id, set()):
                return FakeResponse(426, {"detail": "Upgrade the Oura app"})
            docs = self.users.get(grant.user_id, {}).get(data_type, [])
            if document_id:
                for doc in docs:
                    if doc.get("id") == document_id:
                        return FakeResponse(200, doc)
                return FakeResponse(404, {"detail": "Not Found"})
            return self._page(request.query, data_type, docs)

    def _page(self, query: dict[str, str], data_type: str, docs: list[dict]) -> FakeResponse:
        if data_type == "heartrate":
            if "start_date" in query or "end_date" in query:
                return FakeResponse(400, {"detail": "heartrate takes start_datetime/end_datetime"})
            try:
                first = datetime.fromisoformat(query["start_datetime"])
                last = datetime.fromisoformat(query.get("end_datetime") or self.now().isoformat())
            except (KeyError, ValueError):
                return FakeResponse(422, {"detail": [{"msg": "invalid datetime"}]})
            if first.tzinfo is None or last.tzinfo is None:
                return FakeResponse(422, {"detail": [{"msg": "datetime needs an offset"}]})
            if last - first > timedelta(days=30):
                return FakeResponse(400, {"detail": "range must be 30 days or less"})
            selected = [d for d in docs if first <= datetime.fromisoformat(d["timestamp"]) <= last]
            size = self.heartrate_page_size
        else:
            if "start_datetime" in query:
                return FakeResponse(400, {"detail": "use start_date/end_date"})
            try:
                first = date.fromisoformat(query["start_date"][:10])
                last = date.fromisoformat(query.get("end_date", "9999-12-31")[:10])
            except (KeyError, ValueError):
                return FakeResponse(422, {"detail": [{"msg": "invalid date"}]})
            selected = [d for d in docs if first <= date.fromisoformat(d["day"]) <= last]
            size = self.page_size
        fingerprint = hashlib.sha256(
            json.dumps(
                {k: v for k, v in query.items() if k != "next_token"}, sort_keys=True
            ).encode()
        ).hexdigest()[:12]
        offset = 0
        if query.get("next_token"):
            try:
                token = json.loads(base64.urlsafe_b64decode(query["next_token"]))
                assert token["q"] == fingerprint
                offset = int(token["o"])
            except Exception:
                return FakeResponse(400, {"detail": "invalid next_token"})
        chunk = selected[offset : offset + size]
        more = offset + size < len(selected)
        next_token = (
            base64.urlsafe_b64encode(
                json.dumps({"q": fingerprint, "o": offset + size}).encode()
            ).decode()
            if more
            else None
        )
        return FakeResponse(200, {"data": chunk, "next_token": next_token})

    # --- webhook subscriptions -----------------------------------------------------------------
    def _app_auth(self, request: FakeRequest) -> FakeResponse | None:
        if request.headers.get("x-client-id") != self.client_id or not hmac.compare_digest(
            request.headers.get("x-client-secret", ""), self.client_secret
        ):
            return FakeResponse(401, {"detail": "invalid client credentials"})
        return None

    def _subscriptions_list(self, request: FakeRequest) -> FakeResponse:
        error = self._app_auth(request)
        return error or FakeResponse(200, list(self.subscriptions.values()))

    def _subscription_create(self, request: FakeRequest) -> FakeResponse:
        error = self._app_auth(request)
        if error:
            return error
        body = request.json or {}
        keys = ("callback_url", "verification_token", "event_type", "data_type")
        if not all(isinstance(body.get(k), str) and body[k] for k in keys):
            return FakeResponse(422, {"detail": [{"msg": "field required"}]})
        if body["event_type"] not in ("create", "update", "delete") or (
            body["data_type"] not in WEBHOOK_DATA_TYPES
        ):
            return FakeResponse(422, {"detail": [{"msg": "invalid enum value"}]})
        with self.lock:
            for item in self.subscriptions.values():
                if (item["event_type"], item["data_type"], item["callback_url"]) == (
                    body["event_type"],
                    body["data_type"],
                    body["callback_url"],
                ):
                    return FakeResponse(409, {"detail": "subscription already exists"})
            item = {
                "id": str(uuid.uuid4()),
                "callback_url": body["callback_url"],
                "event_type": body["event_type"],
                "data_type": body["data_type"],
                "expiration_time": (self.now() + self.subscription_ttl).isoformat(),
                "verification_token": body["verification_token"],
            }
            self.subscriptions[item["id"]] = item
        return FakeResponse(201, self._public(item))

    @staticmethod
    def _public(item: dict) -> dict:
        return {k: v for k, v in item.items() if k != "verification_token"}

    def _subscription_get(self, request: FakeRequest) -> FakeResponse:
        error = self._app_auth(request)
        if error:
            return error
        item = self.subscriptions.get(request.path.rsplit("/", 1)[-1])
        if item is None:
            return FakeResponse(404, {"detail": "Not Found"})
        return FakeResponse(200, self._public(item))

    def _subscription_put(self, request: FakeRequest) -> FakeResponse:
        error = self._app_auth(request)
        if error:
            return error
        rest = request.path.removeprefix("/v2/webhook/subscription/")
        renew = rest.startswith("renew/")
        item = self.subscriptions.get(rest.removeprefix("renew/"))
        if item is None:
            return FakeResponse(404, {"detail": "Not Found"})
        with self.lock:
            if renew:
                item["expiration_time"] = (self.now() + self.subscription_ttl).isoformat()
            else:
                body = request.json or {}
                for key in ("callback_url", "event_type", "data_type", "verification_token"):
                    if body.get(key):
                        item[key] = body[key]
        return FakeResponse(200, self._public(item))

    def _subscription_delete(self, request: FakeRequest) -> FakeResponse:
        error = self._app_auth(request)
        if error:
            return error
        with self.lock:
            item = self.subscriptions.pop(request.path.rsplit("/", 1)[-1], None)
        return FakeResponse(404 if item is None else 204, b"")

    # --- webhook delivery --------------------------------------------------------------------
    def sign(self, body: bytes, timestamp: str, secret: str | None = None) -> str:
        key = (secret or self.client_secret).encode()
        return hmac.new(key, timestamp.encode() + body, hashlib.sha256).hexdigest().upper()

    def signed_event(
        self, event: dict, *, timestamp: str | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers Oura would send for `event`."""
        body = json.dumps(event).encode()
        stamp = timestamp or str(int(self.clock()))
        return body, {
            "x-oura-signature": self.sign(body, stamp, secret),
            "x-oura-timestamp": stamp,
            "content-type": "application/json",
        }

    def event(
        self,
        user_id: str,
        data_type: str,
        object_id: str,
        event_type: str = "update",
        event_time: datetime | None = None,
    ) -> dict:
        return {
            "event_type": event_type,
            "data_type": data_type,
            "object_id": object_id,
            "event_time": (event_time or self.now()).isoformat(),
            "user_id": user_id,
        }

    def deliver(self, callback_url: str, event: dict, **kwargs) -> requests.Response:
        """POST `event` to our callback exactly as Oura does (signed, JSON)."""
        body, headers = self.signed_event(event, **kwargs)
        return requests.post(callback_url, data=body, headers=headers, timeout=10)

    def verify_callback(self, callback_url: str, verification_token: str) -> bool:
        """Oura's check on subscription: GET with the token and a challenge to echo."""
        challenge = secrets.token_urlsafe(12)
        response = requests.get(
            callback_url,
            params={"verification_token": verification_token, "challenge": challenge},
            timeout=10,
        )
        try:
            return response.status_code == 200 and response.json() == {"challenge": challenge}
        except ValueError:
            return False
