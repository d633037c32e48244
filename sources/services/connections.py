"""Creating a connection after OAuth, and ending one.

Tokens only ever pass through Connection's encrypting properties; nothing here logs or
raises with a token, a secret or a health value in the message.
"""

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from sources import providers
from sources.models import Connection, SyncCursor
from sources.providers.base import TokenSet

log = structlog.get_logger(__name__)


class AccountLinkedElsewhere(Exception):
    """The provider account is already connected to another HealthHub user."""


def connection_save_from_oauth(
    *, user, provider_slug: str, token: TokenSet, provider_user_id: str
) -> Connection:
    """Create or update `user`'s connection to `provider_slug` from a fresh token
    response: tokens encrypted, granted scopes, expiry, status active, due for a sync
    now. Reconnecting a *different* account of the same provider starts its history
    afresh (its cursors are dropped). Raises AccountLinkedElsewhere if another user has
    this provider account. Then hands the connection to the sync engine
    (sources.services.sync.connection_connected: subscriptions and backfill)."""
    provider_user_id = str(provider_user_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            taken = (
                Connection.objects.select_for_update()
                .filter(provider=provider_slug, provider_user_id=provider_user_id)
                .exclude(user=user)
                .exists()
            )
            if taken:
                raise AccountLinkedElsewhere(provider_slug)
            connection = (
                Connection.objects.select_for_update()
                .filter(user=user, provider=provider_slug)
                .first()
            )
            if connection is None:
                connection = Connection(user=user, provider=provider_slug)
            elif connection.provider_user_id != provider_user_id:
                SyncCursor.objects.filter(connection=connection).delete()
            connection.provider_user_id = provider_user_id
            connection.access_token = token.access_token
            connection.refresh_token = token.refresh_token
            connection.token_expires_at = token.expires_at
            connection.scopes = " ".join(token.scopes)
            connection.token_refreshed_at = now
            connection.status = Connection.Status.ACTIVE
            connection.last_error = ""
            connection.last_error_at = None
            connection.consecutive_failures = 0
            connection.parked_until = None
            connection.next_sync_at = now
            connection.save()
    except IntegrityError as exc:
        # Two users connecting the same account at the same moment: the unique
        # (provider, provider_user_id) constraint decides.
        raise AccountLinkedElsewhere(provider_slug) from exc
    _connected(connection)
    return connection


def _connected(connection: Connection) -> None:
    """The sync engine's hook, if this build has it (it schedules on commit)."""
    try:
        from sources.services import sync
    except ModuleNotFoundError as exc:
        if exc.name != "sources.services.sync":
            raise
        return
    hook = getattr(sync, "connection_connected", None)
    if hook is not None:
        hook(connection)


def _webhook_callback_url(provider) -> str:
    try:
        from sources.services.sync import webhook_callback_url
    except ImportError:
        return f"{settings.SITE_URL.rstrip('/')}/webhooks/{provider.slug}/"
    return webhook_callback_url(provider)


def connection_disconnect(*, connection: Connection, delete_data: bool) -> None:
    """End a connection: remove its webhook subscriptions and revoke our access at the
    provider where it can (both best effort: a failure is logged without secrets and
    does not stop the disconnect), then delete the connection with its tokens, runs,
    cursors and raw payloads. With `delete_data`, also delete everything this provider
    brought in for this user (metrics.services.sources.data_sources_delete), and the
    resolved days are recomputed; otherwise the data and its sources stay (and stay
    rankable)."""
    from metrics.models import DataSource
    from metrics.services.sources import data_sources_delete

    provider = providers.REGISTRY.get(connection.provider)
    if provider is not None and provider.configured:
        _provider_cleanup(provider, connection)
    user = connection.user
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).delete()
        if delete_data:
            ids = list(
                DataSource.objects.filter(user=user, kind=connection.provider).values_list(
                    "id", flat=True
                )
            )
            data_sources_delete(user=user, data_source_ids=ids)
    log.info(
        "connection_disconnected",
        provider=connection.provider,
        connection=connection.pk,
        data_deleted=delete_data,
    )


def _provider_cleanup(provider, connection: Connection) -> None:
    from sources.services.tokens import access_token_for

    http = provider.http()
    try:
        access_token = access_token_for(connection, http=http)
    except Exception as exc:  # best effort: an expired or refused token still disconnects
        log.warning(
            "disconnect_token_unavailable", provider=provider.slug, error=type(exc).__name__
        )
        access_token = connection.access_token
    steps = []
    if connection.subscriptions:
        steps.append(
            (
                "unsubscribe",
                lambda: provider.unsubscribe(
                    http, access_token, _webhook_callback_url(provider), connection.subscriptions
                ),
            )
        )
    steps.append(
        (
            "revoke",
            lambda: provider.revoke(
                http,
                access_token,
                connection.refresh_token,
                provider_user_id=connection.provider_user_id,
            ),
        )
    )
    for step, call in steps:
        try:
            call()
        except Exception as exc:  # best effort, see the docstring
            log.warning(
                "disconnect_step_failed",
                provider=provider.slug,
                connection=connection.pk,
                step=step,
                error=type(exc).__name__,
            )
