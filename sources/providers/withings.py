"""Withings Public Health Data API.

Quirks this module absorbs (providers.md §1; the api-evangelist copies of Withings' OpenAPI
files; joostlek/python-withings fixtures):

- Every call is a form POST with an `action` and the Bearer header, answered HTTP 200 with a
  `{status, body}` envelope even for errors: status 0 ok; 100-102, 200 and 401 -> AuthExpired;
  601 -> RateLimited (no header says when: one minute); 522 -> TransientError; anything else
  -> ProviderError naming the status. The envelope's `error` text is never repeated (it can
  echo request details).
- Token endpoint (`v2/oauth2`, `action=requesttoken`): client id and secret in the body, no
  PKCE, comma-separated scopes, `userid` an int or a string (kept as a string), a new refresh
  token on every refresh (the old one dies 8 h later or once the new access token is used).
  A dead refresh token comes back as status 503 "Invalid Params: invalid refresh_token"
  (UNCERTAIN: inferred from client reports) or an `invalid_grant` text -> AuthRevoked.
- Revoking access (`v2/oauth2 action=revoke`) needs a signed request (nonce from
  `v2/signature getnonce`, HMAC-SHA256 of the comma-joined values keyed by the client secret)
  and the user id; Withings may refuse it for apps without a partner plan, then revoke()
  returns False (the tokens are deleted locally all the same).
- Pagination: getmeas answers `more` as an integer, the v2 services as a boolean; both carry
  the next `offset`. An offset that does not advance is a malformed answer (no endless loop).
- Windows: getmeas takes unix `startdate`/`enddate`; getactivity, getworkouts and sleep
  getsummary take local dates (`startdateymd`/`enddateymd`), so a UTC window is widened by
  14 h on both sides (local dates of every time zone) and records just outside the window
  may come back; upserts make that harmless. Withings documents no range limit for these
  services; windows are split into `chunk_days` as a precaution (UNCERTAIN). `lastupdate`
  (changed-since) is not used because the sync engine works with time windows.
- Measures: value x 10^unit. Groups of category 2 (objectives) are skipped, and so are
  ambiguous groups (attrib 1: the scale could not tell who stepped on it; the user confirms
  them in the Withings app, after which they come back as the user's, within the look-back).
  Measure types without a catalog metric (fat mass weight, pulse wave velocity, ECG, AFib,
  vascular age, visceral fat, BMR, ...) are skipped. Hydration (kg) becomes body water % of
  the same group's weight; without a weight in the group it is skipped.
- Times are unix seconds (UTC); the UTC offset comes from each record's IANA `timezone`
  (None, i.e. the user's home zone, when Withings sends a zone we do not know).
- Sleep summaries carry stage totals, not stage intervals: the session is stored without
  stages and the totals become sleep_asleep/deep/light/rem/awake samples over the night;
  in bed, latency and score are derived from the session by the ingestion service. Nights
  still in progress (`completed: false`) are skipped until they are complete.
- Notifications are unsigned form POSTs `{userid, appli, startdate, enddate}` (or `date`):
  hints only, the sync fetches with our own token. verify_webhook checks the shape and that
  the appli is one we subscribe to; the webhook view must check that `userid` belongs to a
  Withings connection. Withings probes the callback URL with HEAD (answered 200).
"""

import hashlib
import hmac
import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import lru_cache
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone as dj_timezone

from metrics.schemas import SampleIn, SleepSessionIn, SourceRef, WorkoutIn
from sources.errors import (
    AuthExpired,
    AuthRevoked,
    MalformedPayload,
    ProviderError,
    RateLimited,
    TransientError,
    WebhookRejected,
)
from sources.http import ProviderHTTP
from sources.providers import register
from sources.providers.base import DataType, Normalized, Provider, TokenSet, WebhookEvent

SLUG = "withings"
AUTH_STATUSES = frozenset({100, 101, 102, 200, 401})
RATE_LIMIT_STATUS = 601
TRANSIENT_STATUSES = frozenset({522})
RATE_LIMIT_WAIT = timedelta(seconds=60)
MAX_PAGES = 1000  # per window: far beyond any real answer, stops a runaway loop
DATE_MARGIN = timedelta(hours=14)  # widest UTC offset: local dates around a UTC window

