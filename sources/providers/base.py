"""What every provider module declares and implements.

A provider module (sources/providers/<slug>.py) defines one `Provider` subclass and is
listed in sources/providers/__init__.py. It holds:
- capabilities: its data types (each with the catalog metrics it delivers and how far
  back it may reach), whether it pushes webhooks, its OAuth scopes and quirks;
- OAuth token calls (exchange is done by its allauth adapter; refresh and revoke here),
  always through the HTTP seam (sources.http.ProviderHTTP);
- `fetch`: HTTP only, yields raw pages (parsed JSON) for one data type and time window;
- `normalize`: a pure function from one raw page to the ingestion service's records
  (metrics.schemas), raising MalformedPayload for anything that is not what the provider
  documents; tested against recorded payloads in tests/sources/fixtures/<slug>/;
- webhook verification (signature, timestamp, challenge) and subscription management.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from metrics.schemas import SampleIn, SleepSessionIn, WorkoutIn
from sources.http import ProviderHTTP


@dataclass(frozen=True)
class TokenSet:
    """A token response, normalised. `scopes` is what the provider actually granted."""

    access_token: str
    refresh_token: str
    expires_at: datetime | None
    scopes: tuple[str, ...] = ()
    provider_user_id: str = ""


@dataclass(frozen=True)
class DataType:
    """One kind of data a provider serves (one endpoint, usually)."""

    name: str  # stable id used in cursors, runs and webhooks ("sleep", "heartrate", ...)
    metrics: tuple[str, ...]  # catalog keys it can deliver (sleep sessions: "sleep_*")
    max_history_days: int = 730  # how far back the provider serves it
    chunk_days: int = 30  # window of one backfill step (the provider's range limit)
    lookback_days: int = 2  # incremental syncs re-read this much for late revisions
    events: bool = False  # delivers sleep sessions / workouts rather than only samples


@dataclass
class Normalized:
    samples: list[SampleIn] = field(default_factory=list)
    sleep: list[SleepSessionIn] = field(default_factory=list)
    workouts: list[WorkoutIn] = field(default_factory=list)

    def extend(self, other: "Normalized") -> None:
        self.samples.extend(other.samples)
        self.sleep.extend(other.sleep)
        self.workouts.extend(other.workouts)

    def __len__(self) -> int:
        return len(self.samples) + len(self.sleep) + len(self.workouts)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified notification: whose data changed, which types, which window."""

    provider_user_id: str
    data_types: tuple[str, ...]
    delivery_id: str  # dedupe key (a provider id, or a hash of the signed body)
    start: datetime | None = None
    end: datetime | None = None
    object_id: str = ""
    deleted: bool = False


class Provider:
    slug: str = ""
    name: str = ""
    data_types: tuple[DataType, ...] = ()
    webhooks: bool = False
    scopes: tuple[str, ...] = ()
    scope_delimiter: str = " "
    pkce: bool = False
    # Rate-limit reset header and whether it is an epoch (else seconds from now).
    reset_header: str = ""
    reset_is_epoch: bool = False

    # --- configuration -------------------------------------------------------------
    @property
    def config(self) -> dict:
        return settings.HEALTHHUB_PROVIDERS.get(self.slug, {})

    @property
    def configured(self) -> bool:
        return bool(self.config.get("CLIENT_ID") and self.config.get("CLIENT_SECRET"))

    def url(self, path: str) -> str:
        return self.config["API_BASE"].rstrip("/") + path

    def http(self) -> ProviderHTTP:
        return ProviderHTTP(reset_header=self.reset_header, reset_is_epoch=self.reset_is_epoch)

    def data_type(self, name: str) -> DataType:
        for item in self.data_types:
            if item.name == name:
                return item
        raise KeyError(f"{self.slug} has no data type {name!r}")

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(key for item in self.data_types for key in item.metrics)

    @property
    def max_history_days(self) -> int:
        return max((item.max_history_days for item in self.data_types), default=0)

    # --- OAuth -----------------------------------------------------------------------
    def parse_token_response(self, data: dict) -> TokenSet:
        """A token endpoint's parsed JSON -> TokenSet (raise AuthRevoked/ProviderError)."""
        raise NotImplementedError

    def refresh(self, http: ProviderHTTP, refresh_token: str) -> TokenSet:
        """Exchange a refresh token for a new pair (AuthRevoked on invalid_grant)."""
        raise NotImplementedError

    def revoke(
        self, http: ProviderHTTP, access_token: str, refresh_token: str, provider_user_id: str = ""
    ) -> bool:
        """Revoke our access at the provider where it can; False if it cannot."""
        return False

    # --- data --------------------------------------------------------------------------
    def fetch(
        self, http: ProviderHTTP, access_token: str, data_type: str, start: datetime, end: datetime
    ) -> Iterator[dict]:
        """Raw pages of `data_type` for [start, end), following pagination."""
        raise NotImplementedError

    def normalize(self, data_type: str, page: dict) -> Normalized:
        """Pure: one raw page -> records. MalformedPayload if it is not as documented."""
        raise NotImplementedError

    # --- webhooks --------------------------------------------------------------------
    def webhook_handshake(self, request: HttpRequest) -> HttpResponse | None:
        """Answer a provider's verification request (GET challenge, HEAD probe), or None."""
        return None

    def verify_webhook(self, request: HttpRequest) -> list[WebhookEvent]:
        """Verify signature and timestamp; parse. Raise WebhookRejected on any doubt."""
        raise NotImplementedError

    def subscribe(self, http: ProviderHTTP, access_token: str, callback_url: str) -> list[dict]:
        """Create this user's (or the app's) subscriptions; return what to remember."""
        return []

    def renew_subscriptions(self, http: ProviderHTTP, subscriptions: list[dict]) -> list[dict]:
        return subscriptions

    def unsubscribe(
        self, http: ProviderHTTP, access_token: str, callback_url: str, subscriptions: list[dict]
    ) -> None:
        return None
