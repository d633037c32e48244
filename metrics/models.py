"""The unified store. Values are in the catalog's canonical units; times are UTC with the
UTC offset that was in force where the value was recorded (so days are local days)."""

import json
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import models

from metrics.catalog import BY_ID, Category
from metrics.schemas import RouteJSON

KIND_LABELS = {
    "apple_health": "Apple Health",
    "health_connect": "Health Connect",
    "google_health": "Google Health",
    "fitbit": "Fitbit",
    "oura": "Oura",
    "whoop": "WHOOP",
    "withings": "Withings",
    "strava": "Strava",
    "myfitnesspal": "MyFitnessPal",
    "cronometer": "Cronometer",
    "csv": "CSV import",
    "fit": "FIT file",
    "manual": "Manual entry",
}


class DataSource(models.Model):
    """Where values come from: a provider or import kind *and* the device or app inside it
    (Apple Health's "Apple Watch" and "iPhone" are two data sources). Priorities rank these.
    """

    id = models.AutoField(primary_key=True)  # 4 bytes in every sample row
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_sources"
    )
    kind = models.CharField(max_length=32, help_text="Provider slug or import kind.")
    origin = models.CharField(max_length=200, blank=True, help_text="Device or app name.")
    device_model = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "origin", "device_model"], name="datasource_natural_key"
            )
        ]
        ordering = ["kind", "origin"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How people name it: "Apple Watch (Apple Health)", "Oura Ring (Oura)"."""
        service = KIND_LABELS.get(self.kind, self.kind.replace("_", " ").title())
        if not self.origin or self.origin.lower() == service.lower():
            return service
        return f"{self.origin} ({service})"


class Sample(models.Model):
    """One value over an interval [start, end). The natural key (source, metric, start, end)
    is the primary key, so every write is an idempotent upsert and no surrogate id or
    second index costs bytes in the biggest table. The owner is the data source's user."""

    pk = models.CompositePrimaryKey("data_source_id", "metric", "start", "end")
    # Columns in this order (8-byte ones first) leave no alignment padding: 32 bytes of
    # data a row.
    start = models.DateTimeField()
    end = models.DateTimeField()
    value = models.FloatField()
    # No database-level foreign keys on this table: their deferred checks cost more than
    # the insert itself. Django still cascades (one DELETE ... WHERE data_source_id IN).
    data_source = models.ForeignKey(
        DataSource, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    metric = models.PositiveSmallIntegerField()  # catalog id
    utc_offset = models.SmallIntegerField(help_text="Minutes east of UTC where recorded.")
    import_job = models.ForeignKey(
        "imports.ImportJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="sample_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_key} {self.start:%Y-%m-%d %H:%M}"

    @property
    def metric_key(self) -> str:
        return BY_ID[self.metric].key


class DailyRollup(models.Model):
    """Per (data source, metric, local day): kept up to date by the ingestion service."""

    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE)
    metric = models.PositiveSmallIntegerField()
    day = models.DateField()
    sum = models.FloatField()
    count = models.IntegerField()
    min = models.FloatField()
    max = models.FloatField()
    avg = models.FloatField()
    last = models.FloatField()  # the value of the day's latest sample (by start)
    last_start = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["data_source", "metric", "day"], name="dailyrollup_natural_key"
            )
        ]

    def __str__(self) -> str:
        return f"{BY_ID[self.metric].key} {self.day} ({self.data_source_id})"


