"""The metric catalog: every kind of number HealthHub stores.

Keys and ids are persisted (samples store the small integer `id`; the API speaks `key`):
never rename a key, never reuse or renumber an id. Add new metrics with new ids.

Values are always stored in the metric's canonical UCUM unit; normalizers convert with
`metrics.units.convert` before anything reaches the ingestion service.
"""

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    ACTIVITY = "activity"
    BODY = "body"
    HEART = "heart"
    VITALS = "vitals"
    SLEEP = "sleep"
    RECOVERY = "recovery"
    NUTRITION = "nutrition"
    MINDFULNESS = "mindfulness"
    WORKOUTS = "workouts"  # ranks workout records, not samples


class Aggregation(StrEnum):
    CUMULATIVE = "cumulative"  # summed over time: steps, distance, energy, nutrients
    DISCRETE = "discrete"  # instantaneous readings: heart rate, weight, SpO2
    SCORE = "score"  # one value per day: readiness, sleep score


@dataclass(frozen=True, slots=True)
class Metric:
    id: int
    key: str
    name: str
    category: Category
    unit: str  # canonical UCUM unit
    aggregation: Aggregation
    min_value: float
    max_value: float
    loinc: str | None = None
    # A difference of temperatures (e.g. wrist temperature deviation): degF converts by
    # factor only, without the 32-degree offset.
    is_delta: bool = False

    @property
    def is_cumulative(self) -> bool:
        return self.aggregation is Aggregation.CUMULATIVE

    @property
    def daily_column(self) -> str:
        """The rollup column that is a day's value: the sum of a cumulative metric, the
        average of discrete readings, the last of daily scores."""
        return DAILY_COLUMN[self.aggregation]

    @property
    def display_unit(self) -> str:
        """The unit for people: UCUM annotations lose their braces ({steps} -> steps)."""
        return DISPLAY_UNITS.get(self.unit, self.unit.strip("{}"))


DAILY_COLUMN = {
    Aggregation.CUMULATIVE: "sum",
    Aggregation.DISCRETE: "avg",
    Aggregation.SCORE: "last",
}
DISPLAY_UNITS = {
    "/min": "per min",
    "Cel": "°C",
    "mm[Hg]": "mmHg",
    "mL/(kg.min)": "mL/kg/min",
    "kg/m2": "kg/m²",
    "{score}": "",
}

A, B, H, V = Category.ACTIVITY, Category.BODY, Category.HEART, Category.VITALS
S, R, N, M = Category.SLEEP, Category.RECOVERY, Category.NUTRITION, Category.MINDFULNESS
CUM, DIS, SCO = Aggregation.CUMULATIVE, Aggregation.DISCRETE, Aggregation.SCORE

