"""Apple Health (HealthKit) types and units -> HealthHub's catalog. Data, not code.

Plain strings (the values of metrics.models.SleepStage and ActivityType; a test keeps
them valid), so the parser runs without Django, in a process of its own."""

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
IN_BED = "in_bed"  # time in bed: the session's span, not a stage
SLEEP_STAGES: dict[str, str] = {
    f"{_S}InBed": IN_BED,
    f"{_S}Asleep": "asleep",  # before iOS 16
    f"{_S}AsleepUnspecified": "asleep",
    f"{_S}AsleepCore": "light",
    f"{_S}AsleepDeep": "deep",
    f"{_S}AsleepREM": "rem",
    f"{_S}Awake": "awake",
}

_W = "HKWorkoutActivityType"
WORKOUT_TYPES: dict[str, str] = {
    f"{_W}Walking": "walking",
    f"{_W}Running": "running",
    f"{_W}Cycling": "cycling",
    f"{_W}Swimming": "swimming",
    f"{_W}Hiking": "hiking",
    f"{_W}Rowing": "rowing",
    f"{_W}Elliptical": "elliptical",
    f"{_W}TraditionalStrengthTraining": "strength_training",
    f"{_W}FunctionalStrengthTraining": "strength_training",
    f"{_W}HighIntensityIntervalTraining": "hiit",
    f"{_W}Yoga": "yoga",
    f"{_W}Pilates": "pilates",
    f"{_W}Dance": "dance",
    f"{_W}SocialDance": "dance",
    f"{_W}Climbing": "rock_climbing",
    f"{_W}DownhillSkiing": "skiing",
    f"{_W}CrossCountrySkiing": "skiing",
    f"{_W}Snowboarding": "snowboarding",
    f"{_W}Tennis": "tennis",
    f"{_W}Soccer": "soccer",
    f"{_W}Basketball": "basketball",
    f"{_W}Golf": "golf",
    f"{_W}MartialArts": "martial_arts",
    f"{_W}MindAndBody": "meditation",
    f"{_W}StairClimbing": "stairs",
    f"{_W}Stairs": "stairs",
}
