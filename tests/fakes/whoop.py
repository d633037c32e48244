"""A local WHOOP (API v2) that behaves like the real one (providers.md §3 and §13).

- OAuth (Ory Hydra-like): GET /oauth/oauth2/auth validates client_id, the exact
  redirect_uri, response_type=code, known scopes and a state of at least 8 characters
  (shorter: redirect with error=invalid_state); PKCE is checked when a code_challenge is
  sent. `approve(url)` plays the member consenting and returns our callback URL with code,
  state and scope. POST /oauth/oauth2/token takes client_id/client_secret in the form body;
  codes are single-use and live 10 minutes, access tokens `access_ttl` seconds; refresh
  tokens exist only with `offline`, are single-use and rotated (a refresh without
  scope=offline gets no new one), dead ones answer invalid_grant.
- Data: /developer/v2/{cycle, recovery, activity/sleep, activity/workout} per user, newest
  first, filtered by record start (start inclusive, end exclusive; a recovery by its
  sleep's start), `limit` 1..25 (400 above), `nextToken` in, `next_token` out.
  /developer/v2/user/measurement/body and /profile/basic; DELETE /developer/v2/user/access.
- Rate limits: X-RateLimit-* headers on data calls; `rate_budget` requests, then 429 with
  X-RateLimit-Reset (seconds from now). `fail_next` (base class) for one-off faults.
- Webhooks: `deliver(callback_url, event)` POSTs the JSON body signed with the client
  secret exactly as WHOOP does (base64 HMAC-SHA256 of timestamp-ms + body).

State is plain attributes (codes, tokens, refresh_calls, revocations, users), guarded by
`self.lock`; `clock` (epoch seconds) may be replaced by tests.
"""

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from django.conf import settings

from tests.fakes.base import FakeProvider, FakeRequest, FakeResponse