# id, key, name, category, unit, aggregation, min, max, LOINC
METRICS: tuple[Metric, ...] = (
    # activity
    Metric(1, "steps", "Steps", A, "{steps}", CUM, 0, 100_000, "55423-8"),
    Metric(2, "distance_walking_running", "Walking + running distance", A, "m", CUM, 0, 300_000),
    Metric(3, "distance_cycling", "Cycling distance", A, "m", CUM, 0, 1_000_000),
    Metric(4, "distance_swimming", "Swimming distance", A, "m", CUM, 0, 50_000),
    Metric(5, "active_energy", "Active energy", A, "kcal", CUM, 0, 20_000, "41981-2"),
    Metric(6, "basal_energy", "Resting (basal) energy", A, "kcal", CUM, 0, 10_000),
    Metric(7, "flights_climbed", "Flights climbed", A, "{flights}", CUM, 0, 1_000),
    Metric(8, "exercise_minutes", "Exercise minutes", A, "min", CUM, 0, 1_440),
    Metric(9, "stand_hours", "Stand hours", A, "h", CUM, 0, 24),
    # heart
    Metric(20, "heart_rate", "Heart rate", H, "/min", DIS, 20, 250, "8867-4"),
    Metric(21, "resting_heart_rate", "Resting heart rate", H, "/min", DIS, 20, 200, "40443-4"),
    Metric(22, "walking_heart_rate", "Walking heart rate average", H, "/min", DIS, 30, 220),
    Metric(23, "hrv_sdnn", "Heart rate variability (SDNN)", H, "ms", DIS, 1, 500, "80404-7"),
    Metric(24, "hrv_rmssd", "Heart rate variability (RMSSD)", H, "ms", DIS, 1, 500),
    # vitals
    Metric(40, "oxygen_saturation", "Blood oxygen (SpO2)", V, "%", DIS, 50, 100, "59408-5"),
    Metric(41, "respiratory_rate", "Respiratory rate", V, "/min", DIS, 3, 60, "9279-1"),
    Metric(42, "body_temperature", "Body temperature", V, "Cel", DIS, 30, 45, "8310-5"),
    Metric(
        43,
        "skin_temperature_deviation",
        "Skin / wrist temperature deviation",
        V,
        "Cel",
        DIS,
        -10,
        10,
        None,
        is_delta=True,
    ),
    Metric(
        44,
        "blood_pressure_systolic",
        "Blood pressure, systolic",
        V,
        "mm[Hg]",
        DIS,
        50,
        260,
        "8480-6",
    ),
    Metric(
        45,
        "blood_pressure_diastolic",
        "Blood pressure, diastolic",
        V,
        "mm[Hg]",
        DIS,
        20,
        180,
        "8462-4",
    ),
    Metric(46, "blood_glucose", "Blood glucose", V, "mg/dL", DIS, 10, 1_000, "2339-0"),
    Metric(47, "vo2_max", "VO2 max", V, "mL/(kg.min)", DIS, 5, 100),
    Metric(48, "skin_temperature", "Skin temperature", V, "Cel", DIS, 20, 45),
    # body
    Metric(60, "body_mass", "Weight", B, "kg", DIS, 1, 650, "29463-7"),
    Metric(61, "body_mass_index", "Body mass index", B, "kg/m2", DIS, 5, 150, "39156-5"),
    Metric(62, "body_fat_percentage", "Body fat", B, "%", DIS, 1, 80, "41982-0"),
    Metric(63, "lean_body_mass", "Lean body mass", B, "kg", DIS, 1, 300),
    Metric(64, "muscle_mass", "Muscle mass", B, "kg", DIS, 1, 300),
    Metric(65, "bone_mass", "Bone mass", B, "kg", DIS, 0.1, 20),
    Metric(66, "body_water_percentage", "Body water", B, "%", DIS, 10, 90),
    Metric(67, "height", "Height", B, "cm", DIS, 30, 280, "8302-2"),
    Metric(68, "waist_circumference", "Waist circumference", B, "cm", DIS, 30, 300, "8280-0"),
    # sleep (durations per night, summed from stage intervals)
    Metric(80, "sleep_asleep", "Time asleep", S, "min", CUM, 0, 1_440, "93832-4"),
    Metric(81, "sleep_in_bed", "Time in bed", S, "min", CUM, 0, 1_440),
    Metric(82, "sleep_deep", "Deep sleep", S, "min", CUM, 0, 1_440),
    Metric(83, "sleep_rem", "REM sleep", S, "min", CUM, 0, 1_440),
    Metric(84, "sleep_light", "Light / core sleep", S, "min", CUM, 0, 1_440),
    Metric(85, "sleep_awake", "Awake in bed", S, "min", CUM, 0, 1_440),
    Metric(86, "sleep_latency", "Sleep latency", S, "min", DIS, 0, 600),
    Metric(87, "sleep_efficiency", "Sleep efficiency", S, "%", DIS, 0, 100),
    Metric(88, "sleep_score", "Sleep score", S, "{score}", SCO, 0, 100),
    # recovery
    Metric(100, "readiness_score", "Readiness score", R, "{score}", SCO, 0, 100),
    Metric(101, "recovery_score", "Recovery score", R, "%", SCO, 0, 100),
    Metric(102, "strain", "Strain", R, "{score}", SCO, 0, 21),
    Metric(103, "stress", "Stress", R, "{score}", DIS, 0, 100),
    # Oura daily stress: time in the high-stress / high-recovery zone per day
    Metric(104, "stress_high_time", "Time in high stress", R, "min", CUM, 0, 1_440),
    Metric(105, "recovery_high_time", "Time in high recovery", R, "min", CUM, 0, 1_440),
    # nutrition
    Metric(120, "dietary_energy", "Energy intake", N, "kcal", CUM, 0, 20_000, "9052-2"),
    Metric(121, "protein", "Protein", N, "g", CUM, 0, 2_000),
    Metric(122, "carbohydrates", "Carbohydrates", N, "g", CUM, 0, 3_000),
    Metric(123, "fat", "Fat", N, "g", CUM, 0, 2_000),
    Metric(124, "saturated_fat", "Saturated fat", N, "g", CUM, 0, 1_000),
    Metric(125, "fiber", "Fibre", N, "g", CUM, 0, 500),
    Metric(126, "sugar", "Sugar", N, "g", CUM, 0, 2_000),
    Metric(127, "sodium", "Sodium", N, "mg", CUM, 0, 100_000),
    Metric(128, "cholesterol", "Cholesterol", N, "mg", CUM, 0, 10_000),
    Metric(129, "caffeine", "Caffeine", N, "mg", CUM, 0, 5_000),
    Metric(130, "water", "Water", N, "mL", CUM, 0, 20_000),
    Metric(131, "alcohol", "Alcohol", N, "g", CUM, 0, 1_000),
    # mindfulness
    Metric(140, "mindful_minutes", "Mindful minutes", M, "min", CUM, 0, 1_440),
)

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
BY_ID: dict[int, Metric] = {m.id: m for m in METRICS}

assert len(BY_KEY) == len(METRICS) and len(BY_ID) == len(METRICS), "duplicate metric"


class UnknownMetric(KeyError):
    pass


def get_metric(key: str) -> Metric:
    try:
        return BY_KEY[key]
    except KeyError:
        raise UnknownMetric(key) from None


def metrics_in(category: Category) -> list[Metric]:
    return [m for m in METRICS if m.category == category]
