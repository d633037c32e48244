"""One small export in the real format with every HealthKit type the mapping covers and
each quirk real exports have, imported end to end: the iOS 16 export's broken DTD, stray
control characters, duplicate records, fractions labelled "%", units that vary (lb/kg,
mi/km, Cal/kJ, degF/degC), dates with offsets (PST, PDT, CET), a malformed region, HRV
beat-to-beat metadata, blood-pressure and food correlations, both sleep styles, workouts
of every mapped activity, activity summaries and types HealthHub does not know."""

import zipfile

import pytest

from imports.apple_health.mapping import (
    QUANTITY_METRICS,
    SLEEP_STAGES,
    WORKOUT_TYPES,
)
from imports.services import apple_health_import
from metrics.catalog import BY_ID, BY_KEY
from metrics.models import Sample, SleepSession, SleepStageInterval, Workout
from tests.imports.test_apple_health_parser import PHONE, WATCH, rec

pytestmark = pytest.mark.django_db

# The DOCTYPE of an iOS 16.0 export is not well-formed (an ATTLIST left unclosed): an
# XML parser that reads the DTD stops here; ours never reads it.
BROKEN_DTD_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ATTLIST WorkoutActivity
  uuid             CDATA #REQUIRED
  startDate        CDATA #REQUIRED
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
]>
<HealthData locale="en_US">
 <ExportDate value="2024-04-01 07:15:00 -0700"/>
 <Me HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
