"""Provider connections, their sync state and their runs.

A Connection is one user's link to one provider account. Its tokens are stored encrypted
(core.crypto, MultiFernet keys independent of SECRET_KEY) and only ever decrypted in
memory by the token service; they never appear in admin pages, API output or logs.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core import crypto


class Connection(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
        DISCONNECTED = "disconnected", "Disconnected"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections"
    )
    provider = models.CharField(max_length=32)
    # The provider's own id of the account (Withings userid, WHOOP user_id, Oura id).
    provider_user_id = models.CharField(max_length=191)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)

    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=500, blank=True, help_text="Granted, space-separated.")
    token_refreshed_at = models.DateTimeField(null=True, blank=True)

    # Scheduling: the database decides what is due; one sync at a time per connection.
    next_sync_at = models.DateTimeField(default=timezone.now)
    parked_until = models.DateTimeField(
        null=True, blank=True, help_text="Rate limited by the provider until then."
    )
    sync_claimed_at = models.DateTimeField(null=True, blank=True)
    sync_claim = models.CharField(max_length=36, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, help_text="In plain words, for the user.")
    last_error_at = models.DateTimeField(null=True, blank=True)
    backfill_days = models.PositiveIntegerField(default=730)
    # Provider-side webhook subscriptions: [{"id", "data_type", "event_type", "expires_at"}].
    subscriptions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "provider"], name="connection_one_per_provider"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_user_id"], name="connection_provider_account"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_sync_at"], name="connection_due")]

    def __str__(self) -> str:
        return f"{self.provider} connection #{self.pk}"

    # Tokens: plaintext only in memory.
    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted) if self.access_token_encrypted else ""

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value) if value else ""

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted) if self.refresh_token_encrypted else ""

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value) if value else ""

    @property
    def is_syncing(self) -> bool:
        return bool(self.sync_claim)


class SyncCursor(models.Model):
    """How much of one data type is synced: [oldest_synced, newest_synced] is covered."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    data_type = models.CharField(max_length=40)
    oldest_synced = models.DateTimeField(null=True, blank=True)
    newest_synced = models.DateTimeField(null=True, blank=True)
    backfill_complete = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "data_type"], name="cursor_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.data_type} cursor of connection #{self.connection_id}"


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly done"
        RATE_LIMITED = "rate_limited", "Paused by the provider's rate limit"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Sync now"
        WEBHOOK = "webhook", "Provider notification"
        CONNECT = "connect", "New connection"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # A targeted run (webhook) names its data types and window; empty means all, as due.
    data_types = models.JSONField(default=list, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {data_type: {"pages": n, "samples": n, "sleep": n, "workouts": n, "rejected": n}}
    counts = models.JSONField(default=dict, blank=True)
    requests = models.PositiveIntegerField(default=0)
    # Backfill progress, 0..1 (share of the history window covered over all data types).
    progress = models.FloatField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="syncrun_recent")]

    def __str__(self) -> str:
        return f"sync run #{self.pk} ({self.status})"


class RawPayload(models.Model):
    """A provider response kept for SYNC_RAW_PAYLOAD_DAYS so normalization can be replayed."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="payloads")
    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True)
    data_type = models.CharField(max_length=40)
    fetched_at = models.DateTimeField(default=timezone.now)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["fetched_at"], name="rawpayload_age")]

    def __str__(self) -> str:
        return f"{self.data_type} payload of connection #{self.connection_id}"


class WebhookDelivery(models.Model):
    """Seen deliveries, so a replayed notification is acknowledged and ignored."""

    provider = models.CharField(max_length=32)
    delivery_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "delivery_id"], name="webhook_once")
        ]
        indexes = [models.Index(fields=["received_at"], name="webhook_age")]

    def __str__(self) -> str:
        return f"{self.provider} delivery {self.delivery_id}"
