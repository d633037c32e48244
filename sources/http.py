"""The one HTTP seam for provider calls.

Every request to a provider goes through `ProviderHTTP.request`: it adds the bearer token,
a timeout and our User-Agent, counts requests (SyncRun.requests), and turns transport
failures and the generic status codes into sources.errors (429 -> RateLimited with the time
to come back, 5xx/timeouts -> TransientError, 401 -> AuthExpired). Provider-specific error
shapes (Withings' errors inside HTTP 200) are the provider module's to check. Nothing here
logs or raises with a query string or a token in it.
"""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from sources.errors import AuthExpired, MalformedPayload, RateLimited, TransientError

USER_AGENT = "HealthHub/1.0 (self-hosted)"
DEFAULT_TIMEOUT = (5, 30)  # connect, read (seconds)
FALLBACK_WAIT = timedelta(seconds=60)


def safe_url(url: str) -> str:
    """The URL without its query string (which may carry tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def retry_at(
    response: requests.Response,
    *,
    now: datetime | None = None,
    reset_header: str = "",
    reset_is_epoch: bool = False,
) -> datetime:
    """When a rate-limited caller may come back: the latest of Retry-After (seconds or an
    HTTP date) and the provider's reset header (epoch seconds or seconds from now)."""
    now = now or datetime.now(UTC)
    candidates = []
    value = response.headers.get("Retry-After", "").strip()
    if value:
        if value.isdigit():
            candidates.append(now + timedelta(seconds=int(value)))
        else:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                candidates.append(when if when.tzinfo else when.replace(tzinfo=UTC))
    if reset_header:
        value = response.headers.get(reset_header, "").strip()
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None:
            if reset_is_epoch:
                candidates.append(datetime.fromtimestamp(number, UTC))
            else:
                candidates.append(now + timedelta(seconds=number))
    return max(candidates) if candidates else now + FALLBACK_WAIT


class ProviderHTTP:
    """A requests session for one provider, used for one sync run (or one OAuth call)."""

    def __init__(
        self,
        *,
        reset_header: str = "",
        reset_is_epoch: bool = False,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        self.session = session or requests.Session()
        self.reset_header = reset_header
        self.reset_is_epoch = reset_is_epoch
        self.timeout = timeout
        self.count = 0

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str = "",
        headers: dict | None = None,
        params: dict | None = None,
        data: dict | None = None,
        json: dict | None = None,
        auth=None,
    ) -> requests.Response:
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        where = f"{method} {safe_url(url)}"
        try:
            response = self.session.request(
                method,
                url,
                headers=sent,
                params=params,
                data=data,
                json=json,
                auth=auth,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise TransientError(f"{where}: the provider did not answer in time") from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"{where}: could not reach the provider") from exc
        finally:
            self.count += 1
        status = response.status_code
        if status == 429:
            raise RateLimited(
                retry_at(
                    response, reset_header=self.reset_header, reset_is_epoch=self.reset_is_epoch
                ),
                f"{where}: rate limited (HTTP 429)",
            )
        if status >= 500:
            raise TransientError(f"{where}: the provider had an error (HTTP {status})")
        if status == 401:
            raise AuthExpired(f"{where}: the access token was refused (HTTP 401)")
        return response

    @staticmethod
    def json(response: requests.Response):
        """The response's JSON, or MalformedPayload."""
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedPayload(
                f"{safe_url(response.url or '')}: the answer is not JSON "
                f"(HTTP {response.status_code})"
            ) from exc