# --- measures (getmeas) --------------------------------------------------------------------
# meastype -> (metric, unit as sent once value x 10^unit is applied)
MEASURE_TYPES: dict[int, tuple[str, str]] = {
    1: ("body_mass", "kg"),
    4: ("height", "m"),
    5: ("lean_body_mass", "kg"),  # fat-free mass
    6: ("body_fat_percentage", "%"),
    9: ("blood_pressure_diastolic", "mm[Hg]"),
    10: ("blood_pressure_systolic", "mm[Hg]"),
    11: ("heart_rate", "/min"),
    12: ("body_temperature", "Cel"),
    54: ("oxygen_saturation", "%"),
    71: ("body_temperature", "Cel"),
    73: ("skin_temperature", "Cel"),
    76: ("muscle_mass", "kg"),
    88: ("bone_mass", "kg"),
    123: ("vo2_max", "mL/(kg.min)"),
}
HYDRATION = 77  # kg of water -> body_water_percentage with the group's weight
WEIGHT = 1
# Requested from getmeas: what we map, plus hydration.
REQUESTED_MEASTYPES = ",".join(str(code) for code in sorted({*MEASURE_TYPES, HYDRATION}))
CATEGORY_REAL, CATEGORY_OBJECTIVE = 1, 2
ATTRIB_AMBIGUOUS = 1
ATTRIB_MANUAL = frozenset({2, 4})

# Device names by model id (spec tables of getmeas/getactivity/sleep), for origins.
MODEL_NAMES: dict[int, str] = {
    1: "Withings WBS01",
    2: "WS30",
    3: "Kid Scale",
    4: "Smart Body Analyzer",
    5: "Body+",
    6: "Body Cardio",
    7: "Body",
    9: "Body Pro",
    10: "Body Scan",
    11: "WBS10",
    12: "WBS11",
    13: "Body+",
    18: "Body Comp",
    41: "Withings Blood Pressure Monitor V1",
    42: "Withings Blood Pressure Monitor V2",
    43: "Withings Blood Pressure Monitor V3",
    44: "BPM Core",
    45: "BPM Connect",
    46: "BPM Connect Pro",
    47: "BPM Pro 2",
    48: "BPM Vision",
    51: "Pulse",
    52: "Activite",
    53: "Activite (Pop, Steel)",
    54: "Withings Go",
    55: "Activite Steel HR",
    58: "Pulse HR",
    59: "Activite Steel HR Sport Edition",
    60: "Aura Dock",
    61: "Aura Sensor",
    62: "Aura Dock",
    63: "Aura Sensor V2",
    70: "Thermo",
    71: "BeamO",
    90: "Move",
    91: "Move ECG",
    92: "Move ECG",
    93: "ScanWatch",
    94: "ScanWatch 2",
    95: "ScanWatch Light",
    1051: "iOS step tracker",
    1052: "iOS step tracker",
    1053: "Android step tracker",
    1054: "Android step tracker",
    1055: "GoogleFit tracker",
    1056: "Samsung Health tracker",
    1057: "HealthKit step iPhone tracker",
    1058: "HealthKit step Apple Watch tracker",
    1059: "HealthKit other step tracker",
    1060: "Google Health Connect",
    1062: "Huawei tracker",
}
SLEEP_MODELS = {16: "Withings tracker", 32: "Withings sleep monitor"}
FALLBACK_ORIGIN = "Withings"
MANUAL_ORIGIN = "Manual entry"

# --- workouts: Withings category -> metrics.models.ActivityType --------------------------
WORKOUT_CATEGORIES: dict[int, str] = {
    1: "walking",
    2: "running",
    3: "hiking",
    6: "cycling",
    7: "swimming",
    12: "tennis",
    16: "strength_training",
    18: "elliptical",
    19: "pilates",
    20: "basketball",
    21: "soccer",
    27: "golf",
    28: "yoga",
    29: "dance",
    33: "martial_arts",
    34: "skiing",
    35: "snowboarding",
    187: "rowing",
    188: "dance",
    195: "rock_climbing",
    306: "walking",
    307: "running",
    308: "indoor_cycling",
    491: "stairs",
    498: "running",
    523: "cycling",
    524: "cycling",
    525: "cycling",
    526: "cycling",
    529: "skiing",
    530: "skiing",
    535: "martial_arts",
    536: "martial_arts",
    537: "martial_arts",
    547: "indoor_cycling",
    550: "hiit",
    551: "meditation",
    559: "walking",
    566: "walking",
}
NO_ACTIVITY = 128  # "No activity": not a workout

# --- notifications -----------------------------------------------------------------------
# appli -> the data types a notification of it asks us to re-fetch.
APPLI_DATA_TYPES: dict[int, tuple[str, ...]] = {
    1: ("measures",),  # weight and body composition
    2: ("measures",),  # temperature
    4: ("measures",),  # blood pressure, heart rate, SpO2
    16: ("activity", "workouts"),
    44: ("sleep",),
}
YMD = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ACTIVITY_FIELDS = "steps,distance,elevation,soft,moderate,intense,active,calories,totalcalories"
SLEEP_FIELDS = (
    "total_timeinbed,total_sleep_time,asleepduration,lightsleepduration,remsleepduration,"
    "deepsleepduration,sleep_efficiency,sleep_latency,wakeupduration,rr_average,sleep_score"
)
WORKOUT_FIELDS = "calories,manual_calories,distance,manual_distance,hr_average,hr_max"


