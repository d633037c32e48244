"""A local Withings: OAuth, the data services, notifications, as the real API behaves.

What it reproduces (providers.md §1 and §13):
- Authorize page (GET /oauth2_user/authorize2): response_type=code, a known client_id, a
  registered redirect_uri, a state, comma-separated known scopes (user.info needs a partner
  contract). `approve(url)` plays the user consenting and returns our callback URL with the
  code and state; `deny(url)` the user refusing.
- Token endpoint (POST /v2/oauth2, action=requesttoken): client id and secret in the body;
  codes single use, valid 30 s on the fake's clock, bound to their redirect_uri; access
  tokens expire after `access_ttl`; each refresh returns a new pair and the old refresh token
  dies once the new access token is used or `refresh_grace` has passed (Withings: 8 h);
  every error is HTTP 200 with a non-zero status (503 "Invalid Params: ...").
- Data (POST /measure getmeas, /v2/measure getactivity|getworkouts, /v2/sleep getsummary):
  Bearer auth (status 401 inside HTTP 200 when missing, unknown or expired), scope checks,
  startdate/enddate or startdateymd/enddateymd or lastupdate (not both), `page_size` rows per
  page with `more` an int on getmeas and a boolean on v2, an optional `max_range_days`
  limit, and an app-wide `rate_limit` per minute answered with status 601.
- Notifications: POST /notify subscribe|list|get|revoke per user; `deliver()` POSTs a
  form-encoded {userid, appli, startdate, enddate} to a subscribed callback exactly as
  Withings does (unsigned); `head_probe()` is the HEAD check Withings makes.
- Revoke (POST /v2/oauth2 action=revoke) with nonce (POST /v2/signature getnonce) and
  HMAC-SHA256 signature; it kills the user's tokens and subscriptions.

State is plain and inspectable: `codes`, `access_tokens`, `refresh_tokens`, `refresh_calls`,
`revoked_users`, `subscriptions`, `users`, `calls` (from FakeProvider).
"""

import copy
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from tests.fakes.base import FakeProvider, FakeRequest, FakeResponse

FIXTURES = Path(__file__).resolve().parent.parent / "sources" / "fixtures" / "withings"
CLIENT_ID = "withings-test-client-id"
CLIENT_SECRET = "withings-test-client-secret"
KNOWN_SCOPES = {"user.metrics", "user.activity", "user.sleepevents", "user.info"}
CONTRACT_SCOPES = {"user.info"}
APPLIS = {1, 2, 4, 16, 44, 46, 50, 51, 52, 54, 55, 58}
# Which scope each service and notification needs.
ACTION_SCOPES = {
    "getmeas": "user.metrics",
    "getactivity": "user.activity",
    "getworkouts": "user.activity",
    "getsummary": "user.activity",
}
APPLI_SCOPES = {1: "user.metrics", 2: "user.metrics", 4: "user.metrics", 16: "user.activity"}
APPLI_SCOPES |= {44: "user.activity", 50: "user.sleepevents", 51: "user.sleepevents"}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def ok(body: dict) -> FakeResponse:
    return FakeResponse(200, {"status": 0, "body": body})


def error(status: int, text: str) -> FakeResponse:
    """Withings errors: always HTTP 200, the status inside the envelope."""
    return FakeResponse(200, {"status": status, "body": {}, "error": text})


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    userid: int
    issued_at: float
    used: bool = False


@dataclass
class AccessToken:
    userid: int
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass
class RefreshToken:
    userid: int
    scopes: tuple[str, ...]
    access_token: str  # the access token issued with it
    dead: bool = False
    replaced_at: float | None = None  # when a newer pair was issued from it
    successor_access: str = ""  # the access token issued by that refresh


@dataclass
class User:
    userid: int
    timezone: str = "Europe/Paris"
    measuregrps: list[dict] = field(default_factory=list)
    activities: list[dict] = field(default_factory=list)
    workouts: list[dict] = field(default_factory=list)
    sleep: list[dict] = field(default_factory=list)