"""
T = "2024-03-05 08:00:00 -0800"  # PST
T_PDT = "2024-03-12 08:00:00 -0700"  # after the change to daylight saving
T_CET = "2024-03-20 08:00:00 +0100"  # travelling
WITHINGS = 'sourceName="Withings" sourceVersion="6.1"'
MFP = 'sourceName="MyFitnessPal" sourceVersion="24.3"'

# type (without HKQuantityTypeIdentifier) -> (unit as Apple writes it, value); one record
# each, outside correlations. A new mapped type must be added here (a test checks it).
VALUES = {
    "StepCount": ("count", 812),
    "DistanceWalkingRunning": ("mi", "0.5"),
    "DistanceCycling": ("km", "5.2"),
    "DistanceSwimming": ("m", 400),
    "ActiveEnergyBurned": ("Cal", "35.2"),
    "BasalEnergyBurned": ("kJ", 300),
    "FlightsClimbed": ("count", 3),
    "AppleExerciseTime": ("min", 12),
    "HeartRate": ("count/min", 72),
    "RestingHeartRate": ("count/min", 55),
    "WalkingHeartRateAverage": ("count/min", 95),
    "HeartRateVariabilitySDNN": ("ms", "48.3"),
    "OxygenSaturation": ("%", "0.97"),
    "RespiratoryRate": ("count/min", "14.5"),
    "BodyTemperature": ("degF", "98.6"),
    "AppleSleepingWristTemperature": ("degC", "35.1"),
    "BloodGlucose": ("mg/dL", 95),
    "VO2Max": ("mL/min·kg", "45.2"),
    "BodyMass": ("lb", "154.2"),
    "BodyMassIndex": ("count", "22.5"),
    "BodyFatPercentage": ("%", "0.21"),
    "LeanBodyMass": ("kg", 55),
    "Height": ("cm", 170),
    "WaistCircumference": ("cm", 80),
    "DietaryWater": ("mL", 500),
    "DietaryCaffeine": ("mg", 95),
}
IN_CORRELATIONS = {
    "BloodPressureSystolic",
    "BloodPressureDiastolic",
    "DietaryEnergyConsumed",
    "DietaryProtein",
    "DietaryCarbohydrates",
    "DietaryFatTotal",
    "DietaryFatSaturated",
    "DietaryFiber",
    "DietarySugar",
    "DietarySodium",
    "DietaryCholesterol",
}

HRV = (
    ' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" '
    f'{WATCH} unit="ms" creationDate="{T_PDT}" startDate="{T_PDT}" '
    'endDate="2024-03-12 08:01:00 -0700" value="52.1">\n'
    "  <HeartRateVariabilityMetadataList>\n"
    '   <InstantaneousBeatsPerMinute bpm="64" time="8:00:01.41 AM"/>\n'
    '   <InstantaneousBeatsPerMinute bpm="66" time="8:00:02.33 AM"/>\n'
    "  </HeartRateVariabilityMetadataList>\n"
    " </Record>\n"
)


def correlation(kind: str, src: str, when: str, records: str) -> str:
    return (
        f' <Correlation type="HKCorrelationTypeIdentifier{kind}" {src} creationDate="{when}" '
        f'startDate="{when}" endDate="{when}">\n{records} </Correlation>\n'
    )


def both(kind, unit, value, when, src) -> str:
    """A record inside a correlation is also written at the top level (Apple's DTD)."""
    return rec(kind, unit, value, when, src=src)


BLOOD_PRESSURE = both("BloodPressureSystolic", "mmHg", 121, T, WITHINGS) + both(
    "BloodPressureDiastolic", "mmHg", 79, T, WITHINGS
)
FOOD = (
    both("DietaryEnergyConsumed", "Cal", 650, T_CET, MFP)
    + both("DietaryProtein", "g", 30, T_CET, MFP)
    + both("DietaryCarbohydrates", "g", 80, T_CET, MFP)
    + both("DietaryFatTotal", "g", 20, T_CET, MFP)
    + both("DietaryFatSaturated", "g", 6, T_CET, MFP)
    + both("DietaryFiber", "g", 8, T_CET, MFP)
    + both("DietarySugar", "g", 15, T_CET, MFP)
    + both("DietarySodium", "mg", 700, T_CET, MFP)
    + both("DietaryCholesterol", "mg", 120, T_CET, MFP)
)


def sleep(value, start, end, src=WATCH):
    return (
        f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" {src} startDate="{start}" '
        f'endDate="{end}" value="HKCategoryValueSleepAnalysis{value}"/>\n'
    )


def workouts() -> str:
    out = []
    for day, kind in enumerate(WORKOUT_TYPES, start=1):
        start, end = f"2024-02-{day:02d} 17:30:00 -0800", f"2024-02-{day:02d} 18:00:00 -0800"
        out.append(
            f' <Workout workoutActivityType="{kind}" duration="30" durationUnit="min" {WATCH} '
            f'startDate="{start}" endDate="{end}">\n'
            f'  <WorkoutEvent type="HKWorkoutEventTypePause" date="{start}"/>\n'
            '  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" '
            f'startDate="{start}" endDate="{end}" sum="210" unit="Cal"/>\n'
            " </Workout>\n"
        )
    return "".join(out)


BODY = (
    "".join(rec(kind, unit, value, T) for kind, (unit, value) in VALUES.items())
    + rec("BodyMass", "kg", "70.1", T_PDT, src=WITHINGS)  # kg on another day
    + rec("DistanceWalkingRunning", "km", "1.2", T_CET, src=PHONE)  # km while away
    + rec("ActiveEnergyBurned", "kJ", "150", T_CET, src=PHONE)
    + rec("BodyTemperature", "degC", "36.9", T_CET, src=PHONE)
    + rec("StepCount", "count", 812, T)  # a duplicate, byte for byte
    + HRV
    + correlation("BloodPressure", WITHINGS, T, BLOOD_PRESSURE)
    + BLOOD_PRESSURE
    + correlation("Food", MFP, T_CET, FOOD)
    + FOOD
    # Stray control characters in a name (blanked) and a malformed record (skipped).
    + rec("FlightsClimbed", "count", 2, T_PDT, src='sourceName="Alice\x0bs\x01 iPhone"')
    + ' <Record type="HKQuantityTypeIdentifierStepCount" value="3" <<broken\n'
    + rec("StepCount", "count", 44, T_PDT, src=PHONE)
    # Stage values (iOS 16+) one night, the old Asleep value another, the phone's in bed.
    + sleep("InBed", "2024-03-04 23:00:00 -0800", "2024-03-05 07:00:00 -0800", src=PHONE)
    + sleep("AsleepCore", "2024-03-04 23:10:00 -0800", "2024-03-05 01:00:00 -0800")
    + sleep("AsleepDeep", "2024-03-05 01:00:00 -0800", "2024-03-05 02:00:00 -0800")
    + sleep("AsleepREM", "2024-03-05 02:00:00 -0800", "2024-03-05 03:00:00 -0800")
    + sleep("Awake", "2024-03-05 03:00:00 -0800", "2024-03-05 03:10:00 -0800")
    + sleep("AsleepUnspecified", "2024-03-05 03:10:00 -0800", "2024-03-05 06:30:00 -0800")
    + sleep("Asleep", "2024-03-11 23:30:00 -0700", "2024-03-12 06:30:00 -0700")
    + ' <Record type="HKCategoryTypeIdentifierMindfulSession" sourceName="Calm" '
    'startDate="2024-03-05 21:00:00 -0800" endDate="2024-03-05 21:10:00 -0800"/>\n'
    + ' <Record type="HKCategoryTypeIdentifierHandwashingEvent" sourceName="Watch" '
    f'startDate="{T}" endDate="{T}" value="HKCategoryValueHandwashingEventComplete"/>\n'
    + rec("EnvironmentalAudioExposure", "dBASPL", 62, T)
    + workouts()
    + ' <ActivitySummary dateComponents="2024-03-05" activeEnergyBurned="412" '
    'activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="Cal" appleExerciseTime="31" '
    'appleExerciseTimeGoal="30" appleStandHours="11" appleStandHoursGoal="12"/>\n'
)


@pytest.fixture
def export_zip(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "apple_health_export/export.xml", (BROKEN_DTD_HEAD + BODY + "</HealthData>\n")
        )
    return path


def test_the_fixture_covers_every_mapped_type():
    prefix = "HKQuantityTypeIdentifier"
    assert {prefix + kind for kind in VALUES} | {prefix + k for k in IN_CORRELATIONS} == set(
        QUANTITY_METRICS
    )
    assert all(f"HKCategoryValueSleepAnalysis{v}" in SLEEP_STAGES for v in ("Asleep", "InBed"))
    assert all(f'value="{value}"' in BODY for value in SLEEP_STAGES)


def value_of(user, key: str, origin: str | None = None) -> list[float]:
    samples = Sample.objects.filter(data_source__user=user, metric=BY_KEY[key].id)
    if origin:
        samples = samples.filter(data_source__origin=origin)
    return sorted(s.value for s in samples)


def test_every_mapped_type_and_quirk_is_imported(user, export_zip):
    result = apple_health_import(user=user, path=export_zip)
    assert result["samples"]["rejected"] == 0, result["samples"]
    stored = {
        BY_ID[m].key
        for m in Sample.objects.filter(data_source__user=user).values_list("metric", flat=True)
    }
    assert set(QUANTITY_METRICS.values()) | {"mindful_minutes", "stand_hours"} <= stored

    # Units converted to the catalog's, fractions read as fractions.
    assert value_of(user, "body_mass") == pytest.approx([69.944, 70.1], abs=1e-3)
    assert value_of(user, "distance_walking_running") == pytest.approx([804.672, 1200])
    assert value_of(user, "active_energy") == pytest.approx([35.2, 35.85], abs=0.01)
    assert value_of(user, "basal_energy") == pytest.approx([71.7], abs=0.01)
    assert value_of(user, "body_temperature") == pytest.approx([36.9, 37.0], abs=0.01)
    assert value_of(user, "skin_temperature") == pytest.approx([35.1])
    assert value_of(user, "oxygen_saturation") == pytest.approx([97])
    assert value_of(user, "body_fat_percentage") == pytest.approx([21])
    assert value_of(user, "dietary_energy") == [650]
    assert value_of(user, "blood_pressure_systolic") == [121]  # correlation + top level: one
    assert value_of(user, "hrv_sdnn") == pytest.approx([48.3, 52.1])
    # The duplicate counts once; the malformed record is skipped, the next one kept.
    assert value_of(user, "steps") == [44, 812]
    assert result["parse"]["malformed_count"] == 1
    assert "not well-formed" in result["parse"]["malformed"][0]["message"]
    # Control characters blanked, the record kept under its cleaned-up source name.
    assert value_of(user, "flights_climbed", origin="Alice s  iPhone") == [2]
    # Each sample keeps the offset it was recorded in.
    offsets = {
        s.utc_offset
        for s in Sample.objects.filter(data_source__user=user, metric=BY_KEY["body_mass"].id)
    }
    assert offsets == {-480, -420}
    assert (
        Sample.objects.get(data_source__user=user, metric=BY_KEY["dietary_energy"].id).utc_offset
        == 60
    )

    # Types not in the catalog are counted and listed.
    assert result["parse"]["unknown_types"] == {
        "HKCategoryTypeIdentifierHandwashingEvent": 1,
        "HKQuantityTypeIdentifierEnvironmentalAudioExposure": 1,
    }

    # Sleep: the watch's two nights (stages, then the old style) and the phone's in bed.
    nights = SleepSession.objects.filter(data_source__user=user)
    assert nights.count() == 3
    stages = set(
        SleepStageInterval.objects.filter(session__in=nights).values_list("stage", flat=True)
    )
    assert stages == {"light", "deep", "rem", "awake", "asleep"}

    # Every mapped activity, its energy from the statistics in Cal.
    trained = Workout.objects.filter(data_source__user=user)
    assert trained.count() == len(WORKOUT_TYPES)
    assert set(trained.values_list("activity_type", flat=True)) == set(WORKOUT_TYPES.values())
    assert {w.energy_kcal for w in trained} == {210}

    again = apple_health_import(user=user, path=export_zip)
    assert (again["samples"]["created"], again["samples"]["updated"]) == (0, 0)
    assert again["workouts"]["unchanged"] == len(WORKOUT_TYPES)
