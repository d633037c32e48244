"""Admin pages for connections and their sync health.

No token ever reaches these pages: the encrypted columns are excluded from every form,
list and detail view, and raw payloads (health data) are listed by their metadata only."""

from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from sources import selectors
from sources.models import Connection, RawPayload, SyncRun, WebhookDelivery

TOKEN_FIELDS = ("access_token_encrypted", "refresh_token_encrypted")
# What an admin may change on a connection; everything else on its page is read-only.
CONNECTION_EDITABLE = ("status", "backfill_days", "next_sync_at", "parked_until")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the sync engine: viewable (and deletable), never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "provider",
        "status",
        "syncing",
        "last_sync_at",
        "next_sync_at",
        "parked_until",
        "consecutive_failures",
        "short_error",
    ]
    list_filter = ["provider", "status"]
    list_select_related = ["user"]
    search_fields = ["user__email", "provider_user_id"]
    raw_id_fields = ["user"]
    exclude = TOKEN_FIELDS
    # What an admin may change: whether it is active and how the schedule treats it.
    fields = [
        "user",
        "provider",
        "provider_user_id",
        "status",
        "backfill_days",
        "next_sync_at",
        "parked_until",
        "scopes",
        "token_expires_at",
        "token_refreshed_at",
        "sync_claimed_at",
        "sync_claim",
        "last_sync_at",
        "last_success_at",
        "consecutive_failures",
        "last_error",
        "last_error_at",
        "subscriptions",
        "runs_link",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if name not in CONNECTION_EDITABLE]
    actions = ["queue_sync"]

    def has_add_permission(self, request):
        # Connections come from the OAuth connect flow, which brings the tokens.
        return False

    @admin.display(description="sync runs")
    def runs_link(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:sources_syncrun_changelist") + f"?connection__exact={obj.pk}"
        return format_html('<a href="{}">{} runs</a>', url, obj.runs.count())

    @admin.display(boolean=True, description="syncing")
    def syncing(self, obj):
        return obj.is_syncing

    @admin.display(description="last error")
    def short_error(self, obj):
        return selectors.error_in_plain_words(obj.last_error, name=obj.provider)[:80]

    @admin.action(description="Sync the selected connections now")
    def queue_sync(self, request, queryset):
        from sources.services.sync import sync_request

        started = refused = 0
        for connection in queryset:
            if selectors.sync_refusal(connection=connection) is None and sync_request(
                connection=connection, trigger="manual"
            ):
                started += 1
            else:
                refused += 1
        self.message_user(request, f"{started} sync(s) queued, {refused} refused.", messages.INFO)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "connection",
        "user",
        "trigger",
        "status",
        "created_at",
        "started_at",
        "finished_at",
        "requests",
        "progress",
    ]
    list_filter = ["status", "trigger", "connection__provider"]
    list_select_related = ["connection", "user"]
    search_fields = ["user__email"]
    raw_id_fields = ["connection", "user"]
    date_hierarchy = "created_at"


@admin.register(RawPayload)
class RawPayloadAdmin(ReadOnlyAdmin):
    """Metadata only: the payload itself is health data and stays out of the admin."""

    list_display = ["id", "connection", "data_type", "fetched_at", "window_start", "window_end"]
    list_filter = ["data_type", "connection__provider"]
    list_select_related = ["connection"]
    raw_id_fields = ["connection", "run"]
    fields = ["connection", "run", "data_type", "fetched_at", "window_start", "window_end"]
    readonly_fields = fields
    exclude = ["payload"]
    date_hierarchy = "fetched_at"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("payload")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "provider", "delivery_id", "received_at"]
    list_filter = ["provider"]
    search_fields = ["delivery_id"]
    date_hierarchy = "received_at"


# allauth's social-account tables stay empty here (connections keep their own encrypted
# tokens, and provider apps come from the environment), so their admin pages would only
# invite someone to put secrets into plain columns.
for _model in (SocialApp, SocialAccount, SocialToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
