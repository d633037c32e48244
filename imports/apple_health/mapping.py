"""Apple Health (HealthKit) types and units -> HealthHub's catalog. Data, not code."""

from metrics.models import ActivityType, SleepStage

_Q = "HKQuantityTypeIdentifier"
# HealthKit quantity type -> catalog metric key.
QUANTITY_METRICS: dict[str, str] = {
    f"{_Q}StepCount": "steps",
    f"{_Q}DistanceWalkingRunning": "distance_walking_running",
    f"{_Q}DistanceCycling": "distance_cycling",
    f"{_Q}DistanceSwimming": "distance_swimming",
    f"{_Q}ActiveEnergyBurned": "active_energy",
    f"{_Q}BasalEnergyBurned": "basal_energy",
    f"{_Q}FlightsClimbed": "flights_climbed",
    f"{_Q}AppleExerciseTime": "exercise_minutes",
    f"{_Q}HeartRate": "heart_rate",
    f"{_Q}RestingHeartRate": "resting_heart_rate",
    f"{_Q}WalkingHeartRateAverage": "walking_heart_rate",
    f"{_Q}HeartRateVariabilitySDNN": "hrv_sdnn",
    f"{_Q}OxygenSaturation": "oxygen_saturation",
    f"{_Q}RespiratoryRate": "respiratory_rate",
    f"{_Q}BodyTemperature": "body_temperature",
    f"{_Q}AppleSleepingWristTemperature": "skin_temperature",
    f"{_Q}BloodPressureSystolic": "blood_pressure_systolic",
    f"{_Q}BloodPressureDiastolic": "blood_pressure_diastolic",
    f"{_Q}BloodGlucose": "blood_glucose",
    f"{_Q}VO2Max": "vo2_max",
    f"{_Q}BodyMass": "body_mass",
    f"{_Q}BodyMassIndex": "body_mass_index",
    f"{_Q}BodyFatPercentage": "body_fat_percentage",
    f"{_Q}LeanBodyMass": "lean_body_mass",
    f"{_Q}Height": "height",
    f"{_Q}WaistCircumference": "waist_circumference",
    f"{_Q}DietaryEnergyConsumed": "dietary_energy",
    f"{_Q}DietaryProtein": "protein",
    f"{_Q}DietaryCarbohydrates": "carbohydrates",
    f"{_Q}DietaryFatTotal": "fat",
    f"{_Q}DietaryFatSaturated": "saturated_fat",
    f"{_Q}DietaryFiber": "fiber",
    f"{_Q}DietarySugar": "sugar",
    f"{_Q}DietarySodium": "sodium",
    f"{_Q}DietaryCholesterol": "cholesterol",
    f"{_Q}DietaryCaffeine": "caffeine",
    f"{_Q}DietaryWater": "water",
}

# Metrics Apple stores as a fraction of one while labelling the unit "%".
FRACTION_METRICS = frozenset({"oxygen_saturation", "body_fat_percentage"})

# HealthKit's unit strings that are not plain UCUM, -> ours.
UNIT_ALIASES: dict[str, str] = {
    "count/min": "/min",
    "mL/min·kg": "mL/(kg.min)",
    "mL/(kg·min)": "mL/(kg.min)",
    "mmol<180.1558800000541>/L": "mmol/L",
    "mmHg": "mm[Hg]",
    "fl_oz_us": "[foz_us]",
    "degC": "Cel",
    "degF": "degF",
}
# Units whose meaning depends on the type (BMI is "count" in HealthKit).
TYPE_UNITS: dict[str, str] = {f"{_Q}BodyMassIndex": "kg/m2"}

SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
MINDFUL_TYPE = "HKCategoryTypeIdentifierMindfulSession"
_S = "HKCategoryValueSleepAnalysis"
SLEEP_STAGES: dict[str, str] = {
    f"{_S}InBed": SleepStage.IN_BED,
    f"{_S}Asleep": SleepStage.ASLEEP,  # before iOS 16
    f"{_S}AsleepUnspecified": SleepStage.ASLEEP,
    f"{_S}AsleepCore": SleepStage.LIGHT,
    f"{_S}AsleepDeep": SleepStage.DEEP,
    f"{_S}AsleepREM": SleepStage.REM,
    f"{_S}Awake": SleepStage.AWAKE,
}

_W = "HKWorkoutActivityType"
WORKOUT_TYPES: dict[str, str] = {
    f"{_W}Walking": ActivityType.WALKING,
    f"{_W}Running": ActivityType.RUNNING,
    f"{_W}Cycling": ActivityType.CYCLING,
    f"{_W}Swimming": ActivityType.SWIMMING,
    f"{_W}Hiking": ActivityType.HIKING,
    f"{_W}Rowing": ActivityType.ROWING,
    f"{_W}Elliptical": ActivityType.ELLIPTICAL,
    f"{_W}TraditionalStrengthTraining": ActivityType.STRENGTH_TRAINING,
    f"{_W}FunctionalStrengthTraining": ActivityType.STRENGTH_TRAINING,
    f"{_W}HighIntensityIntervalTraining": ActivityType.HIIT,
    f"{_W}Yoga": ActivityType.YOGA,
    f"{_W}Pilates": ActivityType.PILATES,
    f"{_W}Dance": ActivityType.DANCE,
    f"{_W}SocialDance": ActivityType.DANCE,
    f"{_W}Climbing": ActivityType.ROCK_CLIMBING,
    f"{_W}DownhillSkiing": ActivityType.SKIING,
    f"{_W}CrossCountrySkiing": ActivityType.SKIING,
    f"{_W}Snowboarding": ActivityType.SNOWBOARDING,
    f"{_W}Tennis": ActivityType.TENNIS,
    f"{_W}Soccer": ActivityType.SOCCER,
    f"{_W}Basketball": ActivityType.BASKETBALL,
    f"{_W}Golf": ActivityType.GOLF,
    f"{_W}MartialArts": ActivityType.MARTIAL_ARTS,
    f"{_W}MindAndBody": ActivityType.MEDITATION,
    f"{_W}StairClimbing": ActivityType.STAIRS,
    f"{_W}Stairs": ActivityType.STAIRS,
}