FIXTURES = Path(__file__).resolve().parent.parent / "sources" / "fixtures" / "whoop"
SCOPES = frozenset(
    {
        "offline",
        "read:profile",
        "read:cycles",
        "read:recovery",
        "read:sleep",
        "read:workout",
        "read:body_measurement",
    }
)
COLLECTIONS = {
    "/developer/v2/cycle": ("cycle", "read:cycles"),
    "/developer/v2/recovery": ("recovery", "read:recovery"),
    "/developer/v2/activity/sleep": ("sleep", "read:sleep"),
    "/developer/v2/activity/workout": ("workout", "read:workout"),
}
CODE_TTL = 600
RATE_LIMIT_HEADER = "100, 100;window=60, 10000;window=86400"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def _parse_time(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError("naive")
    return when.astimezone(UTC)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _oauth_error(status: int, error: str, description: str) -> FakeResponse:
    return FakeResponse(status, {"error": error, "error_description": description})


@dataclass
class Member:
    user_id: int
    email: str
    data: dict[str, list[dict]] = field(
        default_factory=lambda: {"cycle": [], "recovery": [], "sleep": [], "workout": []}
    )
    body: dict | None = None


@dataclass
class Grant:
    user_id: int
    scopes: tuple[str, ...]
    expires_at: float = 0.0
    alive: bool = True


class FakeWhoop(FakeProvider):
    def __init__(
        self,
        *,
        client_id: str = "whoop-test-client",
        client_secret: str = "whoop-test-secret",  # noqa: S107 (a test fake's)
        redirect_uris: tuple[str, ...] = (),
        access_ttl: int = 3600,
    ):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        # Default: the one URI our allauth adapter sends (SITE_URL + the callback path).
        self.redirect_uris = set(redirect_uris) or {
            settings.SITE_URL.rstrip("/") + "/accounts/whoop/login/callback/"
        }
        self.access_ttl = access_ttl
        self.members: dict[int, Member] = {}
        self.consenting_user: int | None = None  # who approves on the authorize page
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.issued: list[dict] = []  # every token response, in order
        self.refresh_calls = 0
        self.revocations: list[int] = []  # user ids whose access was revoked
        self.rate_budget: int | None = None  # data requests left before 429s (None: no limit)
        self.rate_reset_seconds = 60
        self._serial = itertools.count(1)

        self.route("GET", "/oauth/oauth2/auth", self._authorize_page)
        self.route("POST", "/oauth/oauth2/token", self._token)
        for path in COLLECTIONS:
            self.route("GET", path, self._collection)
        self.route("GET", "/developer/v2/user/measurement/body", self._body)
        self.route("GET", "/developer/v2/user/profile/basic", self._profile)
        self.route("DELETE", "/developer/v2/user/access", self._revoke)

    # --- configuration ---------------------------------------------------------------------
    def settings_for(self) -> dict:
        """HEALTHHUB_PROVIDERS["whoop"] pointing at this fake."""
        return {
            "CLIENT_ID": self.client_id,
            "CLIENT_SECRET": self.client_secret,
            "AUTHORIZE_URL": f"{self.base_url}/oauth/oauth2/auth",
            "TOKEN_URL": f"{self.base_url}/oauth/oauth2/token",
            "REVOKE_URL": f"{self.base_url}/developer/v2/user/access",
            "API_BASE": f"{self.base_url}/developer",
        }

    provider_settings = settings_for  # the name the other fakes use

    def add_member(self, user_id: int = 10129, email: str = "") -> Member:
        with self.lock:
            member = self.members.get(user_id)
            if member is None:
                member = self.members[user_id] = Member(user_id, email or f"{user_id}@example.org")
            if self.consenting_user is None:
                self.consenting_user = user_id
            return member

    def seed(self, user_id: int, data_type: str, records: list[dict]) -> None:
        """Add records (the API's shape) for a member; their user_id is set to the member."""
        member = self.add_member(user_id)
        with self.lock:
            for record in records:
                member.data[data_type].append({**record, "user_id": user_id})

    def seed_fixtures(self, user_id: int = 10129) -> Member:
        """The recorded payloads of tests/sources/fixtures/whoop as this member's data."""
        member = self.add_member(user_id)
        for data_type, names in {
            "cycle": ("cycle_page1.json", "cycle_page2.json"),
            "recovery": ("recovery.json",),
            "sleep": ("sleep.json",),
            "workout": ("workout.json",),
        }.items():
            for name in names:
                self.seed(user_id, data_type, fixture(name)["records"])
        with self.lock:
            member.body = fixture("body.json")
        return member

    def generate(self, user_id: int, first: datetime, days: int, offset: str = "-05:00") -> None:
        """`days` realistic, scored days from `first` (UTC): a cycle, a night's sleep, its
        recovery and a run each day, with ids derived from the day (stable across calls)."""
        records: dict[str, list[dict]] = {"cycle": [], "recovery": [], "sleep": [], "workout": []}
        for day in range(days):
            night = first + timedelta(days=day, hours=3)
            wake = night + timedelta(hours=7, minutes=30 + day % 40)
            cycle_id = 500_000 + day
            sleep_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"whoop-sleep-{user_id}-{day}"))
            stamps = {"created_at": iso(wake), "updated_at": iso(wake)}
            records["cycle"].append(
                {
                    "id": cycle_id,
                    **stamps,
                    "start": iso(night),
                    "end": iso(night + timedelta(days=1)),
                    "timezone_offset": offset,
                    "score_state": "SCORED",
                    "score": {
                        "strain": 8 + day % 9,
                        "kilojoule": 8000.0 + 37 * day,
                        "average_heart_rate": 60 + day % 10,
                        "max_heart_rate": 150 + day % 20,
                    },
                }
            )
            asleep_ms = int((wake - night).total_seconds() * 1000) - 1_800_000
            records["sleep"].append(
                {
                    "id": sleep_id,
                    "cycle_id": cycle_id,
                    **stamps,
                    "start": iso(night),
                    "end": iso(wake),
                    "timezone_offset": offset,
                    "nap": False,
                    "score_state": "SCORED",
                    "score": {
                        "stage_summary": {
                            "total_in_bed_time_milli": asleep_ms + 1_800_000,
                            "total_awake_time_milli": 1_800_000,
                            "total_no_data_time_milli": 0,
                            "total_light_sleep_time_milli": asleep_ms // 2,
                            "total_slow_wave_sleep_time_milli": asleep_ms // 4,
                            "total_rem_sleep_time_milli": asleep_ms
                            - asleep_ms // 2
                            - asleep_ms // 4,
                            "sleep_cycle_count": 4,
                            "disturbance_count": 9,
                        },
                        "sleep_needed": {
                            "baseline_milli": 27_000_000,
                            "need_from_sleep_debt_milli": 0,
                            "need_from_recent_strain_milli": 0,
                            "need_from_recent_nap_milli": 0,
                        },
                        "respiratory_rate": 15.5,
                        "sleep_performance_percentage": 80 + day % 15,
                        "sleep_consistency_percentage": 85,
                        "sleep_efficiency_percentage": 93.3,
                    },
                }
            )
            records["recovery"].append(
                {
                    "cycle_id": cycle_id,
                    "sleep_id": sleep_id,
                    **stamps,
                    "score_state": "SCORED",
                    "score": {
                        "user_calibrating": False,
                        "recovery_score": 30 + day % 60,
                        "resting_heart_rate": 55 + day % 8,
                        "hrv_rmssd_milli": 40.0 + day % 25,
                        "spo2_percentage": 96.0,
                        "skin_temp_celsius": 33.5,
                    },
                }
            )
            run = wake + timedelta(hours=10)
            records["workout"].append(
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"whoop-workout-{user_id}-{day}")),
                    **stamps,
                    "start": iso(run),
                    "end": iso(run + timedelta(minutes=40)),
                    "timezone_offset": offset,
                    "sport_name": "running",
                    "score_state": "SCORED",
                    "score": {
                        "strain": 10.5,
                        "average_heart_rate": 150,
                        "max_heart_rate": 175,
                        "kilojoule": 2000.0,
                        "percent_recorded": 100.0,
                        "distance_meter": 7000.0,
                        "altitude_gain_meter": 20.0,
                        "altitude_change_meter": 0.0,
                        "zone_durations": {
                            f"zone_{name}_milli": 400_000
                            for name in ("zero", "one", "two", "three", "four", "five")
                        },
                    },
                }
            )
        for data_type, items in records.items():
            self.seed(user_id, data_type, items)

    # --- OAuth: authorize ------------------------------------------------------------------
    def _check_authorize(self, query: dict[str, str]) -> tuple[FakeResponse | None, dict]:
        """(an error response or None, the validated request)."""
        if query.get("client_id") != self.client_id:
            return FakeResponse(400, "<h1>invalid_client</h1>"), {}
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return FakeResponse(400, "<h1>invalid_request: redirect_uri mismatch</h1>"), {}
        state = query.get("state", "")

        def bounce(error: str, description: str) -> FakeResponse:
            params = {"error": error, "error_description": description}
            if state:
                params["state"] = state
            return FakeResponse(302, b"", {"Location": f"{redirect_uri}?{urlencode(params)}"})

        if query.get("response_type") != "code":
            return bounce("unsupported_response_type", "only code is supported"), {}
        if len(state) < 8:
            return bounce(
                "invalid_state",
                "The state is missing or does not have enough characters "
                "and is therefore considered too weak.",
            ), {}
        scopes = tuple(query.get("scope", "").split())
        if not scopes or any(scope not in SCOPES for scope in scopes):
            return bounce("invalid_scope", "unknown scope requested"), {}
        challenge = query.get("code_challenge", "")
        method = query.get("code_challenge_method", "plain" if challenge else "")
        if challenge and method not in ("S256", "plain"):
            return bounce("invalid_request", "unsupported code_challenge_method"), {}
        return None, {
            "redirect_uri": redirect_uri,
            "state": state,
            "scopes": scopes,
            "code_challenge": challenge,
            "code_challenge_method": method,
        }

    def _authorize_page(self, request: FakeRequest) -> FakeResponse:
        error, _ = self._check_authorize(request.query)
        if error is not None:
            return error
        return FakeResponse(200, "<h1>WHOOP</h1><p>Allow this app to read your data?</p>")

    def approve(
        self, authorize_url: str, *, user_id: int | None = None, scopes: tuple[str, ...] = ()
    ) -> str:
        """The member consents: our callback URL with code, state and the granted scope
        (all requested, or `scopes` if the member unticked some). An invalid request gives
        the error redirect (or raises if there is nowhere to redirect to)."""
        query = dict(parse_qsl(urlsplit(authorize_url).query))
        error, request = self._check_authorize(query)
        if error is not None:
            if error.status == 302:
                return error.headers["Location"]
            raise ValueError(f"the authorize request is invalid: {error.body!r}")
        with self.lock:
            user = user_id if user_id is not None else self.consenting_user
            if user is None:
                raise ValueError("no member to consent: add_member() first")
            granted = scopes or request["scopes"]
            code = secrets.token_urlsafe(24)
            self.codes[code] = {
                **request,
                "scopes": tuple(granted),
                "user_id": user,
                "expires_at": self.clock() + CODE_TTL,
            }
        params = {"code": code, "scope": " ".join(granted), "state": request["state"]}
        return f"{request['redirect_uri']}?{urlencode(params)}"

    def deny(self, authorize_url: str) -> str:
        query = dict(parse_qsl(urlsplit(authorize_url).query))
        params = {"error": "access_denied", "error_description": "The resource owner denied"}
        if query.get("state"):
            params["state"] = query["state"]
        return f"{query.get('redirect_uri', '')}?{urlencode(params)}"

    # --- OAuth: tokens ---------------------------------------------------------------------
    def _issue(self, user_id: int, scopes: tuple[str, ...]) -> dict:
        now = self.clock()
        access = f"whoop-at-{next(self._serial)}-{secrets.token_urlsafe(12)}"
        self.access_tokens[access] = Grant(user_id, scopes, now + self.access_ttl)
        body = {
            "access_token": access,
            "expires_in": self.access_ttl,
            "scope": " ".join(scopes),
            "token_type": "bearer",
        }
        if "offline" in scopes:
            refresh = f"whoop-rt-{next(self._serial)}-{secrets.token_urlsafe(12)}"
            self.refresh_tokens[refresh] = Grant(user_id, scopes)
            body["refresh_token"] = refresh
        self.issued.append(body)
        return body

    def _token(self, request: FakeRequest) -> FakeResponse:
        form = request.form
        if form.get("client_id") != self.client_id or not hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        grant_type = form.get("grant_type")
        with self.lock:
            if grant_type == "authorization_code":
                return self._exchange_code(form)
            if grant_type == "refresh_token":
                return self._refresh(form)
        return _oauth_error(400, "unsupported_grant_type", "unsupported grant_type")

    def _exchange_code(self, form: dict) -> FakeResponse:
        code = self.codes.pop(form.get("code", ""), None)  # single use
        if code is None or code["expires_at"] < self.clock():
            return _oauth_error(400, "invalid_grant", "The authorization code is invalid")
        if form.get("redirect_uri") != code["redirect_uri"]:
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match")
        if code["code_challenge"]:
            verifier = form.get("code_verifier", "")
            if code["code_challenge_method"] == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            else:
                computed = verifier
            if not verifier or not hmac.compare_digest(computed, code["code_challenge"]):
                return _oauth_error(400, "invalid_grant", "The PKCE code_verifier is invalid")
        return FakeResponse(200, self._issue(code["user_id"], code["scopes"]))

    def _refresh(self, form: dict) -> FakeResponse:
        self.refresh_calls += 1
        grant = self.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or not grant.alive:
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid")
        grant.alive = False  # single use
        scopes = grant.scopes
        if "offline" not in form.get("scope", "").split():
            # Without scope=offline WHOOP returns no new refresh token.
            scopes = tuple(scope for scope in scopes if scope != "offline")
        return FakeResponse(200, self._issue(grant.user_id, scopes))

    def expire_access_tokens(self) -> None:
        with self.lock:
            for grant in self.access_tokens.values():
                grant.expires_at = 0

    # --- API -------------------------------------------------------------------------------
    def _authenticate(self, request: FakeRequest, scope: str) -> tuple[Member | None, FakeResponse]:
        grant = self.access_tokens.get(request.bearer)
        if grant is None or not grant.alive or grant.expires_at <= self.clock():
            return None, FakeResponse(401, {"message": "Authorization was not valid"})
        if scope and scope not in grant.scopes:
            return None, FakeResponse(403, {"message": "Missing scope"})
        return self.members[grant.user_id], FakeResponse()

    def _rate_headers(self) -> dict[str, str]:
        remaining = 100 if self.rate_budget is None else max(self.rate_budget, 0)
        return {
            "X-RateLimit-Limit": RATE_LIMIT_HEADER,
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(self.rate_reset_seconds),
        }

    def rate_limited(self, reset_seconds: int = 42) -> FakeResponse:
        """A 429 as WHOOP sends it (for fail_next)."""
        return FakeResponse(
            429,
            {"message": "Rate limit exceeded"},
            {
                "X-RateLimit-Limit": RATE_LIMIT_HEADER,
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset_seconds),
            },
        )

    def _spend(self) -> FakeResponse | None:
        if self.rate_budget is None:
            return None
        if self.rate_budget <= 0:
            return self.rate_limited(self.rate_reset_seconds)
        self.rate_budget -= 1
        return None

    @staticmethod
    def _record_start(record: dict, member: Member, data_type: str) -> datetime:
        if data_type == "recovery":
            for sleep in member.data["sleep"]:
                if sleep["id"] == record.get("sleep_id"):
                    return _parse_time(sleep["start"])
            return _parse_time(record["created_at"])
        return _parse_time(record["start"])

    def _collection(self, request: FakeRequest) -> FakeResponse:
        data_type, scope = COLLECTIONS[request.path]
        with self.lock:
            member, denied = self._authenticate(request, scope)
            if member is None:
                return denied
            limited = self._spend()
            if limited is not None:
                return limited
            query = request.query
            try:
                limit = int(query.get("limit", "10"))
                start = _parse_time(query["start"]) if "start" in query else None
                end = _parse_time(query["end"]) if "end" in query else None
            except (KeyError, ValueError):
                return FakeResponse(400, {"message": "Invalid query parameters"})
            if not 1 <= limit <= 25:
                return FakeResponse(400, {"message": "limit must be between 1 and 25"})
            if end is None:
                end = datetime.fromtimestamp(self.clock(), UTC)
            fingerprint = f"{data_type}|{query.get('start', '')}|{query.get('end', '')}"
            offset = 0
            if "nextToken" in query:
                try:
                    decoded = base64.urlsafe_b64decode(query["nextToken"].encode()).decode()
                    token_fingerprint, _, position = decoded.rpartition("#")
                    offset = int(position)
                except ValueError:
                    return FakeResponse(400, {"message": "Invalid nextToken"})
                if token_fingerprint != fingerprint:
                    return FakeResponse(400, {"message": "Invalid nextToken"})
            matching = [
                (self._record_start(record, member, data_type), record)
                for record in member.data[data_type]
            ]
            matching = [
                (when, record)
                for when, record in matching
                if (start is None or when >= start) and when < end
            ]
            matching.sort(key=lambda item: item[0], reverse=True)
            page = [record for _, record in matching[offset : offset + limit]]
            body: dict = {"records": page}
            if offset + limit < len(matching):
                token = f"{fingerprint}#{offset + limit}"
                body["next_token"] = base64.urlsafe_b64encode(token.encode()).decode()
            return FakeResponse(200, body, self._rate_headers())

    def _body(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            member, denied = self._authenticate(request, "read:body_measurement")
            if member is None:
                return denied
            limited = self._spend()
            if limited is not None:
                return limited
            if member.body is None:
                return FakeResponse(404, {"message": "Requested resource not found"})
            return FakeResponse(200, dict(member.body), self._rate_headers())

    def _profile(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            member, denied = self._authenticate(request, "read:profile")
            if member is None:
                return denied
            return FakeResponse(
                200,
                {
                    "user_id": member.user_id,
                    "email": member.email,
                    "first_name": "Test",
                    "last_name": "Member",
                },
            )

    def _revoke(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            member, denied = self._authenticate(request, "")
            if member is None:
                return denied
            for grant in (*self.access_tokens.values(), *self.refresh_tokens.values()):
                if grant.user_id == member.user_id:
                    grant.alive = False
            self.revocations.append(member.user_id)
            return FakeResponse(204)

    # --- webhooks --------------------------------------------------------------------------
    @staticmethod
    def event(user_id: int, kind: str, object_id, trace_id: str = "") -> dict:
        return {
            "user_id": user_id,
            "id": object_id,
            "type": kind,
            "trace_id": trace_id or str(uuid.uuid4()),
        }

    def signed(
        self, event: dict, *, timestamp_ms: int | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers WHOOP would send for `event`."""
        body = json.dumps(event, separators=(",", ":")).encode()
        stamp = str(timestamp_ms if timestamp_ms is not None else int(self.clock() * 1000))
        key = (secret if secret is not None else self.client_secret).encode()
        signature = base64.b64encode(
            hmac.new(key, stamp.encode() + body, hashlib.sha256).digest()
        ).decode()
        headers = {
            "Content-Type": "application/json",
            "X-WHOOP-Signature": signature,
            "X-WHOOP-Signature-Timestamp": stamp,
        }
        return body, headers

    def deliver(self, callback_url: str, event: dict, *, client=None, **signing):
        """POST `event` to our webhook as WHOOP does. With a Django test `client` the request
        goes through it (returns its response); else over HTTP (returns requests' response)."""
        body, headers = self.signed(event, **signing)
        if client is not None:
            del headers["Content-Type"]
            path = urlsplit(callback_url).path
            return client.post(path, data=body, content_type="application/json", headers=headers)
        return requests.post(callback_url, data=body, headers=headers, timeout=10)
