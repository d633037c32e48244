from rest_framework import serializers

from metrics.catalog import BY_KEY


class DataSourceBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    kind = serializers.CharField()
    origin = serializers.CharField()
    device_model = serializers.CharField()


class PriorityOrderSerializer(serializers.Serializer):
    category = serializers.CharField()
    metric = serializers.CharField(allow_null=True)
    custom = serializers.BooleanField(help_text="False while the default order applies.")
    order = DataSourceBriefSerializer(many=True, help_text="Most trusted first.")


class PriorityOrderInputSerializer(serializers.Serializer):
    data_sources = serializers.ListField(
        child=serializers.IntegerField(),
        allow_empty=False,
        help_text="Your data source ids, most trusted first.",
    )
    metric = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="A metric key of this category: order that metric only (an override).",
    )


class RecomputeRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    metrics = serializers.SerializerMethodField()

    def get_metrics(self, run) -> list[str]:
        from metrics.catalog import BY_ID

        return [BY_ID[i].key for i in run.metrics]


class ResolvedQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=sorted(BY_KEY))
    start = serializers.DateField()
    end = serializers.DateField()
    provenance = serializers.BooleanField(required=False, default=False)
    resolution = serializers.ChoiceField(
        choices=["day", "week", "month"], required=False, default="day"
    )

    def validate(self, attrs):
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError("end is before start.")
        if (attrs["end"] - attrs["start"]).days > 3660:
            raise serializers.ValidationError("At most ten years per request.")
        return attrs


class ResolvedDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    value = serializers.FloatField()
    provenance = serializers.DictField(required=False)


class ResolvedDailySerializer(serializers.Serializer):
    metric = serializers.CharField()
    unit = serializers.CharField()
    sources = serializers.DictField(
        child=serializers.CharField(), help_text="Labels of the source ids in provenance."
    )
    days = ResolvedDaySerializer(many=True)


class ResolvedSeriesSerializer(serializers.Serializer):
    metric = serializers.CharField()
    unit = serializers.CharField()
    resolution = serializers.CharField()
    points = serializers.ListField(child=serializers.ListField())


class EventRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    data_source = serializers.IntegerField(source="data_source_id")
    source_label = serializers.CharField(source="data_source.label")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class DuplicatesSerializer(serializers.Serializer):
    best = EventRecordSerializer(help_text="The record that stands for the event.")
    duplicates = EventRecordSerializer(many=True, help_text="The event's other records.")
