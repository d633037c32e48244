"""What can go wrong talking to a provider, as the sync engine needs to tell it apart.

Provider modules and the HTTP seam raise these; the engine decides: refresh and retry once
(AuthExpired), mark the connection "needs reconnect" (AuthRevoked), park it until the given
time (RateLimited), retry later with backoff (Transient), or fail the run without writing
anything (Malformed, ProviderError).
"""

from datetime import datetime


class ProviderError(Exception):
    """A provider answered something we cannot use (a 4xx we did not expect, say)."""


class TransientError(ProviderError):
    """5xx, timeouts, connection errors: worth retrying with backoff."""


class AuthExpired(ProviderError):
    """The access token was refused (401 or Withings' status 401): refresh, retry once."""


class AuthRevoked(ProviderError):
    """The refresh token is dead (invalid_grant) or consent was withdrawn: reconnect."""


class RateLimited(ProviderError):
    """The provider says to come back later."""

    def __init__(self, retry_at: datetime, message: str = "rate limited"):
        super().__init__(message)
        self.retry_at = retry_at


class MalformedPayload(ProviderError):
    """A response that is not what the provider documents: nothing of it is written."""


class WebhookRejected(Exception):
    """A webhook that fails verification; `status` is what to answer (no side effects)."""

    def __init__(self, reason: str, status: int = 401):
        super().__init__(reason)
        self.status = status
