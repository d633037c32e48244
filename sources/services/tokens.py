"""Valid access tokens for a connection, refreshing them safely.

Providers rotate refresh tokens and most make the old one unusable at once, so two
workers refreshing the same connection would lock its owner out. Every refresh therefore
runs under a row lock on the Connection (SELECT ... FOR UPDATE), re-reads the row after
the lock, refreshes at most once, and commits the new pair before anyone uses it:
`transaction.atomic(durable=True)` makes sure of that (it refuses to run inside a caller's
transaction, whose rollback could otherwise lose a pair the provider already rotated).
A refused refresh (invalid_grant, consent withdrawn) marks the connection "needs
reconnect" with a plain message; the engine syncs active connections only, and these
functions make no provider call for a connection that is not active.
"""

from datetime import timedelta

import structlog
from django.db import transaction
from django.utils import timezone

from sources import providers
from sources.errors import AuthRevoked
from sources.http import ProviderHTTP
from sources.models import Connection

log = structlog.get_logger(__name__)

# Refresh when the access token expires within this margin.
REFRESH_MARGIN = timedelta(minutes=5)

_TOKEN_FIELDS = ("access_token_encrypted", "refresh_token_encrypted", "token_expires_at", "scopes")


def reconnect_message(provider_name: str) -> str:
    return (
        f"{provider_name} no longer accepts HealthHub's access. "
        f"Reconnect {provider_name} to resume syncing."
    )


def _expiring(connection: Connection) -> bool:
    expires_at = connection.token_expires_at
    return expires_at is not None and expires_at - timezone.now() <= REFRESH_MARGIN


def _provider_name(slug: str) -> str:
    provider = providers.REGISTRY.get(slug)
    return provider.name if provider else slug.title()


def _refused(connection: Connection) -> AuthRevoked:
    return AuthRevoked(
        connection.last_error or reconnect_message(_provider_name(connection.provider))
    )


def access_token_for(connection: Connection, *, http: ProviderHTTP) -> str:
    """A valid access token for `connection`, refreshed first when it expires within
    REFRESH_MARGIN (serialized per connection; the new pair is committed before it is
    returned). Raises AuthRevoked if the connection needs reconnecting (no provider call
    then), TransientError/RateLimited from the provider as they come. Updates the token
    fields of the given instance. Must not be called inside a transaction."""
    if connection.status != Connection.Status.ACTIVE:
        raise _refused(connection)
    if not _expiring(connection):
        return connection.access_token
    return _refresh_locked(connection, http=http, needed=_expiring)


def token_refresh(connection: Connection, *, http: ProviderHTTP, rejected: str = "") -> str:
    """After a 401: refresh, unless another worker already replaced the rejected access
    token (then its new token is returned without a provider call). With no `rejected`
    token, refreshes unconditionally. Same locking, errors and contract as
    access_token_for."""
    return _refresh_locked(
        connection,
        http=http,
        needed=lambda locked: not rejected or locked.access_token == rejected,
    )


def _refresh_locked(connection: Connection, *, http: ProviderHTTP, needed) -> str:
    revoked = False
    with transaction.atomic(durable=True):
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        if locked.status != Connection.Status.ACTIVE:
            _copy(locked, connection, status=True)
            raise _refused(locked)
        if needed(locked):
            provider = providers.get(locked.provider)
            try:
                tokens = provider.refresh(http, locked.refresh_token)
            except AuthRevoked:
                # Saved (and committed) below; the exception leaves after the commit.
                revoked = True
                locked.status = Connection.Status.NEEDS_RECONNECT
                locked.last_error = reconnect_message(provider.name)
                locked.last_error_at = timezone.now()
                locked.save(update_fields=["status", "last_error", "last_error_at", "updated_at"])
            else:
                locked.access_token = tokens.access_token
                # Providers that do not rotate may omit the refresh token: keep ours.
                if tokens.refresh_token:
                    locked.refresh_token = tokens.refresh_token
                locked.token_expires_at = tokens.expires_at
                if tokens.scopes:
                    locked.scopes = " ".join(tokens.scopes)
                locked.token_refreshed_at = timezone.now()
                locked.save(update_fields=[*_TOKEN_FIELDS, "token_refreshed_at", "updated_at"])
    _copy(locked, connection, status=revoked)
    if revoked:
        log.warning("token_refresh_revoked", provider=locked.provider, connection=locked.pk)
        raise _refused(locked)
    return locked.access_token


def _copy(source: Connection, target: Connection, *, status: bool = False) -> None:
    fields = [*_TOKEN_FIELDS, "token_refreshed_at"]
    if status:
        fields += ["status", "last_error", "last_error_at"]
    for name in fields:
        setattr(target, name, getattr(source, name))