@register
class Withings(Provider):
    slug = SLUG
    name = "Withings"
    webhooks = True
    scopes = ("user.metrics", "user.activity")
    scope_delimiter = ","
    pkce = False  # the authorize endpoint documents no code_challenge
    reset_header = ""  # no rate-limit headers: 601 inside HTTP 200
    reset_is_epoch = False
    data_types = (
        DataType(
            "measures",
            tuple(
                dict.fromkeys([m for m, _ in MEASURE_TYPES.values()] + ["body_water_percentage"])
            ),
            max_history_days=3650,
            chunk_days=90,
            lookback_days=7,  # late scale syncs and confirmed ambiguous weigh-ins
        ),
        DataType(
            "activity",
            (
                "steps",
                "distance_walking_running",
                "flights_climbed",
                "active_energy",
                "basal_energy",
                "exercise_minutes",
            ),
            max_history_days=3650,
            chunk_days=30,
            lookback_days=3,  # today is partial until the tracker syncs again
        ),
        DataType(
            "sleep",
            (
                "sleep_asleep",
                "sleep_in_bed",
                "sleep_deep",
                "sleep_rem",
                "sleep_light",
                "sleep_awake",
                "sleep_latency",
                "sleep_efficiency",
                "sleep_score",
                "respiratory_rate",
            ),
            max_history_days=3650,
            chunk_days=30,
            lookback_days=3,
            events=True,
        ),
        DataType("workouts", (), max_history_days=3650, chunk_days=30, events=True),
    )

    # --- OAuth -----------------------------------------------------------------------------
    def parse_token_response(self, data: dict) -> TokenSet:
        """The token endpoint's JSON (the `{status, body}` envelope, or its body) -> TokenSet.

        Raises AuthRevoked for refused grants (dead code or refresh token, invalid_grant),
        AuthExpired/RateLimited as for data calls, MalformedPayload for a body without tokens.
        """
        if not isinstance(data, dict):
            raise MalformedPayload("withings token: the answer is not an object")
        if "status" in data:
            status = data.get("status")
            if isinstance(status, bool) or not isinstance(status, int):
                raise MalformedPayload("withings token: status is not an integer")
            if status != 0:
                raise _token_error(status, data.get("error"))
            body = data.get("body")
        else:
            body = data
        if not isinstance(body, dict):
            raise MalformedPayload("withings token: body is not an object")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
            raise MalformedPayload("withings token: access_token or refresh_token missing")
        expires_in = body.get("expires_in")
        if isinstance(expires_in, str) and expires_in.isdigit():
            expires_in = int(expires_in)
        if expires_in is not None and (
            isinstance(expires_in, bool) or not isinstance(expires_in, int)
        ):
            raise MalformedPayload("withings token: expires_in is not an integer")
        scope = body.get("scope") or ""
        if not isinstance(scope, str):
            raise MalformedPayload("withings token: scope is not a string")
        userid = body.get("userid")
        if isinstance(userid, bool) or not isinstance(userid, int | str | None):
            raise MalformedPayload("withings token: userid is neither a number nor a string")
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            expires_at=(
                dj_timezone.now() + timedelta(seconds=expires_in)
                if expires_in is not None
                else None
            ),
            scopes=tuple(s.strip() for s in re.split(r"[,\s]+", scope) if s.strip()),
            provider_user_id="" if userid is None else str(userid),
        )

    def refresh(self, http: ProviderHTTP, refresh_token: str) -> TokenSet:
        """Exchange the refresh token (single use, rotated) for a new pair.

        AuthRevoked when Withings refuses it (dead, revoked, invalid_grant)."""
        response = http.request(
            "POST",
            self.config["TOKEN_URL"],
            data={
                "action": "requesttoken",
                "grant_type": "refresh_token",
                "client_id": self.config["CLIENT_ID"],
                "client_secret": self.config["CLIENT_SECRET"],
                "refresh_token": refresh_token,
            },
        )
        return self.parse_token_response(http.json(response))

    def revoke(
        self,
        http: ProviderHTTP,
        access_token: str,
        refresh_token: str,
        provider_user_id: str = "",
    ) -> bool:
        """Revoke our access for this user (it also drops their notification subscriptions).

        The signed call needs the Withings user id; without one it is learnt from a refresh
        (the tokens are being thrown away anyway). Returns False when Withings refuses the
        call (apps without a partner plan may not be allowed to); raises only for transport
        trouble (TransientError) so a disconnect can still finish locally."""
        userid = provider_user_id
        if not userid and refresh_token:
            try:
                userid = self.refresh(http, refresh_token).provider_user_id
            except (AuthRevoked, AuthExpired):
                return False  # consent already gone: nothing left to revoke
        if not userid:
            return False
        try:
            nonce = self._nonce(http)
            params = {"action": "revoke", "client_id": self.config["CLIENT_ID"], "nonce": nonce}
            params["signature"] = self._sign(params["action"], params["client_id"], nonce)
            params["userid"] = userid
            response = http.request("POST", self.config["REVOKE_URL"], data=params)
            _envelope(http.json(response), "revoke")
        except (AuthExpired, AuthRevoked, RateLimited, MalformedPayload):
            return False
        except TransientError:
            raise
        except ProviderError:
            return False
        return True

    def _sign(self, *values: str) -> str:
        """Withings request signature: hex HMAC-SHA256 of the comma-joined values."""
        secret = self.config["CLIENT_SECRET"].encode()
        return hmac.new(secret, ",".join(values).encode(), hashlib.sha256).hexdigest()

    def _nonce(self, http: ProviderHTTP) -> str:
        timestamp = str(int(time.time()))
        client_id = self.config["CLIENT_ID"]
        response = http.request(
            "POST",
            self.url("/v2/signature"),
            data={
                "action": "getnonce",
                "client_id": client_id,
                "timestamp": timestamp,
                "signature": self._sign("getnonce", client_id, timestamp),
            },
        )
        body = _envelope(http.json(response), "getnonce")["body"]
        nonce = body.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise MalformedPayload("withings getnonce: no nonce in the answer")
        return nonce

    # --- data ------------------------------------------------------------------------------
    def fetch(
        self, http: ProviderHTTP, access_token: str, data_type: str, start: datetime, end: datetime
    ) -> Iterator[dict]:
        """Raw envelopes (`{status: 0, body}`) for [start, end), chunk by chunk, page by page.

        Raises AuthExpired (status 401 and friends), RateLimited (601 or HTTP 429),
        TransientError, ProviderError (other statuses), MalformedPayload."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("fetch needs aware datetimes")
        chunk = timedelta(days=self.data_type(data_type).chunk_days)
        if data_type == "measures":
            path, base = "/measure", {"action": "getmeas", "meastypes": REQUESTED_MEASTYPES}
            base["category"] = str(CATEGORY_REAL)
            windows = [
                {"startdate": str(_unix_floor(a)), "enddate": str(_unix_ceil(b) - 1)}
                for a, b in _split(start, end, chunk)
            ]
        else:
            path, base = {
                "activity": (
                    "/v2/measure",
                    {"action": "getactivity", "data_fields": ACTIVITY_FIELDS},
                ),
                "workouts": (
                    "/v2/measure",
                    {"action": "getworkouts", "data_fields": WORKOUT_FIELDS},
                ),
                "sleep": ("/v2/sleep", {"action": "getsummary", "data_fields": SLEEP_FIELDS}),
            }[data_type]
            windows = [
                {"startdateymd": a.isoformat(), "enddateymd": b.isoformat()}
                for a, b in _split_days(start, end, chunk.days)
            ]
        where = f"{base['action']}"
        for window in windows:
            offset: int | None = None
            seen: set[int] = set()
            for _ in range(MAX_PAGES):
                form = {**base, **window}
                if offset:
                    form["offset"] = str(offset)
                response = http.request("POST", self.url(path), token=access_token, data=form)
                page = _envelope(http.json(response), where)
                yield page
                body = page["body"]
                more = body.get("more", False)
                if isinstance(more, str) or not isinstance(more, int | None):
                    raise MalformedPayload(
                        f"withings {where}: more is neither a number nor a boolean"
                    )
                if not more:
                    break
                next_offset = body.get("offset")
                if isinstance(next_offset, bool) or not isinstance(next_offset, int):
                    raise MalformedPayload(f"withings {where}: more without an integer offset")
                if next_offset in seen or next_offset == (offset or 0):
                    raise MalformedPayload(f"withings {where}: the offset does not advance")
                seen.add(next_offset)
                offset = next_offset
            else:
                raise MalformedPayload(f"withings {where}: more than {MAX_PAGES} pages")

    def normalize(self, data_type: str, page: dict) -> Normalized:
        """Pure: one raw envelope -> records; MalformedPayload rejects the whole page."""
        body = _body(page, data_type)
        if data_type == "measures":
            return _normalize_measures(body)
        if data_type == "activity":
            return _normalize_activity(body)
        if data_type == "sleep":
            return _normalize_sleep(body)
        if data_type == "workouts":
            return _normalize_workouts(body)
        raise KeyError(f"withings has no data type {data_type!r}")

    # --- webhooks --------------------------------------------------------------------------
    def webhook_handshake(self, request: HttpRequest) -> HttpResponse | None:
        """Withings checks a callback URL with HEAD (when the app is saved, on subscribe)."""
        if request.method == "HEAD":
            return HttpResponse(status=200)
        return None

    def verify_webhook(self, request: HttpRequest) -> list[WebhookEvent]:
        """Parse an (unsigned) notification; WebhookRejected (400) if it is not one.

        Withings signs nothing, so this only proves the shape: a numeric userid, an appli we
        subscribe to, a sane window. The events are hints: the sync re-reads the window with
        our own token, and the caller must check that the userid is one of our connections.
        The delivery id hashes (userid, appli, window) so Withings' retries dedupe."""
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise WebhookRejected("withings notifications are form-encoded", status=400)
        try:
            pairs = parse_qsl(
                request.body.decode("ascii"), keep_blank_values=True, strict_parsing=True
            )
        except (UnicodeDecodeError, ValueError):
            raise WebhookRejected("unreadable notification body", status=400) from None
        form: dict[str, str] = {}
        for key, value in pairs:
            if key in form:
                raise WebhookRejected(f"parameter {key} given twice", status=400)
            form[key] = value
        userid, appli = form.get("userid", ""), form.get("appli", "")
        if not userid.isdigit() or len(userid) > 20:
            raise WebhookRejected("userid is not a Withings user id", status=400)
        if not appli.isdigit() or int(appli) not in APPLI_DATA_TYPES:
            raise WebhookRejected("appli is not one we subscribe to", status=400)
        start = end = None
        if "startdate" in form or "enddate" in form:
            first, last = form.get("startdate", ""), form.get("enddate", "")
            if not (first.isdigit() and last.isdigit() and len(first) <= 12 and len(last) <= 12):
                raise WebhookRejected("startdate/enddate are not unix times", status=400)
            start = datetime.fromtimestamp(int(first), UTC)
            end = datetime.fromtimestamp(int(last), UTC)
            window = f"{first}:{last}"
        elif "date" in form:
            day = form["date"]
            try:
                parsed = date.fromisoformat(day) if YMD.match(day) else None
            except ValueError:
                parsed = None
            if parsed is None:
                raise WebhookRejected("date is not YYYY-MM-DD", status=400)
            # A local date: the UTC span that covers it in every time zone.
            start = datetime.combine(parsed, dtime(), UTC) - DATE_MARGIN
            end = datetime.combine(parsed + timedelta(days=1), dtime(), UTC) + DATE_MARGIN
            window = day
        else:
            raise WebhookRejected("no startdate/enddate or date", status=400)
        if end < start:
            raise WebhookRejected("the window ends before it starts", status=400)
        if start > dj_timezone.now() + timedelta(days=1):
            raise WebhookRejected("the window lies in the future", status=400)
        delivery = hashlib.sha256(f"{SLUG}:{userid}:{appli}:{window}".encode()).hexdigest()
        return [
            WebhookEvent(
                provider_user_id=userid,
                data_types=APPLI_DATA_TYPES[int(appli)],
                delivery_id=delivery,
                start=start,
                end=end,
            )
        ]

    def subscribe(self, http: ProviderHTTP, access_token: str, callback_url: str) -> list[dict]:
        """Subscribe this user's notifications for every appli we fetch (per user, per appli;
        they do not expire). Returns what unsubscribe needs."""
        remembered = []
        for appli in APPLI_DATA_TYPES:
            response = http.request(
                "POST",
                self.url("/notify"),
                token=access_token,
                data={
                    "action": "subscribe",
                    "callbackurl": callback_url,
                    "appli": str(appli),
                    "comment": "HealthHub",
                },
            )
            _envelope(http.json(response), "notify subscribe")
            remembered.append(
                {
                    "id": f"appli-{appli}",
                    "appli": appli,
                    "data_type": ",".join(APPLI_DATA_TYPES[appli]),
                    "event_type": "notify",
                    "expires_at": None,
                }
            )
        return remembered

    def unsubscribe(
        self, http: ProviderHTTP, access_token: str, callback_url: str, subscriptions: list[dict]
    ) -> None:
        """Revoke each subscription (best effort: one already gone is not an error; auth
        and rate-limit errors are raised for the caller to handle)."""
        applis = [s.get("appli") for s in subscriptions if isinstance(s.get("appli"), int)]
        for appli in applis or list(APPLI_DATA_TYPES):
            response = http.request(
                "POST",
                self.url("/notify"),
                token=access_token,
                data={"action": "revoke", "callbackurl": callback_url, "appli": str(appli)},
            )
            try:
                _envelope(http.json(response), "notify revoke")
            except (AuthExpired, RateLimited, TransientError):
                raise
            except ProviderError:
                continue


