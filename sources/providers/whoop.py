"""WHOOP (developer API v2).

Quirks this module handles (facts in ../shared/reference/providers.md §3):
- OAuth: form-encoded token endpoint with client_id/client_secret in the body. A refresh
  token is issued only with the `offline` scope, and a refresh must send `scope=offline`
  again; every refresh returns a new refresh token (the old one dies). `state` must be at
  least 8 characters (allauth's 16-character state satisfies it). PKCE is not documented
  by WHOOP (UNCERTAIN), so `pkce` stays False. The token response carries no user id:
  `profile_user_id()` reads it from /v2/user/profile/basic (hence `read:profile`; the
  webhooks name users by that id).
- Collections (cycle, recovery, sleep, workout): `limit` at most 25, `start` inclusive,
  `end` exclusive, newest first; the next page is asked for with `nextToken` and announced
  as `next_token`. 429 carries X-RateLimit-Reset in seconds from now.
- Everything is milliseconds and kilojoules. Records carry `timezone_offset` ("+hh:mm",
  "-hh:mm" or "Z"), which becomes the samples' `utc_offset` in minutes.
- `score` is present only when `score_state` is SCORED. Unscored sleeps and workouts keep
  their timing (a session / a workout without numbers); unscored cycles and recoveries give
  nothing. The current cycle has no `end`: its numbers are still growing, so it gives
  nothing until it closes (the look-back re-reads it).
- Recovery records have no time of their own: their samples are instants at `created_at`
  (when WHOOP scored the night, i.e. on waking) in the user's home time zone.
- Sleep has no hypnogram, only stage totals: a session with its start and end (no stage
  intervals) plus samples over the session for time asleep, deep/REM/light/awake minutes,
  efficiency and respiratory rate. Time in bed and the sleep score (WHOOP's sleep
  performance) come from the session itself through the ingestion service. Naps are
  flagged (`nap`) and give no sleep score.
- The cycle's `kilojoule` is mapped to active energy as asked by the issue. WHOOP counts
  the whole day's expenditure there (UNCERTAIN whether resting energy is included).
- Body measurements are one undated object: fetch wraps it as {"as_of", "measurement"}
  stamped at the start of the UTC day of the window's end, so every sync on one day
  upserts the same samples (windows that ended days ago fetch nothing: the values are
  today's).
- Webhooks: one URL per app (set in the dashboard; no subscription API). The body is
  {user_id, id, type, trace_id}; X-WHOOP-Signature is base64(HMAC-SHA256(client secret,
  X-WHOOP-Signature-Timestamp + raw body)), the timestamp in epoch milliseconds.
"""

import base64
import hashlib
import hmac
import json
import math
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse

from metrics.models import ActivityType
from metrics.schemas import SampleIn, SleepSessionIn, SourceRef, WorkoutIn
from metrics.units import convert
from sources.errors import (
    AuthExpired,
    AuthRevoked,
    MalformedPayload,
    ProviderError,
    WebhookRejected,
)
from sources.http import ProviderHTTP
from sources.providers import register
from sources.providers.base import DataType, Normalized, Provider, TokenSet, WebhookEvent

PAGE_LIMIT = 25  # the API's maximum; it answers 400 above
WEBHOOK_TOLERANCE = timedelta(minutes=5)
BODY_STALE_DAYS = 2  # body windows ending earlier than this are not fetched
STRAP = SourceRef(kind="whoop", origin="WHOOP strap")
# Height and weight are what the member typed into the WHOOP app.
APP = SourceRef(kind="whoop", origin="WHOOP app")

COLLECTIONS = {
    "cycle": "/v2/cycle",
    "recovery": "/v2/recovery",
    "sleep": "/v2/activity/sleep",
    "workout": "/v2/activity/workout",
}
BODY_PATH = "/v2/user/measurement/body"
PROFILE_PATH = "/v2/user/profile/basic"
SCORE_STATES = frozenset({"SCORED", "PENDING_SCORE", "UNSCORABLE"})
# OAuth errors that mean the grant itself is gone: the user must connect again.
DEAD_GRANT_ERRORS = frozenset({"invalid_grant", "access_denied", "invalid_token"})