class FakeWithings(FakeProvider):
    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        redirect_uris: tuple[str, ...] = (),
        access_ttl: int = 10800,
        code_ttl: int = 30,
        refresh_grace: int = 8 * 3600,
        page_size: int = 200,
        max_range_days: int | None = None,
        rate_limit: int | None = None,
    ):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = set(redirect_uris)  # empty: any http(s) URI is registered
        self.access_ttl, self.code_ttl, self.refresh_grace = access_ttl, code_ttl, refresh_grace
        self.page_size, self.max_range_days, self.rate_limit = (
            page_size,
            max_range_days,
            rate_limit,
        )
        self.users: dict[int, User] = {}
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.refresh_calls = 0
        self.nonces: dict[str, bool] = {}  # nonce -> used
        self.revoked_users: list[int] = []
        self.subscriptions: dict[int, set[tuple[str, int]]] = {}  # userid -> {(url, appli)}
        self.deliveries: list[dict] = []
        self._request_times: list[float] = []
        self.route("GET", "/oauth2_user/authorize2", self.authorize_page)
        self.route("POST", "/v2/oauth2", self.oauth2)
        self.route("POST", "/v2/signature", self.signature)
        self.route("POST", "/measure", self.measure)
        self.route("POST", "/v2/measure", self.measure_v2)
        self.route("POST", "/v2/sleep", self.sleep)
        self.route("POST", "/notify", self.notify)

    # --- setup helpers ------------------------------------------------------------------
    def settings_for(self) -> dict:
        """HEALTHHUB_PROVIDERS["withings"] pointing at this fake."""
        base = self.base_url
        return {
            "CLIENT_ID": self.client_id,
            "CLIENT_SECRET": self.client_secret,
            "AUTHORIZE_URL": f"{base}/oauth2_user/authorize2",
            "TOKEN_URL": f"{base}/v2/oauth2",
            "REVOKE_URL": f"{base}/v2/oauth2",
            "API_BASE": base,
        }

    def add_user(self, userid: int = 12345678, timezone: str = "Europe/Paris") -> User:
        with self.lock:
            return self.users.setdefault(userid, User(userid, timezone))

    def seed_from_fixtures(self, userid: int = 12345678) -> User:
        """The recorded payloads' records, as this user's data."""
        user = self.add_user(userid)
        with self.lock:
            for name in ("getmeas_page1.json", "getmeas_page2.json"):
                user.measuregrps.extend(fixture(name)["body"]["measuregrps"])
            user.activities.extend(fixture("getactivity.json")["body"]["activities"])
            user.workouts.extend(fixture("getworkouts.json")["body"]["series"])
            user.sleep.extend(fixture("getsummary.json")["body"]["series"])
        return user

    def generate(self, userid: int, first: date, last: date) -> User:
        """Plausible data for every day in [first, last]: a morning weigh-in, daily activity,
        a night's sleep and, every third day, a run (deterministic)."""
        user = self.add_user(userid)
        day, n = first, 0
        with self.lock:
            while day <= last:
                midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
                stamp = midnight + 7 * 3600
                user.measuregrps.append(
                    {
                        "grpid": 900000 + n,
                        "attrib": 0,
                        "date": stamp,
                        "created": stamp + 30,
                        "modified": stamp + 30,
                        "category": 1,
                        "deviceid": "generated-scale",
                        "hash_deviceid": "generated-scale",
                        "measures": [
                            {"value": 75000 + (n % 7) * 100, "type": 1, "unit": -3},
                            {"value": 2150 + n % 5, "type": 6, "unit": -2},
                        ],
                        "modelid": 6,
                        "model": "Body Cardio",
                        "comment": None,
                    }
                )
                user.activities.append(
                    {
                        "date": day.isoformat(),
                        "timezone": user.timezone,
                        "steps": 6000 + (n % 10) * 250,
                        "distance": 4500.0 + (n % 10) * 180,
                        "elevation": n % 6,
                        "calories": 300.0 + n % 50,
                        "totalcalories": 2200.0 + n % 50,
                        "active": 1800,
                        "modified": midnight + 86399,
                        "brand": 1,
                        "modelid": 93,
                        "model": "ScanWatch",
                        "is_tracker": True,
                        "deviceid": "generated-watch",
                        "hash_deviceid": "generated-watch",
                    }
                )
                night_start = midnight - 2 * 3600
                user.sleep.append(
                    {
                        "id": 700000 + n,
                        "timezone": user.timezone,
                        "model": 16,
                        "model_id": 93,
                        "startdate": night_start,
                        "enddate": night_start + 8 * 3600,
                        "date": day.isoformat(),
                        "created": night_start + 8 * 3600,
                        "modified": night_start + 8 * 3600,
                        "completed": True,
                        "data": {
                            "total_timeinbed": 28800,
                            "total_sleep_time": 26400,
                            "lightsleepduration": 13200,
                            "deepsleepduration": 6000,
                            "remsleepduration": 7200,
                            "wakeupduration": 2400,
                            "sleep_efficiency": 0.92,
                            "sleep_latency": 600,
                            "sleep_score": 70 + n % 20,
                        },
                    }
                )
                if n % 3 == 0:
                    run = midnight + 17 * 3600
                    user.workouts.append(
                        {
                            "id": 800000 + n,
                            "category": 2,
                            "timezone": user.timezone,
                            "model": 93,
                            "attrib": 0,
                            "startdate": run,
                            "enddate": run + 1800,
                            "date": day.isoformat(),
                            "modified": run + 1800,
                            "deviceid": "generated-watch",
                            "data": {"calories": 350, "distance": 5000, "hr_average": 150},
                        }
                    )
                day += timedelta(days=1)
                n += 1
        return user

    def issue_tokens(
        self, userid: int = 12345678, scopes: tuple[str, ...] = ("user.metrics", "user.activity")
    ) -> tuple[str, str]:
        """A token pair as if the user had connected (for tests that skip OAuth)."""
        self.add_user(userid)
        with self.lock:
            return self._issue(userid, scopes)

    def expire_access_token(self, token: str) -> None:
        with self.lock:
            self.access_tokens[token].expires_at = self.clock() - 1

    # --- OAuth ------------------------------------------------------------------------
    def _authorize_problem(self, query: dict[str, str]) -> str:
        if query.get("response_type") != "code":
            return "response_type must be code"
        if query.get("client_id") != self.client_id:
            return "unknown client_id"
        redirect = query.get("redirect_uri", "")
        if self.redirect_uris and redirect not in self.redirect_uris:
            return "redirect_uri is not registered"
        if not redirect.startswith(("http://", "https://")):
            return "redirect_uri is not a URL"
        if not query.get("state"):
            return "state is required"
        scopes = [s for s in query.get("scope", "").split(",") if s]
        if not scopes or not set(scopes) <= KNOWN_SCOPES:
            return "invalid scope"
        if set(scopes) & CONTRACT_SCOPES:
            return "scope needs a partner contract"
        return ""

    def authorize_page(self, request: FakeRequest) -> FakeResponse:
        problem = self._authorize_problem(request.query)
        if problem:
            return FakeResponse(400, f"<h1>Withings</h1><p>{problem}</p>")
        return FakeResponse(200, "<h1>Withings</h1><form><button>Allow this app</button></form>")

    def approve(self, authorize_url: str, userid: int = 12345678) -> str:
        """The user consents on the authorize page: our redirect URL with code and state."""
        query = dict(parse_qsl(urlsplit(authorize_url).query))
        problem = self._authorize_problem(query)
        if problem:
            raise ValueError(f"the fake authorize page refuses: {problem}")
        self.add_user(userid)
        code = secrets.token_hex(20)
        with self.lock:
            self.codes[code] = Code(
                client_id=query["client_id"],
                redirect_uri=query["redirect_uri"],
                scopes=tuple(query["scope"].split(",")),
                userid=userid,
                issued_at=self.clock(),
            )
        return _with_query(query["redirect_uri"], {"code": code, "state": query["state"]})

    def deny(self, authorize_url: str) -> str:
        query = dict(parse_qsl(urlsplit(authorize_url).query))
        return _with_query(
            query["redirect_uri"], {"error": "access_denied", "state": query.get("state", "")}
        )

    def _issue(self, userid: int, scopes: tuple[str, ...]) -> tuple[str, str]:
        access, refresh = secrets.token_hex(20), secrets.token_hex(20)
        self.access_tokens[access] = AccessToken(userid, scopes, self.clock() + self.access_ttl)
        self.refresh_tokens[refresh] = RefreshToken(userid, scopes, access)
        return access, refresh

    def _token_body(self, userid: int, scopes: tuple[str, ...]) -> dict:
        access, refresh = self._issue(userid, scopes)
        return {
            "userid": str(userid),
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_ttl,
            "scope": ",".join(scopes),
            "csrf_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
        }

    def oauth2(self, request: FakeRequest) -> FakeResponse:
        form = request.form
        action = form.get("action")
        if action == "requesttoken":
            return self._requesttoken(form)
        if action == "revoke":
            return self._revoke(form)
        return error(2554, "Not implemented")

    def _requesttoken(self, form: dict[str, str]) -> FakeResponse:
        if form.get("client_id") != self.client_id:
            return error(503, "Invalid Params: invalid client_id")
        if not hmac.compare_digest(form.get("client_secret", ""), self.client_secret):
            return error(503, "Invalid Params: invalid client_secret")
        grant = form.get("grant_type")
        with self.lock:
            if grant == "authorization_code":
                code = self.codes.get(form.get("code", ""))
                if (
                    code is None
                    or code.used
                    or self.clock() - code.issued_at > self.code_ttl
                    or code.redirect_uri != form.get("redirect_uri")
                ):
                    return error(503, "Invalid Params: invalid code")
                code.used = True
                return ok(self._token_body(code.userid, code.scopes))
            if grant == "refresh_token":
                self.refresh_calls += 1
                token = self.refresh_tokens.get(form.get("refresh_token", ""))
                if token is None or not self._refresh_alive(token):
                    return error(503, "Invalid Params: invalid refresh_token")
                body = self._token_body(token.userid, token.scopes)
                if token.replaced_at is None:
                    token.replaced_at = self.clock()
                    token.successor_access = body["access_token"]
                return ok(body)
        return error(503, "Invalid Params: grant_type")

    def _refresh_alive(self, token: RefreshToken) -> bool:
        if token.dead or token.userid in self.revoked_users:
            return False
        if token.replaced_at is None:
            return True
        successor = self.access_tokens.get(token.successor_access)
        used = successor is not None and successor.used
        return not used and self.clock() - token.replaced_at < self.refresh_grace

    def _revoke(self, form: dict[str, str]) -> FakeResponse:
        nonce = form.get("nonce", "")
        expected = _sign(self.client_secret, "revoke", form.get("client_id", ""), nonce)
        with self.lock:
            if form.get("client_id") != self.client_id or self.nonces.get(nonce, True):
                return error(503, "Invalid Params: invalid nonce")
            self.nonces[nonce] = True
            if not hmac.compare_digest(form.get("signature", ""), expected):
                return error(503, "Invalid Params: invalid signature")
            userid = int(form["userid"]) if form.get("userid", "").isdigit() else None
            if userid not in self.users:
                return error(503, "Invalid Params: invalid userid")
            self.revoked_users.append(userid)
            for token in self.access_tokens.values():
                if token.userid == userid:
                    token.expires_at = 0
            for token in self.refresh_tokens.values():
                if token.userid == userid:
                    token.dead = True
            self.subscriptions.pop(userid, None)
        return ok({})

    def signature(self, request: FakeRequest) -> FakeResponse:
        form = request.form
        if form.get("action") != "getnonce" or form.get("client_id") != self.client_id:
            return error(503, "Invalid Params")
        expected = _sign(self.client_secret, "getnonce", self.client_id, form.get("timestamp", ""))
        if not hmac.compare_digest(form.get("signature", ""), expected):
            return error(503, "Invalid Params: invalid signature")
        nonce = secrets.token_hex(20)
        with self.lock:
            self.nonces[nonce] = False
        return ok({"nonce": nonce})

    # --- data ---------------------------------------------------------------------------
    def _authenticate(self, request: FakeRequest, action: str) -> tuple[User | None, FakeResponse]:
        """(user, None) or (None, the error answer); counts the app-wide rate limit."""
        with self.lock:
            now = self.clock()
            self._request_times = [t for t in self._request_times if now - t < 60]
            if self.rate_limit is not None and len(self._request_times) >= self.rate_limit:
                return None, error(601, "Too Many Requests")
            self._request_times.append(now)
            token = self.access_tokens.get(request.bearer)
            if token is None or token.expires_at <= now:
                return None, error(
                    401, "XRequestID: Not provided invalid_token: The access token is invalid"
                )
            token.used = True
            needed = ACTION_SCOPES.get(action)
            if needed and needed not in token.scopes:
                return None, error(2555, "Unauthorized: insufficient scope")
            return self.users[token.userid], None

    def _window(self, form: dict[str, str], ymd: bool):
        """(start, end, lastupdate) from the form, or an error answer."""
        last = form.get("lastupdate")
        keys = ("startdateymd", "enddateymd") if ymd else ("startdate", "enddate")
        given = [k for k in keys if form.get(k)]
        if last and given:
            return error(503, "Invalid Params: lastupdate cannot be used with dates")
        if last:
            return (None, None, int(last)) if last.isdigit() else error(503, "Invalid Params")
        if ymd:
            if len(given) != 2:
                return error(503, "Invalid Params: startdateymd and enddateymd are required")
            try:
                first, last_day = (date.fromisoformat(form[k]) for k in keys)
            except ValueError:
                return error(503, "Invalid Params: date")
            span = (last_day - first).days + 1
            if last_day < first or (self.max_range_days and span > self.max_range_days):
                return error(503, "Invalid Params: date range")
            return first, last_day, None
        if not given:
            return None, None, None  # getmeas without dates: everything
        try:
            first, last_stamp = int(form.get(keys[0], 0)), int(form.get(keys[1], 2**40))
        except ValueError:
            return error(503, "Invalid Params: date")
        span = (last_stamp - first) / 86400
        if last_stamp < first or (self.max_range_days and span > self.max_range_days):
            return error(503, "Invalid Params: date range")
        return first, last_stamp, None

    def _page(self, rows: list[dict], form: dict[str, str]) -> tuple[list[dict], bool, int]:
        offset = int(form.get("offset") or 0)
        chunk = rows[offset : offset + self.page_size]
        more = offset + self.page_size < len(rows)
        return chunk, more, offset + self.page_size if more else 0

    def measure(self, request: FakeRequest) -> FakeResponse:
        form = request.form
        if form.get("action") != "getmeas":
            return error(2554, "Not implemented")
        user, problem = self._authenticate(request, "getmeas")
        if problem:
            return problem
        window = self._window(form, ymd=False)
        if isinstance(window, FakeResponse):
            return window
        first, last, since = window
        types = {
            int(t) for t in (form.get("meastypes") or form.get("meastype") or "").split(",") if t
        }
        category = int(form.get("category") or 0)
        rows = []
        for group in sorted(user.measuregrps, key=lambda g: (-g["date"], g["grpid"])):
            if since is not None and group["modified"] <= since:
                continue
            if first is not None and not first <= group["date"] <= last:
                continue
            if category and group["category"] != category:
                continue
            group = copy.deepcopy(group)
            if types:
                group["measures"] = [m for m in group["measures"] if m["type"] in types]
                if not group["measures"]:
                    continue
            rows.append(group)
        chunk, more, offset = self._page(rows, form)
        return ok(
            {
                "updatetime": int(self.clock()),
                "timezone": user.timezone,
                "measuregrps": chunk,
                "more": int(more),
                "offset": offset,
            }
        )

    def _ymd_service(self, request: FakeRequest, rows_of, key: str) -> FakeResponse:
        form = request.form
        user, problem = self._authenticate(request, form["action"])
        if problem:
            return problem
        window = self._window(form, ymd=True)
        if isinstance(window, FakeResponse):
            return window
        first, last, since = window
        rows = []
        for row in sorted(rows_of(user), key=lambda r: (r["date"], r.get("id", 0))):
            if since is not None and row.get("modified", 0) <= since:
                continue
            if first is not None and not first <= date.fromisoformat(row["date"]) <= last:
                continue
            rows.append(copy.deepcopy(row))
        chunk, more, offset = self._page(rows, form)
        return ok({key: chunk, "more": more, "offset": offset})

    def measure_v2(self, request: FakeRequest) -> FakeResponse:
        action = request.form.get("action")
        if action == "getactivity":
            return self._ymd_service(request, lambda u: u.activities, "activities")
        if action == "getworkouts":
            return self._ymd_service(request, lambda u: u.workouts, "series")
        return error(2554, "Not implemented")

    def sleep(self, request: FakeRequest) -> FakeResponse:
        if request.form.get("action") == "getsummary":
            return self._ymd_service(request, lambda u: u.sleep, "series")
        return error(2554, "Not implemented")

    # --- notifications ------------------------------------------------------------------
    def notify(self, request: FakeRequest) -> FakeResponse:
        form = request.form
        user, problem = self._authenticate(request, "notify")
        if problem:
            return problem
        action = form.get("action")
        subs = self.subscriptions.setdefault(user.userid, set())
        token = self.access_tokens[request.bearer]
        appli_text = form.get("appli", "")
        appli = int(appli_text) if appli_text.isdigit() else None
        url = form.get("callbackurl", "")
        with self.lock:
            if action == "subscribe":
                if appli not in APPLIS or not url.startswith(("http://", "https://")):
                    return error(503, "Invalid Params")
                needed = APPLI_SCOPES.get(appli)
                if needed and needed not in token.scopes:
                    return error(2555, "Unauthorized: insufficient scope")
                subs.add((url, appli))
                return ok({})
            if action == "list":
                profiles = [
                    {"appli": a, "callbackurl": u, "comment": "", "expires": 2147483647}
                    for u, a in sorted(subs)
                    if appli is None or a == appli
                ]
                return ok({"profiles": profiles})
            if action == "revoke":
                if (url, appli) not in subs:
                    return error(294, "No such subscription")
                subs.discard((url, appli))
                return ok({})
        return error(2554, "Not implemented")

    def notification(
        self,
        userid: int,
        appli: int,
        startdate: int | None = None,
        enddate: int | None = None,
        day: str | None = None,
    ) -> bytes:
        """The form body Withings POSTs for a notification."""
        fields: dict[str, str | int] = {"userid": userid, "appli": appli}
        if day is not None:
            fields["date"] = day
        else:
            fields["startdate"], fields["enddate"] = startdate, enddate
        return urlencode(fields).encode()

    def deliver(self, callback_url: str, userid: int, appli: int, client=None, **window):
        """POST a notification to a subscribed callback, as Withings does: form-encoded,
        unsigned. With a Django test `client`, posts through it instead of the network."""
        with self.lock:
            if (callback_url, appli) not in self.subscriptions.get(userid, set()):
                raise LookupError("no such subscription: Withings would not notify")
        body = self.notification(userid, appli, **window)
        self.deliveries.append({"url": callback_url, "body": body})
        content_type = "application/x-www-form-urlencoded"
        if client is not None:
            parts = urlsplit(callback_url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            return client.post(path, data=body, content_type=content_type)
        return requests.post(
            callback_url, data=body, headers={"Content-Type": content_type}, timeout=5
        )

    def head_probe(self, callback_url: str, client=None):
        """The HEAD request Withings sends to check a callback URL."""
        if client is not None:
            return client.head(urlsplit(callback_url).path)
        return requests.head(callback_url, timeout=5)


def _sign(secret: str, *values: str) -> str:
    return hmac.new(secret.encode(), ",".join(values).encode(), hashlib.sha256).hexdigest()


def _with_query(url: str, params: dict[str, str]) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}{urlencode(params)}"
