"""Oura API v2 (https://cloud.ouraring.com/v2/docs).

Quirks this module handles (facts and sources in ../shared/reference/providers.md §2):
- OAuth: authorize at cloud.ouraring.com, token at api.ouraring.com, client id and secret in
  the form body, no PKCE in Oura's documentation. Refresh tokens are single-use and rotate:
  `refresh` returns the new pair, which must be saved before the access token is used.
  Apps registered on the new developer portal reportedly refresh only at
  https://moi.ouraring.com/oauth/v2/ext/oauth-token: set OURA_TOKEN_URL to it (UNCERTAIN).
  The token response carries no user id: `fetch_user_id` reads it from personal_info (any
  token may read the id); webhooks name users by that id.
- Scopes are space-separated; users may untick some at consent, so `data_types_for_scopes`
  says which data types a granted scope set allows. `spo2Daily` is the spelling in Oura's
  OpenAPI file (its auth page says `spo2`); `stress` and `heart_health` are what the developer
  portal offers for daily stress and VO2 max: all three UNCERTAIN.
- Data: `GET /v2/usercollection/<path>` with `start_date`/`end_date` (local dates), except
  heart rate, which takes `start_datetime`/`end_datetime` and is fetched in windows of at most
  30 days. Pages are `{data: [...], next_token}`; we follow next_token. Date windows are
  padded by a day on both sides because Oura's dates are the user's local dates and its
  end_date semantics are undocumented; writes are idempotent upserts, so overlap is free.
  VO2 max lives at the path `vO2_max` (webhooks call it `vo2_max`).
- Days: daily activity covers 24 h from 04:00 local; daily readiness, SpO2, stress and VO2 max
  are calendar days; a daily sleep score belongs to the sleep day that ends at 18:00 local on
  its `day` (Oura's own day change for naps), so it counts on the day one wakes up. Records
  that carry a local timestamp give their UTC offset; daily SpO2 and stress carry only a date,
  so their day is pinned to UTC (offset 0) to land on that date whatever the home zone.
- Sleep periods of type `rest` (rejected false detections) and `deleted` are skipped. Stages
  come from `sleep_phase_5_min` (1 deep, 2 light, 3 REM, 4 awake), one character per 5 minutes
  from bedtime_start. `average_hrv` is RMSSD. `lowest_heart_rate` is the night's resting heart
  rate. `average_heart_rate` and the period's own 5-minute series are not stored: the
  heartrate data type already carries those rows (source "sleep").
- Errors: 401 -> AuthExpired (the HTTP seam); 403 (scope not granted or membership expired),
  426 (the user's Oura app is too old for that data type) and other 4xx -> ProviderError in
  plain words naming the data type; 429 -> RateLimited until max(Retry-After,
  X-RateLimit-Reset), the latter an epoch.
- Webhooks are app-level subscriptions per (data_type, event_type), managed with the
  x-client-id/x-client-secret headers; they expire and must be renewed. Oura verifies a new
  subscription with a GET `?verification_token=&challenge=` (answered by
  `webhook_handshake`). Events are signed: x-oura-signature is the upper-case hex
  HMAC-SHA256, keyed with the client secret, of x-oura-timestamp + the raw body. The format of
  x-oura-timestamp is undocumented (UNCERTAIN): epoch seconds, epoch milliseconds and ISO 8601
  are all accepted. Because subscriptions belong to the app, one user's disconnect removes
  nothing (`unsubscribe`); `delete_subscriptions` tears down the app's subscriptions.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone as django_timezone

from metrics.models import ActivityType, SleepStage
from metrics.schemas import SampleIn, SleepSessionIn, SourceRef, StageIn, WorkoutIn
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

RING = SourceRef(kind="oura", origin="Oura Ring")
APP = SourceRef(kind="oura", origin="Oura app")  # workouts the user entered by hand

# Our data type name -> REST collection path (only VO2 max differs).
PATHS = {
    "daily_activity": "daily_activity",
    "sleep": "sleep",
    "daily_sleep": "daily_sleep",
    "daily_readiness": "daily_readiness",
    "heartrate": "heartrate",
    "workout": "workout",
    "daily_spo2": "daily_spo2",
    "daily_stress": "daily_stress",
    "vo2_max": "vO2_max",
}
# What each data type is called in words (error messages shown to the user).
LABELS = {
    "daily_activity": "daily activity",
    "sleep": "sleep periods",
    "daily_sleep": "daily sleep scores",
    "daily_readiness": "daily readiness",
    "heartrate": "heart rate",
    "workout": "workouts",
    "daily_spo2": "daily blood oxygen (SpO2)",
    "daily_stress": "daily stress",
    "vo2_max": "VO2 max",
}
# The OAuth scope each data type needs.
SCOPE_FOR = {
    "daily_activity": "daily",
    "sleep": "daily",
    "daily_sleep": "daily",
    "daily_readiness": "daily",
    "heartrate": "heartrate",
    "workout": "workout",
    "daily_spo2": "spo2Daily",
    "daily_stress": "stress",
    "vo2_max": "heart_health",
}
# Webhook data_type -> our data type (heart rate has no webhook).
WEBHOOK_DATA_TYPES = {name: name for name in PATHS if name != "heartrate"}
WEBHOOK_EVENT_TYPES = ("create", "update", "delete")
HEART_RATE_MAX_DAYS = 30
WEBHOOK_TOLERANCE = timedelta(minutes=5)
# A webhook names one record, not its day; sync this much around the event's time.
WEBHOOK_WINDOW_BEFORE = timedelta(days=7)
WEBHOOK_WINDOW_AFTER = timedelta(days=1)
# Renew subscriptions that expire within this long.
RENEW_BEFORE = timedelta(days=7)

STAGES = {"1": SleepStage.DEEP, "2": SleepStage.LIGHT, "3": SleepStage.REM, "4": SleepStage.AWAKE}
EPOCH = timedelta(minutes=5)
SLEEP_TYPES = {"long_sleep", "sleep", "late_nap", "rest", "deleted"}
NOT_REAL_SLEEP = {"rest", "deleted"}
HEART_RATE_SOURCES = {"awake", "workout", "rest", "sleep", "live", "session"}
WORKOUT_SOURCES = {"manual", "autodetected", "confirmed", "workout_heart_rate"}
WORKOUT_INTENSITIES = {"easy", "moderate", "hard"}
STRESS_SUMMARIES = {"restored", "normal", "stressful"}

# Oura's activity strings (lower case, free-form) -> our ActivityType; the rest -> other.
ACTIVITIES = {
    "walking": ActivityType.WALKING,
    "running": ActivityType.RUNNING,
    "trail_running": ActivityType.RUNNING,
    "treadmill_running": ActivityType.RUNNING,
    "cycling": ActivityType.CYCLING,
    "mountain_biking": ActivityType.CYCLING,
    "indoor_cycling": ActivityType.INDOOR_CYCLING,
    "spinning": ActivityType.INDOOR_CYCLING,
    "swimming": ActivityType.SWIMMING,
    "hiking": ActivityType.HIKING,
    "rowing": ActivityType.ROWING,
    "elliptical": ActivityType.ELLIPTICAL,
    "strength_training": ActivityType.STRENGTH_TRAINING,
    "weightlifting": ActivityType.STRENGTH_TRAINING,
    "hiit": ActivityType.HIIT,
    "circuit_training": ActivityType.HIIT,
    "yoga": ActivityType.YOGA,
    "pilates": ActivityType.PILATES,
    "dancing": ActivityType.DANCE,
    "dance": ActivityType.DANCE,
    "rock_climbing": ActivityType.ROCK_CLIMBING,
    "climbing": ActivityType.ROCK_CLIMBING,
    "bouldering": ActivityType.ROCK_CLIMBING,
    "skiing": ActivityType.SKIING,
    "cross_country_skiing": ActivityType.SKIING,
    "downhill_skiing": ActivityType.SKIING,
    "snowboarding": ActivityType.SNOWBOARDING,
    "tennis": ActivityType.TENNIS,
    "soccer": ActivityType.SOCCER,
    "football": ActivityType.SOCCER,
    "basketball": ActivityType.BASKETBALL,
    "golf": ActivityType.GOLF,
    "martial_arts": ActivityType.MARTIAL_ARTS,
    "boxing": ActivityType.MARTIAL_ARTS,
    "meditation": ActivityType.MEDITATION,
    "stair_climbing": ActivityType.STAIRS,
    "stairs": ActivityType.STAIRS,
}


@register
class Oura(Provider):
    slug = "oura"
    name = "Oura"
    data_types = (
        DataType(
            "daily_activity",
            ("steps", "active_energy", "basal_energy", "distance_walking_running"),
            max_history_days=3650,
            chunk_days=90,
            lookback_days=2,
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
                "hrv_rmssd",
                "resting_heart_rate",
                "respiratory_rate",
            ),
            max_history_days=3650,
            chunk_days=30,
            lookback_days=3,  # arrives only when the user opens the app
            events=True,
        ),
        DataType(
            "daily_sleep", ("sleep_score",), max_history_days=3650, chunk_days=90, lookback_days=3
        ),
        DataType(
            "daily_readiness",
            ("readiness_score", "skin_temperature_deviation"),
            max_history_days=3650,
            chunk_days=90,
            lookback_days=3,
        ),
        DataType(
            "heartrate",
            ("heart_rate",),
            max_history_days=3650,
            chunk_days=HEART_RATE_MAX_DAYS,
            lookback_days=1,
        ),
        DataType("workout", (), max_history_days=3650, chunk_days=90, lookback_days=3, events=True),
        DataType(
            "daily_spo2",
            ("oxygen_saturation",),
            max_history_days=3650,
            chunk_days=90,
            lookback_days=3,
        ),
        DataType(
            "daily_stress",
            ("stress_high_time", "recovery_high_time"),
            max_history_days=3650,
            chunk_days=90,
            lookback_days=2,
        ),
        DataType("vo2_max", ("vo2_max",), max_history_days=3650, chunk_days=90, lookback_days=3),
    )
    webhooks = True
    scopes = ("daily", "heartrate", "workout", "spo2Daily", "stress", "heart_health")
    scope_delimiter = " "
    pkce = False  # not in Oura's documentation
    reset_header = "X-RateLimit-Reset"
    reset_is_epoch = True

    # --- OAuth -----------------------------------------------------------------------
    def parse_token_response(self, data: dict) -> TokenSet:
        """Oura's token JSON -> TokenSet. `invalid_grant` -> AuthRevoked; any other error
        or a response without tokens -> ProviderError. Oura sends no user id here."""
        if not isinstance(data, dict):
            raise ProviderError("Oura's token endpoint answered something that is not JSON")
        error = data.get("error")
        if error:
            code = str(error)[:40]
            if code in ("invalid_grant", "access_denied", "unauthorized_client"):
                raise AuthRevoked(f"Oura refused the authorization ({code}): reconnect Oura")
            hint = (
                " (apps from Oura's new developer portal need OURA_TOKEN_URL set to"
                " https://moi.ouraring.com/oauth/v2/ext/oauth-token)"
                if code == "invalid_request"
                else ""
            )
            raise ProviderError(f"Oura's token endpoint answered {code}{hint}")
        access, refresh = data.get("access_token"), data.get("refresh_token", "")
        if not isinstance(access, str) or not access:
            raise ProviderError("Oura's token response has no access token")
        if not isinstance(refresh, str):
            raise ProviderError("Oura's token response has a malformed refresh token")
        expires_in = data.get("expires_in")
        expires_at = None
        if expires_in is not None:
            if not _is_number(expires_in) or expires_in <= 0:
                raise ProviderError("Oura's token response has a malformed expiry")
            expires_at = django_timezone.now() + timedelta(seconds=float(expires_in))
        scope = data.get("scope") or ""
        if not isinstance(scope, str):
            raise ProviderError("Oura's token response has malformed scopes")
        user_id = data.get("user_id") or ""
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            expires_at=expires_at,
            scopes=tuple(scope.split()),
            provider_user_id=str(user_id),
        )

    def refresh(self, http: ProviderHTTP, refresh_token: str) -> TokenSet:
        """Trade the (single-use) refresh token for a new pair; save it before using it.
        AuthRevoked when Oura refuses the refresh token."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.config["CLIENT_ID"],
            "client_secret": self.config["CLIENT_SECRET"],
        }
        try:
            response = http.request("POST", self.config["TOKEN_URL"], data=form)
        except AuthExpired as exc:
            raise AuthRevoked("Oura refused the refresh token (HTTP 401): reconnect Oura") from exc
        data = _json_or_none(response)
        if response.status_code != 200:
            if isinstance(data, dict) and data.get("error"):
                return self.parse_token_response(data)  # raises
            raise ProviderError(f"Oura's token endpoint answered HTTP {response.status_code}")
        # Without a new refresh token the token service keeps the one it has.
        return self.parse_token_response(data)

    def revoke(
        self, http: ProviderHTTP, access_token: str, refresh_token: str, provider_user_id: str = ""
    ) -> bool:
        """POST the revoke URL with the access token; True if Oura confirmed."""
        url = self.config.get("REVOKE_URL")
        if not url or not access_token:
            return False
        try:
            response = http.request("POST", url, params={"access_token": access_token})
        except AuthExpired:
            return False  # already expired or revoked; nothing more we can do here
        return 200 <= response.status_code < 300

    def fetch_user_id(self, http: ProviderHTTP, access_token: str) -> str:
        """The Oura user id (what webhooks call user_id), from personal_info."""
        response = http.request(
            "GET", self.url("/v2/usercollection/personal_info"), token=access_token
        )
        data = self._checked(response, "your Oura account")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise MalformedPayload("Oura's personal_info has no user id")
        return data["id"]

    def data_types_for_scopes(self, scopes: tuple[str, ...] | list[str]) -> list[str]:
        """The data types a granted scope set allows (users may untick scopes)."""
        granted = set(scopes)
        aliases = {"spo2Daily": {"spo2Daily", "spo2"}}
        return [
            item.name
            for item in self.data_types
            if aliases.get(SCOPE_FOR[item.name], {SCOPE_FOR[item.name]}) & granted
        ]

    # --- data --------------------------------------------------------------------------
    def fetch(
        self, http: ProviderHTTP, access_token: str, data_type: str, start: datetime, end: datetime
    ) -> Iterator[dict]:
        """Raw pages of `data_type` for [start, end): the window split into chunks of the
        data type's range limit, each followed through next_token."""
        kind = self.data_type(data_type)
        url = self.url(f"/v2/usercollection/{PATHS[data_type]}")
        step = timedelta(days=kind.chunk_days)
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + step, end)
            params = _window_params(data_type, chunk_start, chunk_end)
            seen: set[str] = set()
            while True:
                response = http.request("GET", url, token=access_token, params=params)
                page = self._checked(response, LABELS[data_type])
                if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                    raise MalformedPayload(f"Oura's {LABELS[data_type]} page has no data list")
                yield page
                token = page.get("next_token")
                if token is None or token == "":
                    break
                if not isinstance(token, str) or token in seen:
                    raise MalformedPayload(
                        f"Oura's {LABELS[data_type]} pagination token is malformed or repeats"
                    )
                seen.add(token)
                params = {**_window_params(data_type, chunk_start, chunk_end), "next_token": token}
            chunk_start = chunk_end

    def fetch_document(
        self, http: ProviderHTTP, access_token: str, data_type: str, object_id: str
    ) -> dict:
        """One record by id (what a webhook names), as a one-record page for `normalize`."""
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,200}", object_id or ""):
            raise MalformedPayload("the Oura record id is malformed")
        url = self.url(f"/v2/usercollection/{PATHS[data_type]}/{object_id}")
        document = self._checked(http.request("GET", url, token=access_token), LABELS[data_type])
        if not isinstance(document, dict):
            raise MalformedPayload(f"Oura's {LABELS[data_type]} record is not an object")
        return {"data": [document], "next_token": None}

    def _checked(self, response, label: str, ok: tuple[int, ...] = (200,)):
        """The response's JSON, or the error Oura's status code means, in plain words."""
        status = response.status_code
        if status in ok:
            return ProviderHTTP.json(response)
        if status == 403:
            raise ProviderError(
                f"Oura refused access to {label} (HTTP 403): the permission was not granted "
                "when connecting, or the Oura membership has expired"
            )
        if status == 426:
            raise ProviderError(
                f"Oura cannot share {label} until the Oura app on the phone is updated (HTTP 426)"
            )
        if status == 404:
            raise ProviderError(f"Oura has no such {label} record (HTTP 404)")
        raise ProviderError(f"Oura rejected the request for {label} (HTTP {status})")

    def normalize(self, data_type: str, page: dict) -> Normalized:
        """Pure: one page -> records. MalformedPayload for anything Oura does not document
        (the whole page is rejected)."""
        handler = NORMALIZERS.get(data_type)
        if handler is None:
            raise KeyError(f"oura has no data type {data_type!r}")
        label = LABELS[data_type]
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise MalformedPayload(f"Oura's {label} page has no data list")
        token = page.get("next_token")
        if token is not None and not isinstance(token, str):
            raise MalformedPayload(f"Oura's {label} page has a malformed next_token")
        out = Normalized()
        for index, record in enumerate(page["data"]):
            if not isinstance(record, dict):
                raise MalformedPayload(f"Oura's {label} record {index} is not an object")
            try:
                handler(record, out)
            except MalformedPayload as exc:
                raise MalformedPayload(f"Oura's {label} record {index}: {exc}") from None
        return out

    # --- webhooks --------------------------------------------------------------------
    def webhook_handshake(self, request: HttpRequest) -> HttpResponse | None:
        """Oura's subscription check: GET ?verification_token=&challenge= is answered
        {"challenge": ...} only if the token is ours; anything else is not a handshake."""
        if request.method not in ("GET", "HEAD"):
            return None
        if "challenge" not in request.GET and "verification_token" not in request.GET:
            return None
        expected = self.config.get("WEBHOOK_VERIFICATION_TOKEN") or ""
        given = request.GET.get("verification_token", "")
        challenge = request.GET.get("challenge", "")
        if (
            not expected
            or not challenge
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            return HttpResponse("verification failed", status=401, content_type="text/plain")
        return JsonResponse({"challenge": challenge})

    def verify_webhook(self, request: HttpRequest) -> list[WebhookEvent]:
        """Check x-oura-signature (HMAC-SHA256 of x-oura-timestamp + raw body, keyed with the
        client secret) and the timestamp (at most 5 minutes off); parse the event.
        WebhookRejected on any doubt; [] for data types we do not sync."""
        secret = self.config.get("CLIENT_SECRET") or ""
        if not secret:
            raise WebhookRejected("Oura is not configured", status=503)
        signature = request.headers.get("x-oura-signature", "").strip()
        stamp = request.headers.get("x-oura-timestamp", "").strip()
        if not signature or not stamp:
            raise WebhookRejected("missing signature headers")
        when = _parse_webhook_time(stamp)
        if when is None:
            raise WebhookRejected("malformed timestamp")
        if abs(django_timezone.now() - when) > WEBHOOK_TOLERANCE:
            raise WebhookRejected("stale timestamp")
        body = request.body
        expected = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.upper().encode(), signature.upper().encode()):
            raise WebhookRejected("bad signature")
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookRejected("body is not JSON", status=400) from None
        if not isinstance(event, dict):
            raise WebhookRejected("body is not an object", status=400)
        fields = ("event_type", "data_type", "object_id", "event_time", "user_id")
        if not all(isinstance(event.get(key), str) and event[key] for key in fields):
            raise WebhookRejected("event fields missing", status=400)
        if event["event_type"] not in WEBHOOK_EVENT_TYPES:
            raise WebhookRejected("unknown event type", status=400)
        try:
            event_time = _aware(event["event_time"])
        except MalformedPayload:
            raise WebhookRejected("malformed event_time", status=400) from None
        data_type = WEBHOOK_DATA_TYPES.get(event["data_type"])
        if data_type is None:
            return []
        return [
            WebhookEvent(
                provider_user_id=event["user_id"],
                data_types=(data_type,),
                delivery_id=hashlib.sha256(stamp.encode() + b"." + body).hexdigest(),
                start=event_time - WEBHOOK_WINDOW_BEFORE,
                end=event_time + WEBHOOK_WINDOW_AFTER,
                object_id=event["object_id"],
                deleted=event["event_type"] == "delete",
            )
        ]

    def _app_headers(self) -> dict:
        return {
            "x-client-id": self.config["CLIENT_ID"],
            "x-client-secret": self.config["CLIENT_SECRET"],
        }

    def _subscription_url(self, suffix: str = "") -> str:
        return self.url("/v2/webhook/subscription" + suffix)

    def list_subscriptions(self, http: ProviderHTTP) -> list[dict]:
        """The app's subscriptions at Oura."""
        response = http.request("GET", self._subscription_url(), headers=self._app_headers())
        data = self._checked(response, "webhook subscriptions")
        if not isinstance(data, list) or not all(_is_subscription(item) for item in data):
            raise MalformedPayload("Oura's subscription list is malformed")
        return [_subscription(item) for item in data]

    def subscribe(self, http: ProviderHTTP, access_token: str, callback_url: str) -> list[dict]:
        """Make sure the app has one subscription per (data type, event type) for
        `callback_url` (they are app-wide: existing ones are kept, missing ones created;
        Oura then checks the callback with the verification GET). Returns them all."""
        existing = {
            (item["data_type"], item["event_type"]): item
            for item in self.list_subscriptions(http)
            if item["callback_url"] == callback_url
        }
        token = self.config.get("WEBHOOK_VERIFICATION_TOKEN") or ""
        if not token:
            raise ProviderError("OURA_WEBHOOK_VERIFICATION_TOKEN is not set")
        result = []
        for data_type in WEBHOOK_DATA_TYPES:
            for event_type in WEBHOOK_EVENT_TYPES:
                item = existing.get((data_type, event_type))
                if item is None:
                    item = self._create_subscription(
                        http, callback_url, token, data_type, event_type
                    )
                result.append(item)
        return result

    def _create_subscription(self, http, callback_url, token, data_type, event_type) -> dict:
        body = {
            "callback_url": callback_url,
            "verification_token": token,
            "event_type": event_type,
            "data_type": data_type,
        }
        response = http.request(
            "POST", self._subscription_url(), headers=self._app_headers(), json=body
        )
        data = self._checked(response, "webhook subscriptions", ok=(200, 201))
        if not _is_subscription(data):
            raise MalformedPayload("Oura's new subscription is malformed")
        return _subscription(data)

    def renew_subscriptions(self, http: ProviderHTTP, subscriptions: list[dict]) -> list[dict]:
        """Renew the subscriptions that expire within RENEW_BEFORE; recreate any that Oura
        no longer knows. Returns the updated list."""
        horizon = django_timezone.now() + RENEW_BEFORE
        token = self.config.get("WEBHOOK_VERIFICATION_TOKEN") or ""
        renewed = []
        for item in subscriptions:
            expires = _aware_or_none(item.get("expiration_time"))
            if expires is not None and expires > horizon:
                renewed.append(item)
                continue
            response = http.request(
                "PUT",
                self._subscription_url(f"/renew/{item['id']}"),
                headers=self._app_headers(),
            )
            if response.status_code == 404:
                renewed.append(
                    self._create_subscription(
                        http, item["callback_url"], token, item["data_type"], item["event_type"]
                    )
                )
                continue
            data = self._checked(response, "webhook subscriptions")
            if not _is_subscription(data):
                raise MalformedPayload("Oura's renewed subscription is malformed")
            renewed.append(_subscription(data))
        return renewed

    def unsubscribe(
        self, http: ProviderHTTP, access_token: str, callback_url: str, subscriptions: list[dict]
    ) -> None:
        """Nothing to do for one user: Oura's subscriptions belong to the app and serve every
        connected user; events for a disconnected user find no connection and are dropped.
        Use `delete_subscriptions` to remove the app's subscriptions."""
        return None

    def delete_subscriptions(self, http: ProviderHTTP, subscriptions: list[dict]) -> int:
        """Delete the app's subscriptions (all users stop receiving webhooks)."""
        deleted = 0
        for item in subscriptions:
            response = http.request(
                "DELETE", self._subscription_url(f"/{item['id']}"), headers=self._app_headers()
            )
            if response.status_code in (200, 204, 404):
                deleted += response.status_code != 404
                continue
            self._checked(response, "webhook subscriptions")
        return deleted