WEBHOOK_TYPES = {
    "workout.updated": ("workout", "cycle"),
    "workout.deleted": ("workout", "cycle"),
    "sleep.updated": ("sleep", "cycle"),
    "sleep.deleted": ("sleep", "cycle"),
    "recovery.updated": ("recovery",),
    "recovery.deleted": ("recovery",),
}

_A = ActivityType
# WHOOP sport_name slugs (lower case, hyphenated) -> our activity types; the rest: other.
SPORTS = {
    "running": _A.RUNNING,
    "track-field": _A.RUNNING,
    "track-and-field": _A.RUNNING,
    "stroller-jogging": _A.RUNNING,
    "walking": _A.WALKING,
    "stroller-walking": _A.WALKING,
    "dog-walking": _A.WALKING,
    "caddying": _A.WALKING,
    "hiking-rucking": _A.HIKING,
    "hiking": _A.HIKING,
    "cycling": _A.CYCLING,
    "mountain-biking": _A.CYCLING,
    "spin": _A.INDOOR_CYCLING,
    "assault-bike": _A.INDOOR_CYCLING,
    "swimming": _A.SWIMMING,
    "rowing": _A.ROWING,
    "elliptical": _A.ELLIPTICAL,
    "weightlifting": _A.STRENGTH_TRAINING,
    "powerlifting": _A.STRENGTH_TRAINING,
    "strength-trainer": _A.STRENGTH_TRAINING,
    "functional-fitness": _A.HIIT,
    "hiit": _A.HIIT,
    "f45-training": _A.HIIT,
    "yoga": _A.YOGA,
    "hot-yoga": _A.YOGA,
    "pilates": _A.PILATES,
    "dance": _A.DANCE,
    "rock-climbing": _A.ROCK_CLIMBING,
    "skiing": _A.SKIING,
    "cross-country-skiing": _A.SKIING,
    "snowboarding": _A.SNOWBOARDING,
    "tennis": _A.TENNIS,
    "soccer": _A.SOCCER,
    "basketball": _A.BASKETBALL,
    "golf": _A.GOLF,
    "martial-arts": _A.MARTIAL_ARTS,
    "jiu-jitsu": _A.MARTIAL_ARTS,
    "boxing": _A.MARTIAL_ARTS,
    "kickboxing": _A.MARTIAL_ARTS,
    "meditation": _A.MEDITATION,
    "stairmaster": _A.STAIRS,
    "stadium-steps": _A.STAIRS,
    "climber": _A.STAIRS,
}

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


# --- small validators (anything not as documented -> MalformedPayload) ------------------


def _fail(where: str, message: str) -> MalformedPayload:
    return MalformedPayload(f"WHOOP {where}: {message}")


def _field(record: dict, key: str, kind: str, where: str, *, required: bool = True):
    """`record[key]` checked against `kind` (int, number, str, bool, dict); None if absent
    and optional. Values are never quoted in the message (they may be health data)."""
    value = record.get(key)
    if value is None:
        if required:
            raise _fail(where, f"{key!r} is missing")
        return None
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value),
        "str": isinstance(value, str) and value != "",
        "bool": isinstance(value, bool),
        "dict": isinstance(value, dict),
    }[kind]
    if not ok:
        raise _fail(where, f"{key!r} is not a {kind}")
    return value


def _time(record: dict, key: str, where: str, *, required: bool = True) -> datetime | None:
    value = _field(record, key, "str", where, required=required)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(where, f"{key!r} is not an ISO 8601 date-time") from None
    if when.tzinfo is None:
        raise _fail(where, f"{key!r} has no time zone")
    return when.astimezone(UTC)


def parse_offset(value: str) -> int:
    """A Time Zone Designator ("+hh:mm", "-hh:mm", "Z") -> minutes east of UTC."""
    if value == "Z":
        return 0
    match = _OFFSET.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("not a time zone designator")
    sign, hours, minutes = match.groups()
    if int(hours) > 18 or int(minutes) > 59:
        raise ValueError("time zone designator out of range")
    total = int(hours) * 60 + int(minutes)
    return -total if sign == "-" else total