# --- envelope and errors --------------------------------------------------------------------
def _envelope(data, where: str) -> dict:
    """Check a `{status, body}` answer; status 0 returns it, anything else raises."""
    if not isinstance(data, dict):
        raise MalformedPayload(f"withings {where}: the answer is not an object")
    status = data.get("status")
    if isinstance(status, bool) or not isinstance(status, int):
        raise MalformedPayload(f"withings {where}: the answer has no integer status")
    if status != 0:
        raise _status_error(status, where)
    if not isinstance(data.get("body"), dict):
        raise MalformedPayload(f"withings {where}: body is not an object")
    return data


def _status_error(status: int, where: str) -> ProviderError:
    if status in AUTH_STATUSES:
        return AuthExpired(f"withings {where}: the access token was refused (status {status})")
    if status == RATE_LIMIT_STATUS:
        return RateLimited(
            datetime.now(UTC) + RATE_LIMIT_WAIT, f"withings {where}: too many requests (601)"
        )
    if status in TRANSIENT_STATUSES:
        return TransientError(f"withings {where}: the provider timed out (status {status})")
    return ProviderError(f"withings {where}: the provider answered status {status}")


def _token_error(status: int, error) -> ProviderError:
    text = error.lower() if isinstance(error, str) else ""
    if status in AUTH_STATUSES or "invalid_grant" in text or "refresh_token" in text:
        return AuthRevoked(f"withings token: the grant was refused (status {status})")
    if "invalid code" in text or "authorization code" in text:
        return AuthRevoked(f"withings token: the authorization code was refused (status {status})")
    if status == RATE_LIMIT_STATUS:
        return _status_error(status, "token")
    return ProviderError(f"withings token: the provider answered status {status}")