# --- helpers: request parameters -----------------------------------------------------------


def _window_params(data_type: str, start: datetime, end: datetime) -> dict:
    if data_type == "heartrate":
        return {
            "start_datetime": start.astimezone(UTC).isoformat(timespec="seconds"),
            "end_datetime": end.astimezone(UTC).isoformat(timespec="seconds"),
        }
    # Local dates, so a day either side covers every time zone (and end_date semantics).
    first = (start.astimezone(UTC) - timedelta(days=1)).date()
    last = (end.astimezone(UTC) + timedelta(days=1)).date()
    return {"start_date": first.isoformat(), "end_date": last.isoformat()}


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _parse_webhook_time(value: str) -> datetime | None:
    if re.fullmatch(r"\d{9,14}", value):
        number = int(value)
        seconds = number / 1000 if number > 10**11 else number
        return datetime.fromtimestamp(seconds, UTC)
    try:
        return _aware(value)
    except MalformedPayload:
        return None


def _is_subscription(item) -> bool:
    keys = ("id", "callback_url", "event_type", "data_type", "expiration_time")
    return isinstance(item, dict) and all(isinstance(item.get(key), str) for key in keys)


def _subscription(item: dict) -> dict:
    keys = ("id", "callback_url", "event_type", "data_type", "expiration_time")
    # "expires_at" is the key the sync engine's renewal check reads.
    return {**{key: item[key] for key in keys}, "expires_at": item["expiration_time"]}