def _offset(record: dict, where: str) -> int:
    value = _field(record, "timezone_offset", "str", where)
    try:
        return parse_offset(value)
    except ValueError:
        raise _fail(where, "'timezone_offset' is not '+hh:mm', '-hh:mm' or 'Z'") from None


def _uuid(record: dict, key: str, where: str) -> str:
    value = _field(record, key, "str", where)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _fail(where, f"{key!r} is not a UUID") from None


def _score(record: dict, where: str) -> dict | None:
    """The score object when SCORED (then it must be there), else None."""
    state = _field(record, "score_state", "str", where)
    if state not in SCORE_STATES:
        raise _fail(where, "'score_state' is not SCORED, PENDING_SCORE or UNSCORABLE")
    if state != "SCORED":
        return None
    return _field(record, "score", "dict", where)


def _interval(record: dict, where: str, *, end_required: bool = True):
    start = _time(record, "start", where)
    end = _time(record, "end", where, required=end_required)
    if end is not None and end < start:
        raise _fail(where, "'end' is before 'start'")
    return start, end


def _records(page, where: str) -> list[dict]:
    if not isinstance(page, dict):
        raise _fail(where, "the page is not an object")
    records = page.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise _fail(where, "'records' is not a list of objects")
    token = page.get("next_token")
    if token is not None and not isinstance(token, str):
        raise _fail(where, "'next_token' is not a string")
    return records