def _body(page, data_type: str) -> dict:
    if not isinstance(page, dict):
        raise MalformedPayload(f"withings {data_type}: the page is not an object")
    if page.get("status") != 0 or isinstance(page.get("status"), bool):
        raise MalformedPayload(f"withings {data_type}: the page is not a status-0 answer")
    body = page.get("body")
    if not isinstance(body, dict):
        raise MalformedPayload(f"withings {data_type}: body is not an object")
    return body


# --- windows --------------------------------------------------------------------------------
def _unix_floor(when: datetime) -> int:
    return math.floor(when.timestamp())


def _unix_ceil(when: datetime) -> int:
    return math.ceil(when.timestamp())


def _split(start: datetime, end: datetime, chunk: timedelta) -> list[tuple[datetime, datetime]]:
    windows = []
    while start < end:
        windows.append((start, min(start + chunk, end)))
        start += chunk
    return windows


def _split_days(start: datetime, end: datetime, days: int) -> list[tuple[date, date]]:
    """Inclusive local-date ranges of at most `days` days covering [start, end) anywhere."""
    if end <= start:
        return []
    first = (start.astimezone(UTC) - DATE_MARGIN).date()
    last = (end.astimezone(UTC) + DATE_MARGIN - timedelta(microseconds=1)).date()
    windows = []
    while first <= last:
        until = min(first + timedelta(days=days - 1), last)
        windows.append((first, until))
        first = until + timedelta(days=1)
    return windows