# --- helpers: validation ----------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(record: dict, key: str, *, required: bool = False) -> float | None:
    if key not in record:
        if required:
            raise MalformedPayload(f"{key} is missing")
        return None
    value = record[key]
    if value is None:
        if required:
            raise MalformedPayload(f"{key} is null")
        return None
    if not _is_number(value):
        raise MalformedPayload(f"{key} is not a number")
    return value


def _string(record: dict, key: str, *, required: bool = True, choices=None) -> str | None:
    value = record.get(key)
    if value is None:
        if required:
            raise MalformedPayload(f"{key} is missing")
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{key} is not a string")
    if choices is not None and value not in choices:
        raise MalformedPayload(f"{key} has an undocumented value")
    return value


def _aware(value) -> datetime:
    if not isinstance(value, str):
        raise MalformedPayload("a timestamp is not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedPayload("a timestamp is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise MalformedPayload("a timestamp has no UTC offset")
    return parsed


def _aware_or_none(value) -> datetime | None:
    try:
        return _aware(value)
    except MalformedPayload:
        return None


def _timestamp(record: dict, key: str) -> datetime:
    if key not in record:
        raise MalformedPayload(f"{key} is missing")
    return _aware(record[key])


def _day(record: dict) -> date:
    value = record.get("day")
    if not isinstance(value, str):
        raise MalformedPayload("day is missing")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise MalformedPayload("day is not a date") from None


def _id(record: dict) -> str:
    value = record.get("id")
    if not isinstance(value, str) or not value:
        raise MalformedPayload("id is missing")
    return value


def _offset_minutes(moment: datetime) -> int:
    return int(moment.utcoffset().total_seconds() // 60)


def _local_midnight(day: date, zone: timezone) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _zone_of(record: dict) -> timezone:
    """The record's local UTC offset, from its `timestamp`."""
    stamp = _timestamp(record, "timestamp")
    return timezone(stamp.utcoffset())


def _check_sample(record: dict, key: str) -> None:
    """A PublicSample (interval, items with nulls allowed, timestamp), or null."""
    value = record.get(key)
    if value is None:
        return
    if not isinstance(value, dict):
        raise MalformedPayload(f"{key} is not a sample object")
    if not _is_number(value.get("interval")) or value["interval"] <= 0:
        raise MalformedPayload(f"{key}.interval is malformed")
    items = value.get("items")
    if not isinstance(items, list) or not all(i is None or _is_number(i) for i in items):
        raise MalformedPayload(f"{key}.items is malformed")
    _timestamp(value, "timestamp")


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _sample(metric, start, end, value, unit, offset, source=RING) -> SampleIn:
    return SampleIn(metric, _utc(start), _utc(end), float(value), unit, source, offset)


# --- normalizers: one per data type, each (record, out) ---------------------------------


def _daily_activity(record: dict, out: Normalized) -> None:
    _id(record)
    day = _day(record)
    zone = _zone_of(record)
    steps = _number(record, "steps", required=True)
    active = _number(record, "active_calories", required=True)
    total = _number(record, "total_calories", required=True)
    distance = _number(record, "equivalent_walking_distance", required=True)
    _check_sample(record, "met")
    # Oura's activity day: 24 hours from 04:00 local.
    start = datetime.combine(day, time(4), tzinfo=zone)
    end = start + timedelta(days=1)
    offset = _offset_minutes(start)
    out.samples.append(_sample("steps", start, end, steps, "{steps}", offset))
    out.samples.append(_sample("active_energy", start, end, active, "kcal", offset))
    if total >= active:
        out.samples.append(_sample("basal_energy", start, end, total - active, "kcal", offset))
    out.samples.append(_sample("distance_walking_running", start, end, distance, "m", offset))


def _stages(phases: str, start: datetime, end: datetime) -> tuple[StageIn, ...]:
    if not re.fullmatch(r"[1-4]*", phases):
        raise MalformedPayload("sleep_phase_5_min has undocumented characters")
    stages: list[StageIn] = []
    index = 0
    while index < len(phases):
        run_end = index
        while run_end < len(phases) and phases[run_end] == phases[index]:
            run_end += 1
        begin = start + EPOCH * index
        if begin >= end:
            break
        finish = min(start + EPOCH * run_end, end)
        stages.append(StageIn(STAGES[phases[index]], _utc(begin), _utc(finish)))
        index = run_end
    return tuple(stages)


def _sleep(record: dict, out: Normalized) -> None:
    external_id = _id(record)
    _day(record)
    kind = _string(record, "type", required=False, choices=SLEEP_TYPES)
    start = _timestamp(record, "bedtime_start")
    end = _timestamp(record, "bedtime_end")
    if end < start:
        raise MalformedPayload("bedtime_end is before bedtime_start")
    _number(record, "time_in_bed", required=True)
    for key in (
        "total_sleep_duration",
        "deep_sleep_duration",
        "light_sleep_duration",
        "rem_sleep_duration",
        "awake_time",
        "efficiency",
        "average_heart_rate",
    ):
        _number(record, key)
    latency = _number(record, "latency")
    hrv = _number(record, "average_hrv")
    lowest = _number(record, "lowest_heart_rate")
    breath = _number(record, "average_breath")
    phases = _string(record, "sleep_phase_5_min", required=False)
    _check_sample(record, "heart_rate")
    _check_sample(record, "hrv")
    if kind in NOT_REAL_SLEEP:
        return
    offset = _offset_minutes(start)
    stages = _stages(phases, start, end) if phases else ()
    out.sleep.append(
        SleepSessionIn(
            source=RING,
            start=_utc(start),
            end=_utc(end),
            stages=stages,
            utc_offset=offset,
            external_id=external_id,
            latency_minutes=latency / 60 if latency is not None else None,
        )
    )
    if hrv is not None:
        out.samples.append(_sample("hrv_rmssd", start, end, hrv, "ms", offset))
    if lowest is not None:
        out.samples.append(_sample("resting_heart_rate", start, end, lowest, "/min", offset))
    if breath is not None:
        out.samples.append(_sample("respiratory_rate", start, end, breath, "/min", offset))


def _daily_sleep(record: dict, out: Normalized) -> None:
    _id(record)
    day = _day(record)
    zone = _zone_of(record)
    if not isinstance(record.get("contributors"), dict):
        raise MalformedPayload("contributors is missing")
    score = _number(record, "score")
    if score is None:
        return  # not scored (yet)
    # Oura's sleep day ends at 18:00 local on `day`: the score counts on the wake-up day.
    end = datetime.combine(day, time(18), tzinfo=zone)
    start = end - timedelta(days=1)
    out.samples.append(_sample("sleep_score", start, end, score, "{score}", _offset_minutes(end)))


def _calendar_day(record: dict, zone: timezone | None) -> tuple[datetime, datetime, int]:
    day = _day(record)
    start = _local_midnight(day, zone or UTC)
    return start, start + timedelta(days=1), _offset_minutes(start)


def _daily_readiness(record: dict, out: Normalized) -> None:
    _id(record)
    start, end, offset = _calendar_day(record, _zone_of(record))
    if not isinstance(record.get("contributors"), dict):
        raise MalformedPayload("contributors is missing")
    score = _number(record, "score")
    deviation = _number(record, "temperature_deviation")
    _number(record, "temperature_trend_deviation")
    if score is not None:
        out.samples.append(_sample("readiness_score", start, end, score, "{score}", offset))
    if deviation is not None:
        out.samples.append(
            _sample("skin_temperature_deviation", start, end, deviation, "Cel", offset)
        )


def _heartrate(record: dict, out: Normalized) -> None:
    moment = _timestamp(record, "timestamp")
    bpm = _number(record, "bpm", required=True)
    _number(record, "timestamp_unix", required=True)
    _string(record, "source", choices=HEART_RATE_SOURCES)
    # UTC rows without a local offset: the user's home zone decides their day.
    out.samples.append(
        SampleIn("heart_rate", _utc(moment), _utc(moment), float(bpm), "/min", RING, None)
    )


def _workout(record: dict, out: Normalized) -> None:
    external_id = _id(record)
    _day(record)
    activity = _string(record, "activity")
    _string(record, "intensity", choices=WORKOUT_INTENSITIES)
    source = _string(record, "source", choices=WORKOUT_SOURCES)
    _string(record, "label", required=False)
    start = _timestamp(record, "start_datetime")
    end = _timestamp(record, "end_datetime")
    if end < start:
        raise MalformedPayload("end_datetime is before start_datetime")
    calories = _number(record, "calories")
    distance = _number(record, "distance")
    out.workouts.append(
        WorkoutIn(
            source=APP if source == "manual" else RING,
            activity_type=ACTIVITIES.get(activity.strip().lower(), ActivityType.OTHER),
            start=_utc(start),
            end=_utc(end),
            utc_offset=_offset_minutes(start),
            external_id=external_id,
            distance_m=float(distance) if distance is not None else None,
            energy_kcal=float(calories) if calories is not None else None,
        )
    )


def _daily_spo2(record: dict, out: Normalized) -> None:
    _id(record)
    # Only a date, no local timestamp: pinned to UTC so it lands on that date.
    start, end, offset = _calendar_day(record, None)
    _number(record, "breathing_disturbance_index")
    values = record.get("spo2_percentage")
    if values is None:
        return
    if not isinstance(values, dict):
        raise MalformedPayload("spo2_percentage is not an object")
    average = _number(values, "average", required=True)
    out.samples.append(_sample("oxygen_saturation", start, end, average, "%", offset))


def _daily_stress(record: dict, out: Normalized) -> None:
    _id(record)
    start, end, offset = _calendar_day(record, None)
    _string(record, "day_summary", required=False, choices=STRESS_SUMMARIES)
    stress = _number(record, "stress_high")
    recovery = _number(record, "recovery_high")
    if stress is not None:
        out.samples.append(_sample("stress_high_time", start, end, stress, "s", offset))
    if recovery is not None:
        out.samples.append(_sample("recovery_high_time", start, end, recovery, "s", offset))


def _vo2_max(record: dict, out: Normalized) -> None:
    _id(record)
    start, end, offset = _calendar_day(record, _zone_of(record))
    value = _number(record, "vo2_max", required=True)
    out.samples.append(_sample("vo2_max", start, end, value, "mL/(kg.min)", offset))


NORMALIZERS = {
    "daily_activity": _daily_activity,
    "sleep": _sleep,
    "daily_sleep": _daily_sleep,
    "daily_readiness": _daily_readiness,
    "heartrate": _heartrate,
    "workout": _workout,
    "daily_spo2": _daily_spo2,
    "daily_stress": _daily_stress,
    "vo2_max": _vo2_max,
}
