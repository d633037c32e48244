"""Query parameters and responses of the data API. Metrics are catalog keys, never ids;
times carry the UTC offset they were recorded in."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from metrics.catalog import METRICS, Aggregation, Category
from metrics.models import ActivityType, DataSource, SleepSession, SleepStage, Workout
from metrics.selectors import (
    AGGREGATIONS,
    MAX_SUMMARY_DAYS,
    RESOLUTIONS,
    ROLLUP_RESOLUTIONS,
    iso_local,
)

METRIC_KEYS = [m.key for m in METRICS]

# "+01:00" arrives as " 01:00" when a client forgets to percent-encode the "+".
_UNENCODED_PLUS = re.compile(r"(T[\d:.,]+) (\d\d(:?\d\d)?)$")


def _parse_iso(value: str) -> date | datetime:
    if not isinstance(value, str) or not value:
        raise ValueError
    value = _UNENCODED_PLUS.sub(r"\1+\2", value.strip())
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value)


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """An ISO 8601 datetime with a UTC offset or Z; naive ones are refused."""

    default_error_messages = {
        "invalid": "Expected an ISO 8601 datetime, e.g. 2026-03-02T09:00:00+01:00.",
        "naive": "The datetime needs a UTC offset or Z, e.g. 2026-03-02T09:00:00+01:00.",
    }

    def to_internal_value(self, data) -> datetime:
        try:
            value = _parse_iso(data)
        except ValueError:
            self.fail("invalid")
        if not isinstance(value, datetime):
            self.fail("invalid")
        if value.utcoffset() is None:
            self.fail("naive")
        return value

    def to_representation(self, value):
        return value.isoformat()


@extend_schema_field(
    {
        "type": "string",
        "description": "A date (YYYY-MM-DD) or an ISO 8601 datetime with a UTC offset.",
        "example": "2026-03-02",
    }
)
class DateOrDateTimeField(AwareDateTimeField):
    default_error_messages = {
        "invalid": "Expected a date (YYYY-MM-DD) or an ISO 8601 datetime with a UTC offset.",
        "naive": AwareDateTimeField.default_error_messages["naive"],
    }

    def to_internal_value(self, data) -> date | datetime:
        try:
            value = _parse_iso(data)
        except ValueError:
            self.fail("invalid")
        if isinstance(value, datetime) and value.utcoffset() is None:
            self.fail("naive")
        return value


def _check_order(attrs: dict) -> None:
    start, end = attrs.get("start"), attrs.get("end")
    if start is not None and end is not None and end < start:
        raise serializers.ValidationError({"end": ["end is before start."]})


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


# --- query parameters -------------------------------------------------------------------


class SampleQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=METRIC_KEYS, help_text="A metric key.")
    data_source = serializers.IntegerField(
        required=False, min_value=1, help_text="One of your data source ids."
    )
    start = AwareDateTimeField(required=False, help_text="Samples starting at or after this.")
    end = AwareDateTimeField(required=False, help_text="Samples starting before this.")

    def validate(self, attrs):
        _check_order(attrs)
        return attrs


class SeriesQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=METRIC_KEYS, help_text="A metric key.")
    resolution = serializers.ChoiceField(
        choices=RESOLUTIONS,
        default="day",
        help_text=(
            "raw: every sample; hour: local hours, from the samples; day, week (ISO, from "
            "Monday) and month: from the daily rollups."
        ),
    )
    aggregation = serializers.ChoiceField(
        choices=AGGREGATIONS,
        required=False,
        help_text=(
            "How values combine within a bucket (ignored for raw). Default: sum for "
            "cumulative metrics, avg for discrete ones, last for scores."
        ),
    )
    data_source = serializers.IntegerField(
        required=False, min_value=1, help_text="One of your data source ids."
    )
    start = DateOrDateTimeField(
        required=False,
        help_text=(
            "raw/hour: samples starting at or after this datetime (a date: its midnight in "
            "your home time zone). day/week/month: from this date (a datetime: its date), "
            "widened to the whole week or month."
        ),
    )
    end = DateOrDateTimeField(
        required=False,
        help_text=(
            "raw/hour: samples starting before this datetime (a date: up to the end of that "
            "day in your home time zone). day/week/month: up to this date, inclusive (a "
            "datetime: its date), widened to the whole week or month."
        ),
    )

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        if attrs["resolution"] in ROLLUP_RESOLUTIONS:
            attrs["start"] = _as_date(start) if start is not None else None
            attrs["end"] = _as_date(end) if end is not None else None
        else:
            # Dates are whole days in the user's home time zone, the end one included.
            home = ZoneInfo(self.context.get("timezone") or "UTC")
            if start is not None and not isinstance(start, datetime):
                attrs["start"] = datetime.combine(start, time(), home)
            if end is not None and not isinstance(end, datetime):
                attrs["end"] = datetime.combine(end + timedelta(days=1), time(), home)
        _check_order(attrs)
        return attrs


class SleepSessionQuerySerializer(serializers.Serializer):
    data_source = serializers.IntegerField(
        required=False, min_value=1, help_text="One of your data source ids."
    )
    start = AwareDateTimeField(required=False, help_text="Starting at or after this.")
    end = AwareDateTimeField(required=False, help_text="Starting before this.")

    def validate(self, attrs):
        _check_order(attrs)
        return attrs


class WorkoutQuerySerializer(SleepSessionQuerySerializer):
    activity_type = serializers.ChoiceField(choices=ActivityType.choices, required=False)


class DailySummaryQuerySerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First day (YYYY-MM-DD), inclusive.")
    end = serializers.DateField(
        help_text=f"Last day (YYYY-MM-DD), inclusive; at most {MAX_SUMMARY_DAYS} days in all."
    )
    metric = serializers.ChoiceField(
        choices=METRIC_KEYS, required=False, help_text="Only this metric."
    )

    def validate(self, attrs):
        _check_order(attrs)
        if (attrs["end"] - attrs["start"]).days >= MAX_SUMMARY_DAYS:
            raise serializers.ValidationError(
                {"end": [f"The range is limited to {MAX_SUMMARY_DAYS} days."]}
            )
        return attrs


# --- responses --------------------------------------------------------------------------


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=[c.value for c in Category])
    unit = serializers.CharField(help_text="Canonical UCUM unit of every value.")
    aggregation = serializers.ChoiceField(choices=[a.value for a in Aggregation])
    loinc = serializers.CharField(allow_null=True)
    min_value = serializers.FloatField()
    max_value = serializers.FloatField()


class DataSourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataSource
        fields = ["id", "kind", "origin", "device_model", "created_at"]
        read_only_fields = fields


class SampleSerializer(serializers.Serializer):
    """Documents a sample; the view builds these dicts directly (up to 10,000 a page)."""

    data_source = serializers.IntegerField()
    metric = serializers.CharField(help_text="Metric key.")
    start = serializers.DateTimeField(help_text="In the offset where it was recorded.")
    end = serializers.DateTimeField(help_text="In the offset where it was recorded.")
    value = serializers.FloatField()
    unit = serializers.CharField()


def sample_item(row: dict, metric_key: str, unit: str) -> dict:
    offset = row["utc_offset"]
    return {
        "data_source": row["data_source_id"],
        "metric": metric_key,
        "start": iso_local(row["start"], offset),
        "end": iso_local(row["end"], offset),
        "value": row["value"],
        "unit": unit,
    }


@extend_schema_field(
    {
        "type": "array",
        "description": (
            "[time, value] pairs in time order: an ISO datetime with offset (raw, hour) or a "
            "date (day; the Monday of a week; the first of a month)."
        ),
        "items": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        },
        "example": [["2026-03-02T09:00:00+01:00", 72.0]],
    }
)
class PointsField(serializers.ListField):
    pass


class SourceSeriesSerializer(serializers.Serializer):
    data_source = serializers.IntegerField()
    points = PointsField()


class SeriesSerializer(serializers.Serializer):
    metric = serializers.CharField()
    unit = serializers.CharField()
    resolution = serializers.ChoiceField(choices=RESOLUTIONS)
    aggregation = serializers.ChoiceField(
        choices=AGGREGATIONS, allow_null=True, help_text="null for raw."
    )
    series = SourceSeriesSerializer(many=True, help_text="One per data source with values.")


class _LocalTime(serializers.Field):
    """A model's datetime attribute rendered in its row's utc_offset."""

    def __init__(self, attribute: str, **kwargs):
        self.attribute = attribute
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, obj):
        return iso_local(getattr(obj, self.attribute), obj.utc_offset)


@extend_schema_field(OpenApiTypes.DATETIME)
class LocalStartField(_LocalTime):
    def __init__(self, **kwargs):
        super().__init__("start", **kwargs)


@extend_schema_field(OpenApiTypes.DATETIME)
class LocalEndField(_LocalTime):
    def __init__(self, **kwargs):
        super().__init__("end", **kwargs)


class SleepStageSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=SleepStage.choices)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SleepSessionSerializer(serializers.ModelSerializer):
    data_source = serializers.IntegerField(source="data_source_id")
    start = LocalStartField()
    end = LocalEndField()

    class Meta:
        model = SleepSession
        fields = [
            "id",
            "data_source",
            "start",
            "end",
            "asleep_minutes",
            "in_bed_minutes",
            "score",
            "external_id",
        ]
        read_only_fields = fields


class SleepSessionDetailSerializer(SleepSessionSerializer):
    stages = serializers.SerializerMethodField()

    class Meta(SleepSessionSerializer.Meta):
        fields = [*SleepSessionSerializer.Meta.fields, "stages"]
        read_only_fields = fields

    @extend_schema_field(SleepStageSerializer(many=True))
    def get_stages(self, session: SleepSession) -> list[dict]:
        return [
            {
                "stage": stage.stage,
                "start": iso_local(stage.start, session.utc_offset),
                "end": iso_local(stage.end, session.utc_offset),
            }
            for stage in session.stages.all()
        ]


class WorkoutSerializer(serializers.ModelSerializer):
    data_source = serializers.IntegerField(source="data_source_id")
    start = LocalStartField()
    end = LocalEndField()

    class Meta:
        model = Workout
        fields = [
            "id",
            "data_source",
            "activity_type",
            "start",
            "end",
            "duration_seconds",
            "distance_m",
            "energy_kcal",
            "heart_rate_avg",
            "heart_rate_max",
            "elevation_gain_m",
            "external_id",
        ]
        read_only_fields = fields


@extend_schema_field(
    {
        "type": "array",
        "nullable": True,
        "description": "[[ISO time, latitude, longitude, elevation in m or null], ...]",
        "items": {"type": "array", "items": {}},
    }
)
class RouteField(serializers.JSONField):
    pass


class WorkoutDetailSerializer(WorkoutSerializer):
    route = RouteField(read_only=True)

    class Meta(WorkoutSerializer.Meta):
        fields = [*WorkoutSerializer.Meta.fields, "route"]
        read_only_fields = fields


class SummaryValueSerializer(serializers.Serializer):
    data_source = serializers.IntegerField()
    value = serializers.FloatField(
        help_text="Sum (cumulative metrics), average (discrete) or last value (scores)."
    )
    count = serializers.IntegerField(help_text="Samples behind the value.")


class DailySummarySerializer(serializers.Serializer):
    day = serializers.DateField()
    metrics = serializers.DictField(
        child=SummaryValueSerializer(many=True),
        help_text="Metric key -> one entry per data source.",
    )