# --- validation helpers ---------------------------------------------------------------------
def _fail(where: str, what: str):
    raise MalformedPayload(f"withings {where}: {what}")


def _list(body: dict, key: str, where: str) -> list:
    value = body.get(key, [])
    if not isinstance(value, list):
        _fail(where, f"{key} is not a list")
    return value


def _obj(item, where: str) -> dict:
    if not isinstance(item, dict):
        _fail(where, "an item is not an object")
    return item


def _int(item: dict, key: str, where: str, *, required: bool = True) -> int | None:
    value = item.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(where, f"{key} is missing or not an integer")
    return value


def _num(item: dict, key: str, where: str) -> float | None:
    """An optional number (nulls are common); strings, booleans, NaN are malformed."""
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(where, f"{key} is not a number")
    return float(value)


def _amounts(item: dict, keys: tuple[str, ...], where: str) -> dict[str, float | None]:
    """Optional numbers (_num) that cannot be negative: durations, counts, distances."""
    numbers = {key: _num(item, key, where) for key in keys}
    for key, value in numbers.items():
        if value is not None and value < 0:
            _fail(where, f"{key} is negative")
    return numbers


def _str(item: dict, key: str, where: str, *, required: bool = False) -> str | None:
    value = item.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        _fail(where, f"{key} is missing or not a string")
    return value


