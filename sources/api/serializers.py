"""Connections and sync runs over the API. Output only: built from selectors, never from
the token columns."""

from rest_framework import serializers

from sources import selectors


class DataTypeProgressSerializer(serializers.Serializer):
    name = serializers.CharField()
    covered = serializers.FloatField(help_text="Share of its history window synced, 0..1.")
    complete = serializers.BooleanField()


class BackfillSerializer(serializers.Serializer):
    overall = serializers.FloatField(
        source="backfill_overall", help_text="Share of the whole history synced, 0..1."
    )
    data_types = DataTypeProgressSerializer(source="backfill", many=True)


class ConnectionSerializer(serializers.Serializer):
    """One connection's state (from selectors.ConnectionState)."""

    id = serializers.IntegerField(source="connection.id")
    provider = serializers.CharField(source="connection.provider")
    provider_name = serializers.CharField(source="name")
    status = serializers.ChoiceField(
        source="connection.status",
        choices=["active", "needs_reconnect", "disconnected"],
    )
    syncing = serializers.BooleanField(help_text="A sync is running now.")
    sync_queued = serializers.BooleanField(source="queued", help_text="A sync waits to start.")
    last_sync_at = serializers.DateTimeField(source="connection.last_sync_at", allow_null=True)
    last_success_at = serializers.DateTimeField(
        source="connection.last_success_at", allow_null=True
    )
    next_sync_at = serializers.DateTimeField(allow_null=True)
    parked_until = serializers.DateTimeField(
        allow_null=True, help_text="Rate limited by the provider until then."
    )
    last_error = serializers.CharField(help_text="In plain words; empty when all is well.")
    backfill = BackfillSerializer(source="*")
    data_types = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField(source="connection.created_at")


class SyncRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    connection = serializers.IntegerField(source="connection_id")
    trigger = serializers.CharField()
    status = serializers.CharField()
    data_types = serializers.ListField(
        child=serializers.CharField(), help_text="Targeted data types; empty means all."
    )
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.SerializerMethodField()
    counts = serializers.DictField(
        help_text="Per data type: pages, samples, sleep, workouts, rejected."
    )
    requests = serializers.IntegerField()
    progress = serializers.FloatField()
    error = serializers.SerializerMethodField()

    def get_duration_seconds(self, run) -> float | None:
        duration = selectors.run_duration(run)
        return round(duration.total_seconds(), 1) if duration is not None else None

    def get_error(self, run) -> str:
        return selectors.error_in_plain_words(
            run.error, name=selectors.provider_name(run.connection.provider)
        )


class SyncRequestSerializer(serializers.Serializer):
    data_types = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="Only these data types (see the connection's data_types); default all.",
    )


class SyncAcceptedSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    connection = serializers.IntegerField()
    status = serializers.CharField()