def _iso(when: datetime) -> str:
    """WHOOP's date-time format: UTC with milliseconds and a Z."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _windows(start: datetime, end: datetime, days: int) -> Iterator[tuple[datetime, datetime]]:
    step = timedelta(days=days)
    cursor = start
    while cursor < end:
        stop = min(cursor + step, end)
        yield cursor, stop
        cursor = stop


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """WHOOP's signature: base64(HMAC-SHA256(secret, timestamp string + raw body))."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@register
class Whoop(Provider):
    slug = "whoop"
    name = "WHOOP"
    data_types = (
        DataType(
            "cycle",
            metrics=("strain", "active_energy", "heart_rate"),
            max_history_days=3650,
            chunk_days=30,
            # The open cycle gives nothing until it closes, about a day later.
            lookback_days=3,
        ),
        DataType(
            "recovery",
            metrics=(
                "recovery_score",
                "resting_heart_rate",
                "hrv_rmssd",
                "oxygen_saturation",
                "skin_temperature",
            ),
            max_history_days=3650,
            chunk_days=30,
            lookback_days=3,
        ),
        DataType(
            "sleep",
            metrics=(
                "sleep_in_bed",
                "sleep_asleep",
                "sleep_deep",
                "sleep_rem",
                "sleep_light",
                "sleep_awake",
                "sleep_efficiency",
                "sleep_score",
                "respiratory_rate",
            ),
            max_history_days=3650,
            chunk_days=30,
            lookback_days=3,
            events=True,
        ),
        DataType(
            "workout",
            metrics=(),
            max_history_days=3650,
            chunk_days=30,
            lookback_days=3,
            events=True,
        ),
        # The current values only: there is no history to backfill.
        DataType(
            "body",
            metrics=("height", "body_mass"),
            max_history_days=1,
            chunk_days=1,
            lookback_days=0,
        ),
    )
    webhooks = True
    scopes = (
        "offline",
        "read:profile",
        "read:cycles",
        "read:recovery",
        "read:sleep",
        "read:workout",
        "read:body_measurement",
    )
    scope_delimiter = " "
    pkce = False
    reset_header = "X-RateLimit-Reset"
    reset_is_epoch = False

    # --- OAuth -------------------------------------------------------------------------
    def parse_token_response(self, data: dict) -> TokenSet:
        """The token endpoint's JSON -> TokenSet. An OAuth error body raises AuthRevoked
        (dead grant) or ProviderError; a body without an access token MalformedPayload.
        WHOOP's response has no user id (see `profile_user_id`)."""
        if not isinstance(data, dict):
            raise MalformedPayload("WHOOP token endpoint: the answer is not an object")
        if "error" in data:
            raise self._oauth_error(data)
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise MalformedPayload("WHOOP token endpoint: no access token in the answer")
        refresh = data.get("refresh_token") or ""
        if not isinstance(refresh, str):
            raise MalformedPayload("WHOOP token endpoint: the refresh token is not a string")
        token_type = data.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise MalformedPayload("WHOOP token endpoint: not a bearer token")
        expires_in = data.get("expires_in")
        expires_at = None
        if expires_in is not None:
            if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
                raise MalformedPayload("WHOOP token endpoint: 'expires_in' is not a number")
            expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        scope = data.get("scope") or ""
        if not isinstance(scope, str):
            raise MalformedPayload("WHOOP token endpoint: 'scope' is not a string")
        user_id = data.get("user_id")
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            expires_at=expires_at,
            scopes=tuple(scope.split(self.scope_delimiter)) if scope else (),
            provider_user_id="" if user_id is None else str(user_id),
        )

    @staticmethod
    def _oauth_error(data: dict) -> ProviderError:
        code = data.get("error")
        # Only a short identifier goes into messages (never a description or a token).
        if not (isinstance(code, str) and len(code) <= 40 and code.replace("_", "").isalnum()):
            code = ""
        if code in DEAD_GRANT_ERRORS:
            return AuthRevoked(f"WHOOP refused the grant ({code}): the user must reconnect")
        return ProviderError(f"WHOOP token endpoint error ({code or 'unknown'})")

    def refresh(self, http: ProviderHTTP, refresh_token: str) -> TokenSet:
        """A new token pair. WHOOP needs `scope=offline` again and rotates the refresh
        token (the one sent is dead afterwards); if the answer lacks one, the old one is
        kept. invalid_grant -> AuthRevoked; a refused client (401) -> ProviderError."""
        try:
            response = http.request(
                "POST",
                self.config["TOKEN_URL"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "client_id": self.config["CLIENT_ID"],
                    "client_secret": self.config["CLIENT_SECRET"],
                    "scope": "offline",
                },
            )
        except AuthExpired as exc:
            raise ProviderError("WHOOP refused our client credentials (HTTP 401)") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200:
            if isinstance(data, dict) and "error" in data:
                raise self._oauth_error(data)
            raise ProviderError(f"WHOOP token endpoint answered HTTP {response.status_code}")
        if data is None:
            raise MalformedPayload("WHOOP token endpoint: the answer is not JSON")
        # Without a new refresh token the token service keeps the one it has.
        return self.parse_token_response(data)

    def revoke(
        self, http: ProviderHTTP, access_token: str, refresh_token: str, provider_user_id: str = ""
    ) -> bool:
        """DELETE /v2/user/access (also stops webhooks for this user). With an expired
        access token, refresh once and revoke with the new one; a dead refresh token means
        there is nothing left to revoke (True)."""
        try:
            response = http.request("DELETE", self.config["REVOKE_URL"], token=access_token)
        except AuthExpired:
            if not refresh_token:
                return False
            try:
                fresh = self.refresh(http, refresh_token)
            except AuthRevoked:
                return True
            response = http.request("DELETE", self.config["REVOKE_URL"], token=fresh.access_token)
        return response.status_code in (200, 204)

    def profile_user_id(self, http: ProviderHTTP, access_token: str) -> str:
        """The WHOOP user id (what webhooks name), from the basic profile."""
        response = http.request("GET", self.url(PROFILE_PATH), token=access_token)
        self._check_status(response, "profile")
        data = http.json(response)
        if not isinstance(data, dict):
            raise _fail("profile", "the answer is not an object")
        return str(_field(data, "user_id", "int", "profile"))

    # --- data --------------------------------------------------------------------------
    @staticmethod
    def _check_status(response, what: str) -> None:
        status = response.status_code
        if status == 200:
            return
        if status == 403:
            raise ProviderError(f"WHOOP refused access to {what} (HTTP 403): scope not granted")
        raise ProviderError(f"WHOOP {what}: unexpected HTTP {status}")

    def fetch(
        self, http: ProviderHTTP, access_token: str, data_type: str, start: datetime, end: datetime
    ) -> Iterator[dict]:
        """Raw pages of `data_type` for [start, end): the window is split into chunks of
        the data type's chunk_days, each read page by page (25 records, `nextToken`)."""
        kind = self.data_type(data_type)
        if data_type == "body":
            yield from self._fetch_body(http, access_token, end)
            return
        url = self.url(COLLECTIONS[data_type])
        for window_start, window_end in _windows(start, end, kind.chunk_days):
            seen: set[str] = set()
            next_token = ""
            while True:
                params = {
                    "start": _iso(window_start),
                    "end": _iso(window_end),
                    "limit": PAGE_LIMIT,
                }
                if next_token:
                    params["nextToken"] = next_token
                response = http.request("GET", url, token=access_token, params=params)
                self._check_status(response, data_type)
                page = http.json(response)
                _records(page, data_type)
                yield page
                next_token = page.get("next_token") or ""
                if not next_token:
                    break
                if next_token in seen:
                    raise _fail(data_type, "pagination repeats itself")
                seen.add(next_token)

    def _fetch_body(self, http: ProviderHTTP, access_token: str, end: datetime) -> Iterator[dict]:
        # Today's values say nothing about a window that ended days ago.
        if end < datetime.now(UTC) - timedelta(days=BODY_STALE_DAYS):
            return
        response = http.request("GET", self.url(BODY_PATH), token=access_token)
        as_of = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if response.status_code == 404:  # nothing entered yet
            yield {"as_of": _iso(as_of), "measurement": None}
            return
        self._check_status(response, "body")
        yield {"as_of": _iso(as_of), "measurement": http.json(response)}

    def normalize(self, data_type: str, page: dict) -> Normalized:
        """Pure: one page -> records; MalformedPayload (nothing kept) if anything in it is
        not as documented."""
        handler = {
            "cycle": self._cycle,
            "recovery": self._recovery,
            "sleep": self._sleep,
            "workout": self._workout,
        }.get(data_type)
        if data_type == "body":
            return self._body(page)
        if handler is None:
            raise KeyError(f"whoop has no data type {data_type!r}")
        out = Normalized()
        for index, record in enumerate(_records(page, data_type)):
            handler(record, f"{data_type} record {index}", out)
        return out

    @staticmethod
    def _common(record: dict, where: str) -> None:
        _field(record, "user_id", "int", where)
        _time(record, "created_at", where)
        _time(record, "updated_at", where)

    def _cycle(self, record: dict, where: str, out: Normalized) -> None:
        _field(record, "id", "int", where)
        self._common(record, where)
        start, end = _interval(record, where, end_required=False)
        offset = _offset(record, where)
        score = _score(record, where)
        if score is None:
            return
        strain = _field(score, "strain", "number", where)
        kilojoule = _field(score, "kilojoule", "number", where)
        average = _field(score, "average_heart_rate", "number", where)
        _field(score, "max_heart_rate", "number", where)
        if end is None:  # the current cycle: still growing
            return
        out.samples += [
            SampleIn("strain", start, end, float(strain), "{score}", STRAP, offset),
            SampleIn("active_energy", start, end, float(kilojoule), "kJ", STRAP, offset),
            SampleIn("heart_rate", start, end, float(average), "/min", STRAP, offset),
        ]

    def _recovery(self, record: dict, where: str, out: Normalized) -> None:
        _field(record, "cycle_id", "int", where)
        _uuid(record, "sleep_id", where)
        self._common(record, where)
        at = _time(record, "created_at", where)
        score = _score(record, where)
        if score is None:
            return
        _field(score, "user_calibrating", "bool", where)
        values = [
            ("recovery_score", _field(score, "recovery_score", "number", where), "%"),
            ("resting_heart_rate", _field(score, "resting_heart_rate", "number", where), "/min"),
            ("hrv_rmssd", _field(score, "hrv_rmssd_milli", "number", where), "ms"),
            # WHOOP 4.0 and later only.
            (
                "oxygen_saturation",
                _field(score, "spo2_percentage", "number", where, required=False),
                "%",
            ),
            (
                "skin_temperature",
                _field(score, "skin_temp_celsius", "number", where, required=False),
                "Cel",
            ),
        ]
        out.samples += [
            SampleIn(metric, at, at, float(value), unit, STRAP, None)
            for metric, value, unit in values
            if value is not None
        ]

    def _sleep(self, record: dict, where: str, out: Normalized) -> None:
        external_id = _uuid(record, "id", where)
        _field(record, "cycle_id", "int", where)
        _field(record, "v1_id", "int", where, required=False)
        self._common(record, where)
        start, end = _interval(record, where)
        offset = _offset(record, where)
        nap = _field(record, "nap", "bool", where)
        score = _score(record, where)
        performance = None
        if score is not None:
            summary = _field(score, "stage_summary", "dict", where)
            _field(score, "sleep_needed", "dict", where)
            ms = {
                key: _field(summary, key, "int", where)
                for key in (
                    "total_in_bed_time_milli",
                    "total_awake_time_milli",
                    "total_no_data_time_milli",
                    "total_light_sleep_time_milli",
                    "total_slow_wave_sleep_time_milli",
                    "total_rem_sleep_time_milli",
                )
            }
            if any(value < 0 for value in ms.values()):
                raise _fail(where, "a stage total is negative")
            light = ms["total_light_sleep_time_milli"]
            deep = ms["total_slow_wave_sleep_time_milli"]
            rem = ms["total_rem_sleep_time_milli"]
            minutes = [
                ("sleep_asleep", light + deep + rem),
                ("sleep_deep", deep),
                ("sleep_rem", rem),
                ("sleep_light", light),
                ("sleep_awake", ms["total_awake_time_milli"]),
            ]
            out.samples += [
                SampleIn(metric, start, end, float(value), "ms", STRAP, offset)
                for metric, value in minutes
            ]
            efficiency = _field(
                score, "sleep_efficiency_percentage", "number", where, required=False
            )
            if efficiency is not None:
                out.samples.append(
                    SampleIn("sleep_efficiency", start, end, float(efficiency), "%", STRAP, offset)
                )
            rate = _field(score, "respiratory_rate", "number", where, required=False)
            if rate is not None:
                out.samples.append(
                    SampleIn("respiratory_rate", start, end, float(rate), "/min", STRAP, offset)
                )
            performance = _field(
                score, "sleep_performance_percentage", "number", where, required=False
            )
            _field(score, "sleep_consistency_percentage", "number", where, required=False)
        out.sleep.append(
            SleepSessionIn(
                source=STRAP,
                start=start,
                end=end,
                utc_offset=offset,
                external_id=external_id,
                # A nap's "performance" is not a night's sleep score.
                score=None if nap or performance is None else float(performance),
                nap=nap,
            )
        )

    def _workout(self, record: dict, where: str, out: Normalized) -> None:
        external_id = _uuid(record, "id", where)
        _field(record, "v1_id", "int", where, required=False)
        _field(record, "sport_id", "int", where, required=False)
        self._common(record, where)
        start, end = _interval(record, where)
        offset = _offset(record, where)
        sport = _field(record, "sport_name", "str", where)
        activity = SPORTS.get(re.sub(r"[\s_/]+", "-", sport.strip().lower()), _A.OTHER)
        score = _score(record, where)
        numbers: dict = {}
        if score is not None:
            _field(score, "strain", "number", where)
            _field(score, "percent_recorded", "number", where)
            _field(score, "zone_durations", "dict", where)
            kilojoule = _field(score, "kilojoule", "number", where)
            distance = _field(score, "distance_meter", "number", where, required=False)
            gain = _field(score, "altitude_gain_meter", "number", where, required=False)
            _field(score, "altitude_change_meter", "number", where, required=False)
            numbers = {
                "energy_kcal": convert(float(kilojoule), "kJ", "kcal"),
                "heart_rate_avg": float(_field(score, "average_heart_rate", "number", where)),
                "heart_rate_max": float(_field(score, "max_heart_rate", "number", where)),
                "distance_m": None if distance is None else float(distance),
                "elevation_gain_m": None if gain is None else float(gain),
            }
        out.workouts.append(
            WorkoutIn(
                source=STRAP,
                activity_type=str(activity),
                start=start,
                end=end,
                utc_offset=offset,
                external_id=external_id,
                **numbers,
            )
        )

    def _body(self, page) -> Normalized:
        if not isinstance(page, dict):
            raise _fail("body", "the page is not an object")
        at = _time(page, "as_of", "body")
        measurement = page.get("measurement")
        out = Normalized()
        if measurement is None:
            return out
        if not isinstance(measurement, dict):
            raise _fail("body", "the measurement is not an object")
        height = _field(measurement, "height_meter", "number", "body")
        weight = _field(measurement, "weight_kilogram", "number", "body")
        _field(measurement, "max_heart_rate", "number", "body")
        out.samples += [
            SampleIn("height", at, at, float(height), "m", APP, None),
            SampleIn("body_mass", at, at, float(weight), "kg", APP, None),
        ]
        return out

    # --- webhooks ------------------------------------------------------------------------
    def webhook_handshake(self, request: HttpRequest) -> HttpResponse | None:
        """WHOOP has no verification handshake (the URL is set in its dashboard). A GET or
        HEAD probe gets an empty 200 and touches nothing; POSTs go to verify_webhook."""
        if request.method in ("GET", "HEAD"):
            return HttpResponse(status=200)
        return None

    def verify_webhook(self, request: HttpRequest) -> list[WebhookEvent]:
        """Check X-WHOOP-Signature (constant time) and a timestamp within 5 minutes, then
        parse. Any doubt -> WebhookRejected (401 for authenticity, 400 for a signed body
        we cannot read). An unknown but signed event type is acknowledged with no event."""
        secret = self.config.get("CLIENT_SECRET") or ""
        if not secret:
            raise WebhookRejected("WHOOP is not configured", status=404)
        signature = request.headers.get("X-WHOOP-Signature", "")
        stamp = request.headers.get("X-WHOOP-Signature-Timestamp", "")
        if not signature or not stamp:
            raise WebhookRejected("missing signature headers")
        if not stamp.isdigit():
            raise WebhookRejected("the signature timestamp is not epoch milliseconds")
        expected = sign_webhook(secret, stamp, request.body)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise WebhookRejected("bad signature")
        age_ms = abs(time.time() * 1000 - int(stamp))
        if age_ms > WEBHOOK_TOLERANCE.total_seconds() * 1000:
            raise WebhookRejected("stale timestamp")
        try:
            body = json.loads(request.body)
        except ValueError:
            raise WebhookRejected("the body is not JSON", status=400) from None
        if not isinstance(body, dict):
            raise WebhookRejected("the body is not an object", status=400)
        user_id = body.get("user_id")
        kind = body.get("type")
        trace_id = body.get("trace_id")
        object_id = body.get("id")
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise WebhookRejected("'user_id' is not an integer", status=400)
        if not isinstance(trace_id, str) or not trace_id or len(trace_id) > 200:
            raise WebhookRejected("'trace_id' is missing", status=400)
        if not isinstance(kind, str):
            raise WebhookRejected("'type' is missing", status=400)
        data_types = WEBHOOK_TYPES.get(kind)
        if data_types is None:
            return []
        # Sleep and workout ids are UUIDs; a recovery is named by its cycle id (an
        # integer) or, in v2 (UNCERTAIN), by its sleep's UUID: accept either.
        if isinstance(object_id, int) and not isinstance(object_id, bool):
            if not kind.startswith("recovery."):
                raise WebhookRejected("'id' is not a UUID", status=400)
            object_id = str(object_id)
        else:
            try:
                object_id = str(uuid.UUID(str(object_id)))
            except ValueError:
                raise WebhookRejected("'id' is not a UUID", status=400) from None
        return [
            WebhookEvent(
                provider_user_id=str(user_id),
                data_types=data_types,
                delivery_id=trace_id,
                object_id=object_id,
                deleted=kind.endswith(".deleted"),
            )
        ]

    # No subscription API: the one webhook URL is set in WHOOP's developer dashboard.
    def subscribe(self, http: ProviderHTTP, access_token: str, callback_url: str) -> list[dict]:
        return []

    def renew_subscriptions(self, http: ProviderHTTP, subscriptions: list[dict]) -> list[dict]:
        return []

    def unsubscribe(
        self, http: ProviderHTTP, access_token: str, callback_url: str, subscriptions: list[dict]
    ) -> None:
        return None