def _at(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayload("withings: a timestamp is out of range") from None


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _offset(zone_name: str | None, when: datetime) -> int | None:
    """Minutes east of UTC in `zone_name` at `when`; None for an unknown zone."""
    zone = _zone(zone_name) if zone_name else None
    if zone is None:
        return None
    return int(when.astimezone(zone).utcoffset().total_seconds() // 60)


def _origin(model_name: str | None, model_id: int | None) -> str:
    if model_name:
        return model_name
    return MODEL_NAMES.get(model_id, FALLBACK_ORIGIN) if model_id is not None else FALLBACK_ORIGIN


# --- normalizers ----------------------------------------------------------------------------
def _normalize_measures(body: dict) -> Normalized:
    out = Normalized()
    zone_name = _str(body, "timezone", "getmeas")
    for index, raw in enumerate(_list(body, "measuregrps", "getmeas")):
        where = f"getmeas measuregrps[{index}]"
        group = _obj(raw, where)
        _int(group, "grpid", where)
        attrib = _int(group, "attrib", where)
        category = _int(group, "category", where)
        taken = _at(_int(group, "date", where))
        measures = _list(group, "measures", where)
        model = _str(group, "model", where)
        model_id = _int(group, "modelid", where, required=False)
        if model_id is None:
            model_id = _int(group, "model_id", where, required=False)
        _str(group, "deviceid", where)
        if category not in (CATEGORY_REAL, CATEGORY_OBJECTIVE):
            _fail(where, "category is neither 1 (real) nor 2 (objective)")
        values: dict[int, float] = {}
        for position, raw_measure in enumerate(measures):
            spot = f"{where}.measures[{position}]"
            measure = _obj(raw_measure, spot)
            kind = _int(measure, "type", spot)
            value = _int(measure, "value", spot)
            unit = _int(measure, "unit", spot)
            if not -20 <= unit <= 20:
                _fail(spot, "unit is not a plausible power of ten")
            values[kind] = value / 10 ** (-unit) if unit < 0 else float(value * 10**unit)
        # Validated in full first: a malformed group anywhere rejects the page.
        if category == CATEGORY_OBJECTIVE or attrib == ATTRIB_AMBIGUOUS:
            continue
        if attrib in ATTRIB_MANUAL and not model:
            origin = MANUAL_ORIGIN
        else:
            origin = _origin(model, model_id)
        source = SourceRef(kind=SLUG, origin=origin)
        offset = _offset(zone_name, taken)
        written: set[str] = set()
        # 71 (body temperature) before 12 (temperature): one reading per metric and group.
        for kind in sorted(values, key=lambda k: (k != 71, k)):
            if kind not in MEASURE_TYPES:
                continue
            metric, unit_name = MEASURE_TYPES[kind]
            if metric in written:
                continue
            written.add(metric)
            out.samples.append(
                SampleIn(metric, taken, taken, values[kind], unit_name, source, offset)
            )
        weight = values.get(WEIGHT)
        if HYDRATION in values and weight:
            out.samples.append(
                SampleIn(
                    "body_water_percentage",
                    taken,
                    taken,
                    100 * values[HYDRATION] / weight,
                    "%",
                    source,
                    offset,
                )
            )
    return out


def _local_day(
    day: str, zone_name: str | None, where: str
) -> tuple[datetime, datetime, int | None]:
    """[local midnight, next local midnight) of `day` in UTC, and the offset at its start."""
    if not YMD.match(day):
        _fail(where, "date is not YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise MalformedPayload(f"withings {where}: date is not a calendar date") from None
    zone = _zone(zone_name) if zone_name else None
    tz = zone or UTC
    start = datetime.combine(parsed, dtime(), tz).astimezone(UTC)
    end = datetime.combine(parsed + timedelta(days=1), dtime(), tz).astimezone(UTC)
    return start, end, _offset(zone_name, start) if zone else None


def _normalize_activity(body: dict) -> Normalized:
    out = Normalized()
    for index, raw in enumerate(_list(body, "activities", "getactivity")):
        where = f"getactivity activities[{index}]"
        item = _obj(raw, where)
        day = _str(item, "date", where, required=True)
        zone_name = _str(item, "timezone", where)
        model = _str(item, "model", where)
        model_id = _int(item, "modelid", where, required=False)
        start, end, offset = _local_day(day, zone_name, where)
        numbers = _amounts(
            item, ("steps", "distance", "elevation", "calories", "totalcalories", "active"), where
        )
        source = SourceRef(kind=SLUG, origin=_origin(model, model_id))

        def sample(metric: str, value: float, unit: str, source=source, s=start, e=end, o=offset):
            out.samples.append(SampleIn(metric, s, e, value, unit, source, o))

        if numbers["steps"] is not None:
            sample("steps", numbers["steps"], "count")
        if numbers["distance"] is not None:
            sample("distance_walking_running", numbers["distance"], "m")
        if numbers["elevation"] is not None:
            sample("flights_climbed", numbers["elevation"], "count")
        if numbers["calories"] is not None:
            sample("active_energy", numbers["calories"], "kcal")
            total = numbers["totalcalories"]
            if total is not None and total >= numbers["calories"]:
                sample("basal_energy", total - numbers["calories"], "kcal")
        if numbers["active"] is not None:
            sample("exercise_minutes", numbers["active"], "s")
    return out


SLEEP_STAGE_METRICS = (
    ("deepsleepduration", "sleep_deep"),
    ("lightsleepduration", "sleep_light"),
    ("remsleepduration", "sleep_rem"),
    ("wakeupduration", "sleep_awake"),
)


def _normalize_sleep(body: dict) -> Normalized:
    out = Normalized()
    for index, raw in enumerate(_list(body, "series", "getsummary")):
        where = f"getsummary series[{index}]"
        item = _obj(raw, where)
        night_id = _int(item, "id", where)
        zone_name = _str(item, "timezone", where)
        model = _int(item, "model", where, required=False)
        model_id = _int(item, "model_id", where, required=False)
        start = _at(_int(item, "startdate", where))
        end = _at(_int(item, "enddate", where))
        if end < start:
            _fail(where, "enddate is before startdate")
        completed = item.get("completed", True)
        if not isinstance(completed, bool):
            _fail(where, "completed is not a boolean")
        data = _obj(item.get("data", {}), f"{where}.data")
        fields = _amounts(
            data,
            (
                "total_sleep_time",
                "asleepduration",
                "deepsleepduration",
                "lightsleepduration",
                "remsleepduration",
                "wakeupduration",
                "sleep_latency",
                "sleep_efficiency",
                "sleep_score",
                "rr_average",
            ),
            f"{where}.data",
        )
        efficiency = fields["sleep_efficiency"]
        if efficiency is not None and efficiency > 1:
            _fail(f"{where}.data", "sleep_efficiency is not a ratio")
        score = fields["sleep_score"]
        if score is not None and score > 100:
            _fail(f"{where}.data", "sleep_score is above 100")
        if not completed:
            continue  # a night in progress: fetched again, complete, within the look-back
        origin = MODEL_NAMES.get(model_id) if model_id is not None else None
        source = SourceRef(kind=SLUG, origin=origin or SLEEP_MODELS.get(model, FALLBACK_ORIGIN))
        offset = _offset(zone_name, start)
        latency = fields["sleep_latency"]
        out.sleep.append(
            SleepSessionIn(
                source=source,
                start=start,
                end=end,
                utc_offset=offset,
                external_id=str(night_id),
                score=score,
                latency_minutes=latency / 60 if latency is not None else None,
            )
        )

        def sample(metric: str, value: float, unit: str, source=source, s=start, e=end, o=offset):
            out.samples.append(SampleIn(metric, s, e, value, unit, source, o))

        asleep = fields["total_sleep_time"]
        if asleep is None:
            asleep = fields["asleepduration"]  # nights from external sources
        if asleep is not None:
            sample("sleep_asleep", asleep, "s")
        for key, metric in SLEEP_STAGE_METRICS:
            if fields[key] is not None:
                sample(metric, fields[key], "s")
        if efficiency is not None:
            sample("sleep_efficiency", efficiency, "1")
        if fields["rr_average"]:
            sample("respiratory_rate", fields["rr_average"], "/min")
    return out


def _normalize_workouts(body: dict) -> Normalized:
    out = Normalized()
    for index, raw in enumerate(_list(body, "series", "getworkouts")):
        where = f"getworkouts series[{index}]"
        item = _obj(raw, where)
        workout_id = _int(item, "id", where)
        category = _int(item, "category", where)
        zone_name = _str(item, "timezone", where)
        model = _int(item, "model", where, required=False)
        start = _at(_int(item, "startdate", where))
        end = _at(_int(item, "enddate", where))
        if end < start:
            _fail(where, "enddate is before startdate")
        data = _obj(item.get("data", {}), f"{where}.data")
        numbers = _amounts(
            data,
            ("calories", "manual_calories", "distance", "manual_distance", "hr_average", "hr_max"),
            f"{where}.data",
        )
        if category == NO_ACTIVITY:
            continue
        energy = numbers["calories"] or numbers["manual_calories"] or None
        distance = numbers["distance"] or numbers["manual_distance"] or None
        out.workouts.append(
            WorkoutIn(
                source=SourceRef(kind=SLUG, origin=_origin(None, model)),
                activity_type=WORKOUT_CATEGORIES.get(category, "other"),
                start=start,
                end=end,
                utc_offset=_offset(zone_name, start),
                external_id=str(workout_id),
                distance_m=distance,
                energy_kcal=energy,
                # 0 is what Withings sends when nothing measured the heart rate.
                heart_rate_avg=numbers["hr_average"] or None,
                heart_rate_max=numbers["hr_max"] or None,
            )
        )
    return out