class ResolvedDaily(models.Model):
    """The one true daily value of a metric for a user, after applying their source
    priorities (metrics.resolution), with its provenance. Derived data: recomputed from
    samples and rollups whenever they or the priorities change; never edited by hand."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    metric = models.PositiveSmallIntegerField()
    day = models.DateField()
    value = models.FloatField()
    # {"chosen": source id | null, "contributions": {id: value}, "set_aside": {id: value}}
    provenance = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "metric", "day"], name="resolved_natural_key")
        ]

    def __str__(self) -> str:
        return f"{BY_ID[self.metric].key} {self.day} = {self.value:g}"


class SleepStage(models.TextChoices):
    AWAKE = "awake"
    LIGHT = "light"  # Apple's "core"
    DEEP = "deep"
    REM = "rem"
    ASLEEP = "asleep"  # asleep, stage unknown (older Apple exports, some providers)
    IN_BED = "in_bed"


class SleepSession(models.Model):
    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE)
    start = models.DateTimeField()
    end = models.DateTimeField()
    utc_offset = models.SmallIntegerField()
    external_id = models.CharField(max_length=100, blank=True)
    asleep_minutes = models.FloatField(null=True, blank=True)
    in_bed_minutes = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    import_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["data_source", "start"], name="sleep_natural_key"),
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="sleep_end_after_start"
            ),
        ]
        ordering = ["-start"]

    def __str__(self) -> str:
        return f"sleep {self.start:%Y-%m-%d %H:%M} ({self.data_source})"


class SleepStageInterval(models.Model):
    session = models.ForeignKey(SleepSession, on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(max_length=8, choices=SleepStage.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "start"], name="sleepstage_natural_key")
        ]
        ordering = ["start"]

    def __str__(self) -> str:
        return f"{self.stage} {self.start:%H:%M}-{self.end:%H:%M}"


class ActivityType(models.TextChoices):
    """One list of workout types shared by every source (normalizers map onto it)."""

    WALKING = "walking"
    RUNNING = "running"
    CYCLING = "cycling"
    INDOOR_CYCLING = "indoor_cycling"
    SWIMMING = "swimming"
    HIKING = "hiking"
    ROWING = "rowing"
    ELLIPTICAL = "elliptical"
    STRENGTH_TRAINING = "strength_training"
    HIIT = "hiit"
    YOGA = "yoga"
    PILATES = "pilates"
    DANCE = "dance"
    ROCK_CLIMBING = "rock_climbing"
    SKIING = "skiing"
    SNOWBOARDING = "snowboarding"
    TENNIS = "tennis"
    SOCCER = "soccer"
    BASKETBALL = "basketball"
    GOLF = "golf"
    MARTIAL_ARTS = "martial_arts"
    MEDITATION = "meditation"
    STAIRS = "stairs"
    OTHER = "other"


class RouteEncoder(json.JSONEncoder):
    """Encodes a route's points, and passes a route already encoded (RouteJSON) through
    as it is: an import's routes (hundreds of thousands of points) are not decoded only
    to be encoded again."""

    def encode(self, o):
        if isinstance(o, RouteJSON):
            return str(o)
        return super().encode(o)


class Workout(models.Model):
    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE)
    activity_type = models.CharField(max_length=24, choices=ActivityType.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    utc_offset = models.SmallIntegerField()
    external_id = models.CharField(max_length=100, blank=True)
    duration_seconds = models.FloatField()
    distance_m = models.FloatField(null=True, blank=True)
    energy_kcal = models.FloatField(null=True, blank=True)
    heart_rate_avg = models.FloatField(null=True, blank=True)
    heart_rate_max = models.FloatField(null=True, blank=True)
    elevation_gain_m = models.FloatField(null=True, blank=True)
    # [[iso time, latitude, longitude, elevation m | null], ...]; loaded only on detail.
    route = models.JSONField(null=True, blank=True, encoder=RouteEncoder)
    import_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["data_source", "start"], name="workout_natural_key"),
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="workout_end_after_start"
            ),
        ]
        ordering = ["-start"]

    def __str__(self) -> str:
        return f"{self.activity_type} {self.start:%Y-%m-%d %H:%M}"


SLEEP_CATEGORY_IDS = frozenset(
    metric_id for metric_id, metric in BY_ID.items() if metric.category == Category.SLEEP
)


def local_day(metric_id: int, start: datetime, end: datetime, utc_offset: int) -> date:
    """A value's local day: by its start, in the offset where it was recorded. Sleep counts
    on the day one wakes up (its end)."""
    moment = end if metric_id in SLEEP_CATEGORY_IDS else start
    return (moment.astimezone(UTC) + timedelta(minutes=utc_offset)).date()
