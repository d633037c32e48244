"""The normalized records every provider and importer hands to the ingestion service."""

import json
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Identifies a data source: provider or import kind, plus device/app inside it."""

    kind: str
    origin: str = ""
    device_model: str = ""


# Not frozen: millions are built per import, and a frozen dataclass's __init__ is about
# three times slower. Treat them as immutable all the same.
@dataclass(slots=True)
class SampleIn:
    metric: str  # catalog key
    start: datetime  # aware
    end: datetime  # aware, >= start (equal for instantaneous readings)
    value: float
    unit: str  # any unit metrics.units knows; converted to the canonical one
    source: SourceRef
    # Minutes east of UTC where it was recorded; None: the user's home time zone.
    utc_offset: int | None = None


@dataclass(frozen=True, slots=True)
class StageIn:
    stage: str  # metrics.models.SleepStage value
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class SleepSessionIn:
    source: SourceRef
    start: datetime
    end: datetime
    stages: tuple[StageIn, ...] = ()
    utc_offset: int | None = None
    external_id: str = ""
    score: float | None = None  # the provider's own sleep score, 0-100
    latency_minutes: float | None = None
    nap: bool = False  # the provider flags it as a daytime nap (not stored yet)


class RouteJSON(str):
    """A workout route already in its stored form, the JSON text of
    `[[UTC ISO time, latitude, longitude, elevation m | null], ...]`: what an importer
    that reads route files as text builds far more cheaply than a list of points (which
    would then be encoded again). Stored as it is (metrics.models.RouteEncoder)."""

    __slots__ = ()

    def points(self) -> list[list]:
        return json.loads(self)


@dataclass(frozen=True, slots=True)
class WorkoutIn:
    source: SourceRef
    activity_type: str  # metrics.models.ActivityType value
    start: datetime
    end: datetime
    utc_offset: int | None = None
    external_id: str = ""
    distance_m: float | None = None
    energy_kcal: float | None = None
    heart_rate_avg: float | None = None
    heart_rate_max: float | None = None
    elevation_gain_m: float | None = None
    # Points ([[time, lat, lon, ele | None], ...]) or the same as RouteJSON.
    route: list | RouteJSON | None = field(default=None, compare=False)
