"""The streaming Apple Health parser on small hand-written exports with the real format's
quirks: the internal DTD, offsets in dates, fractions labelled %, varying units,
correlations, sleep stages, workouts, control characters and malformed regions."""

import io
import re
import zipfile
from datetime import UTC, datetime

import pytest

from imports.apple_health.parser import (
    MalformedExport,
    ParseReport,
    check_archive,
    parse_apple_date,
    parse_export_xml,
)
from metrics.schemas import SampleIn, SleepSessionIn, WorkoutIn

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record type CDATA #REQUIRED unit CDATA #IMPLIED value CDATA #IMPLIED>
]>
<HealthData locale="en_US">
 <ExportDate value="2024-03-10 07:15:00 -0800"/>
 <Me HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
"""
WATCH = (
    'sourceName="Alice&#8217;s Apple Watch" sourceVersion="10.3" device="&lt;&lt;HKDevice: '
    "0x1&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, "
    'software:10.3&gt;"'
)
PHONE = (
    'sourceName="iPhone" device="&lt;&lt;HKDevice: 0x2&gt;, name:iPhone, hardware:iPhone15,2&gt;"'
)


def rec(kind, unit, value, start, end=None, src=WATCH, extra=""):
    end = end or start
    return (
        f' <Record type="HKQuantityTypeIdentifier{kind}" {src} unit="{unit}" '
        f'creationDate="{end}" startDate="{start}" endDate="{end}" value="{value}"{extra}/>\n'
    )


def sleep(value, start, end, src=WATCH):
    return (
        f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" {src} startDate="{start}" '
        f'endDate="{end}" value="HKCategoryValueSleepAnalysis{value}"/>\n'
    )


def export(body: str) -> bytes:
    return (HEAD + body + "</HealthData>\n").encode()


def parse(data: bytes, batch: int = 10_000):
    report = ParseReport()
    items = [i for b in parse_export_xml(io.BytesIO(data), batch=batch, report=report) for i in b]
    return items, report


def samples(items, metric=None):
    return [i for i in items if isinstance(i, SampleIn) and (metric is None or i.metric == metric)]


def test_dates_carry_their_offset():
    moment, offset = parse_apple_date("2024-03-10 07:15:00 -0800")
    assert moment == datetime(2024, 3, 10, 15, 15, tzinfo=UTC)
    assert offset == -480
    assert parse_apple_date("2024-06-01 09:00:00 +0200")[1] == 120


def test_records_become_samples_with_source_device_units_and_offsets():
    items, report = parse(
        export(
            rec("StepCount", "count", 812, "2024-03-01 08:05:00 -0800", "2024-03-01 08:15:00 -0800")
            + rec(
                "StepCount",
                "count",
                700,
                "2024-03-01 08:05:00 -0800",
                "2024-03-01 08:20:00 -0800",
                src=PHONE,
            )
            + rec("OxygenSaturation", "%", "0.97", "2024-03-01 03:00:00 -0800")
            + rec("BodyMass", "lb", "154.2", "2024-03-02 07:00:00 +0100")
            + rec("DietaryEnergyConsumed", "kJ", "2092", "2024-03-02 12:00:00 +0100")
            + rec(
                "BloodGlucose",
                "mmol&lt;180.1558800000541&gt;/L",
                "5.5",
                "2024-03-02 12:00:00 +0100",
            )
            + rec("HeartRate", "count/min", "61", "2024-03-02 12:00:00 +0100", extra=""),
        )
    )
    steps = samples(items, "steps")
    assert [(s.source.origin, s.source.device_model, s.value) for s in steps] == [
        ("Alice\u2019s Apple Watch", "Watch6,2", 812.0),
        ("iPhone", "iPhone15,2", 700.0),
    ]
    assert steps[0].start == datetime(2024, 3, 1, 16, 5, tzinfo=UTC)
    assert steps[0].utc_offset == -480
    spo2 = samples(items, "oxygen_saturation")[0]
    assert (spo2.value, spo2.unit) == (0.97, "1")  # a fraction labelled "%"
    assert samples(items, "body_mass")[0].unit == "lb"
    assert samples(items, "body_mass")[0].utc_offset == 60
    assert samples(items, "dietary_energy")[0].unit == "kJ"
    assert samples(items, "blood_glucose")[0].unit == "mmol/L"
    assert samples(items, "heart_rate")[0].unit == "/min"
    assert report.records == 7
    assert report.types["HKQuantityTypeIdentifierStepCount"] == 2


def test_unknown_types_are_counted_not_dropped_silently():
    _, report = parse(
        export(
            ' <Record type="HKQuantityTypeIdentifierEnvironmentalAudioExposure" unit="dBASPL" '
            'value="62" startDate="2024-03-01 08:00:00 -0800" '
            'endDate="2024-03-01 08:30:00 -0800"/>\n'
            ' <Record type="HKCategoryTypeIdentifierHandwashingEvent" value="x" '
            'startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:20 -0800"/>\n'
        )
    )
    assert report.unknown_types == {
        "HKQuantityTypeIdentifierEnvironmentalAudioExposure": 1,
        "HKCategoryTypeIdentifierHandwashingEvent": 1,
    }


def test_blood_pressure_correlation_yields_both_readings():
    items, _ = parse(
        export(
            ' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Withings" '
            'startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:00 -0800">\n'
            + rec(
                "BloodPressureSystolic",
                "mmHg",
                121,
                "2024-03-01 08:00:00 -0800",
                src='sourceName="Withings"',
            )
            + rec(
                "BloodPressureDiastolic",
                "mmHg",
                79,
                "2024-03-01 08:00:00 -0800",
                src='sourceName="Withings"',
            )
            + " </Correlation>\n"
        )
    )
    assert {(s.metric, s.value, s.unit) for s in samples(items)} == {
        ("blood_pressure_systolic", 121.0, "mm[Hg]"),
        ("blood_pressure_diastolic", 79.0, "mm[Hg]"),
    }


def test_sleep_stage_records_become_one_session_per_source_and_night():
    items, _ = parse(
        export(
            sleep("InBed", "2024-03-01 23:00:00 -0800", "2024-03-02 07:00:00 -0800")
            + sleep("AsleepCore", "2024-03-01 23:10:00 -0800", "2024-03-02 01:00:00 -0800")
            + sleep("AsleepDeep", "2024-03-02 01:00:00 -0800", "2024-03-02 02:00:00 -0800")
            + sleep("AsleepREM", "2024-03-02 02:00:00 -0800", "2024-03-02 03:00:00 -0800")
            + sleep("Awake", "2024-03-02 03:00:00 -0800", "2024-03-02 03:10:00 -0800")
            + sleep("Asleep", "2024-03-02 23:30:00 -0800", "2024-03-03 06:30:00 -0800")
        )
    )
    nights = [i for i in items if isinstance(i, SleepSessionIn)]
    assert len(nights) == 2
    first = nights[0]
    assert (first.start, first.end) == (
        datetime(2024, 3, 2, 7, tzinfo=UTC),
        datetime(2024, 3, 2, 15, tzinfo=UTC),
    )
    assert [s.stage for s in first.stages] == ["light", "deep", "rem", "awake"]
    assert [s.stage for s in nights[1].stages] == ["asleep"]  # the pre-iOS 16 value


def test_workouts_keep_their_statistics_and_route_reference():
    items, _ = parse(
        export(
            f' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="32.5" '
            f'durationUnit="min" {WATCH} startDate="2024-03-01 17:30:00 -0800" '
            f'endDate="2024-03-01 18:02:30 -0800">\n'
            '  <WorkoutEvent type="HKWorkoutEventTypeSegment" date="2024-03-01 17:30:00 -0800"/>\n'
            '  <WorkoutStatistics type="HKQuantityTypeIdentifierDistanceWalkingRunning" '
            'startDate="2024-03-01 17:30:00 -0800" endDate="2024-03-01 18:02:30 -0800" sum="5.12" '
            'unit="km"/>\n'
            '  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" sum="401" '
            'unit="Cal"/>\n'
            '  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" average="151" '
            'minimum="98" maximum="178" unit="count/min"/>\n'
            '  <WorkoutRoute sourceName="x"><FileReference path="/workout-routes/route_1.gpx"/>'
            "</WorkoutRoute>\n"
            " </Workout>\n"
        )
    )
    (run,) = [i for i in items if isinstance(i, WorkoutIn)]
    assert run.activity_type == "running"
    assert run.distance_m == pytest.approx(5120)
    assert run.energy_kcal == pytest.approx(401)
    assert (run.heart_rate_avg, run.heart_rate_max) == (151, 178)
    assert run.utc_offset == -480
    assert run.route == [{"file": "/workout-routes/route_1.gpx"}]


def test_control_characters_are_blanked_and_a_malformed_region_is_skipped():
    body = (
        rec("StepCount", "count", 1, "2024-03-01 08:00:00 -0800")
        + ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="bad\x0bname" '
        'unit="count" value="2" startDate="2024-03-01 09:00:00 -0800" '
        'endDate="2024-03-01 09:00:00 -0800"/>\n'
        + ' <Record type="HKQuantityTypeIdentifierStepCount" value="3" <<broken here\n'
        + rec("StepCount", "count", 4, "2024-03-01 11:00:00 -0800")
        + rec("StepCount", "count", 5, "2024-03-01 12:00:00 -0800")
    )
    items, report = parse(export(body))
    # Records in Apple's own layout are read without expat, others (here the second, its
    # attributes in another order) by expat: the rows are not in document order.
    assert sorted(s.value for s in samples(items)) == [1, 2, 4, 5]
    assert [s.source.origin for s in samples(items) if s.value == 2] == ["bad name"]
    assert len(report.malformed) == 1
    assert report.malformed[0]["line"] == 14  # the broken record's line in the file
    assert "not well-formed" in report.malformed[0]["message"]


def test_each_control_character_is_blanked_alone():
    """A read with none is used as it is; each of the 29 characters XML forbids is looked
    for, alone in a read, and blanked."""
    for byte in (b for b in range(32) if b not in (9, 10, 13)):
        source = f'sourceName="a{chr(byte)}b"'
        items, report = parse(
            export(rec("StepCount", "count", 1, "2024-03-01 08:00:00 -0800", src=source))
        )
        assert [s.source.origin for s in samples(items)] == ["a b"], byte
        assert not report.malformed


def test_entities_are_never_expanded():
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n'
        b'<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
        b'<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        b'<HealthData locale="en">\n'
        b' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="&b;&xxe;" '
        b'unit="count" value="1" startDate="2024-03-01 08:00:00 -0800" '
        b'endDate="2024-03-01 08:00:00 -0800"/>\n'
        + rec("StepCount", "count", 9, "2024-03-01 10:00:00 -0800").encode()
        + b"</HealthData>\n"
    )
    with pytest.raises(MalformedExport, match="declares XML entities"):
        parse(bomb)  # refused before anything is parsed
    undeclared = export(
        ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="&xxe;" unit="count" '
        'value="1" startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:00 -0800"/>\n'
        + rec("StepCount", "count", 9, "2024-03-01 10:00:00 -0800")
    )
    items, report = parse(undeclared)
    assert [s.value for s in samples(items)] == [9]  # the record using an entity is skipped
    assert "undefined entity" in report.malformed[0]["message"]


def test_something_else_is_refused_clearly():
    with pytest.raises(MalformedExport, match="not an Apple Health export"):
        parse(b"<html><body>hello</body></html>")


def _zip(entries: dict) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return zipfile.ZipFile(buffer)


def test_archives_are_checked_before_anything_is_inflated():
    good = _zip({"apple_health_export/export.xml": export("")})
    assert check_archive(good).filename == "apple_health_export/export.xml"
    with pytest.raises(MalformedExport, match="unsafe path"):
        check_archive(_zip({"../evil.xml": b"x", "apple_health_export/export.xml": b"x"}))
    with pytest.raises(MalformedExport, match="inflates more than 100x"):
        check_archive(_zip({"apple_health_export/export.xml": b"0" * 2_000_000}))
    with pytest.raises(MalformedExport, match=r"no apple_health_export/export\.xml"):
        check_archive(_zip({"something.txt": b"x"}))


def test_mapping_values_are_valid_stages_and_activity_types():
    from imports.apple_health.mapping import SLEEP_STAGES, WORKOUT_TYPES
    from metrics.models import ActivityType, SleepStage

    assert set(SLEEP_STAGES.values()) <= set(SleepStage.values)
    assert set(WORKOUT_TYPES.values()) <= set(ActivityType.values)


def test_the_parser_process_sends_batches_and_its_errors(tmp_path):
    from imports.apple_health.pipe import parsed_batches

    path = tmp_path / "export.xml"
    path.write_bytes(export(rec("StepCount", "count", 812, "2024-03-01 08:05:00 -0800")))
    report = ParseReport()
    batches = list(parsed_batches(path, report))
    assert [row[0] for b in batches for row in b.rows] == ["steps"]
    assert batches[0].rows[0][5].origin == "Alice\u2019s Apple Watch"
    assert report.records == 1 and report.types["HKQuantityTypeIdentifierStepCount"] == 1
    path.write_bytes(b"<html>not an export</html>")
    with pytest.raises(MalformedExport):
        list(parsed_batches(path, ParseReport()))


def test_records_read_without_expat_are_read_as_expat_reads_them():
    """Quantity records in Apple's own layout are read by a regular expression, anything
    else by expat: the same records give the same samples (and the same rejections)
    either way. Moving `value` first takes every record off the fast path."""
    metadata = (
        '>\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record'
    )
    body = (
        rec("StepCount", "count", 812, "2024-03-01 08:05:00 -0800", "2024-03-01 08:15:00 -0800")
        + rec("HeartRate", "count/min", "61", "2024-03-02 12:00:00 +0100", src=PHONE)
        + rec("HeartRate", "count/min", "62", "2024-03-02 12:01:00 +0100").replace(
            "/>", metadata + ">"
        )
        + rec("OxygenSaturation", "%", "0.97", "2024-03-01 03:00:00 -0800")
        + rec("BodyMassIndex", "count", "22.1", "2024-03-01 03:00:00 -0800")
        + rec("BloodGlucose", "mmol&lt;180.1558800000541&gt;/L", "5.5", "2024-03-02 12:00:00 +0100")
        + rec("BodyMass", "lb", "154.2", "2024-03-02 07:00:00 +0100", src='sourceName="A &amp; B"')
        + rec("BodyMass", "kg", "70", "2024-02-30 07:00:00 +0100")  # no such day
        + rec("BodyMass", "kg", "7O", "2024-03-03 07:00:00 +0100")  # not a number
        + rec("StepCount", "count", 5, "2024-03-01 12:00:00 -0800", "2024-03-01 11:00:00 -0800")
        + rec("StepCount", "count", 6, "2024-03-01 13:00:00 -0800", src='sourceName="two\nlines"')
        + rec("StepCount", "count", 7, "2024-03-01 14:00:00 -0800", src='sourceName="&bogus;"')
        + rec("StepCount", "count", 8, "2024-03-01 15:00:00 -0800")
    )
    moved = re.sub(r'<Record (type="[^"]*")(.*) value="([^"]*)"', r'<Record value="\3" \1\2', body)
    assert moved != body and moved.count("value=") == body.count("value=")
    fast, fast_report = parse(export(body))
    slow, slow_report = parse(export(moved))

    def key(item):
        return (item.metric, item.start, item.value)

    assert len(fast) == 10
    assert sorted(fast, key=key) == sorted(slow, key=key)
    assert [s.source.origin for s in fast if s.value == 6] == ["two lines"]
    assert fast_report.malformed == [{"line": 26, "message": "undefined entity"}]
    assert fast_report.as_dict() == slow_report.as_dict()


def test_an_export_read_in_small_chunks_gives_the_same_records(monkeypatch):
    """Reads end before a chunk's last record, which starts the next one (records split
    by a read would go to expat, out of order); chunks without a record, or one record
    longer than a chunk, are read whole."""
    from imports.apple_health import parser

    body = "".join(
        rec("HeartRate", "count/min", 60 + n, f"2024-03-01 08:{n:02}:00 -0800") for n in range(40)
    ) + (
        ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30" '
        'durationUnit="min" sourceName="Watch" startDate="2024-03-01 09:00:00 -0800" '
        'endDate="2024-03-01 09:30:00 -0800">\n'
        + "".join(
            f'  <MetadataEntry key="HKIndoorWorkout{n}" value="{"x" * 50}"/>\n' for n in range(20)
        )
        + " </Workout>\n"
        + rec("StepCount", "count", 5, "2024-03-01 12:00:00 -0800")
        + ' <Record type="HKQuantityTypeIdentifierStepCount" value="3" <<broken here\n'
        + rec("StepCount", "count", 6, "2024-03-01 13:00:00 -0800")
    )
    whole, whole_report = parse(export(body))
    assert len(whole) == 43 and len(whole_report.malformed) == 1

    def key(item):
        return (type(item).__name__, item.start)

    for size in (97, 256, 1000):  # shorter than a record, about one, a few
        monkeypatch.setattr(parser, "CHUNK", size)
        chunked, chunked_report = parse(export(body))
        assert sorted(chunked, key=key) == sorted(whole, key=key)
        assert chunked_report.as_dict() == whole_report.as_dict()
    assert chunked == whole  # in document order when chunks hold whole records


def _varied_body(broken: bool) -> str:
    """Records of every shape the fast path reads (instants, intervals, offsets changing
    within a run, fractions, metadata on several lines, runs of one source and of many),
    records it leaves to expat (unknown types, other layouts, sleep, heart rate
    variability with its beats), and, if `broken`, records it cannot read and a
    malformed region."""
    metadata = (
        '>\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n'
        '  <MetadataEntry key="HKWasUserEntered" value="1"/>\n </Record'
    )
    beats = (
        ">\n  <HeartRateVariabilityMetadataList>\n"
        + "".join(
            f'   <InstantaneousBeatsPerMinute bpm="{60 + n}" time="9:02:0{n}.09 AM"/>\n'
            for n in range(5)
        )
        + "  </HeartRateVariabilityMetadataList>\n </Record"
    )
    parts = []
    for n in range(30):
        minute = f"2024-03-01 08:{n:02}:00 -0800"
        later = f"2024-03-01 09:{n:02}:30 -0800"
        parts += [
            rec("HeartRate", "count/min", 60 + n, minute).replace("/>", metadata + ">"),
            rec("HeartRate", "count/min", 61 + n, minute, src=PHONE),
            rec("StepCount", "count", n, minute, later),
            rec("StepCount", "count", n, minute, f"2024-03-01 18:{n:02}:30 +0100"),
            rec("OxygenSaturation", "%", f"0.9{n % 10}", minute),
            rec("OxygenSaturation", "%", 90 + n, minute),
            rec("EnvironmentalAudioExposure", "dBASPL", 62, minute),
            rec("HeartRateVariabilitySDNN", "ms", 40 + n, minute, later).replace("/>", beats + ">"),
            sleep("AsleepCore", minute, later),
            rec("BodyMass", "lb", "154.2", later, src=f'sourceName="Scale {n}"'),
        ]
        if broken and n % 7 == 3:
            parts += [
                rec("BodyMass", "kg", "70", "2024-02-30 07:00:00 +0100"),  # no such day
                rec("BodyMass", "kg", "7O", "2024-03-03 07:00:00 +0100"),  # not a number
                rec("StepCount", "count", 7, minute, src='sourceName="&bogus;"'),
            ]
        if broken and n == 17:
            parts.append(' <Record type="HKQuantityTypeIdentifierStepCount" value="3" <<broken\n')
        if broken and n == 20:  # a record of 70 lines: read a record at a time too
            many = "".join(f'\n  <MetadataEntry key="k{m}" value="v"/>' for m in range(69))
            parts.append(
                rec("HeartRate", "count/min", 99, minute).replace("/>", f">{many}\n </Record>")
            )
    return "".join(parts)


def test_the_fast_path_reads_what_the_record_at_a_time_path_reads(monkeypatch):
    """A chunk's quantity records are read in one loop over what re.split returns
    (`_QuantityRecords.split`); a chunk with a record that loop cannot read is read again
    a record at a time (`record`), which leaves such records to expat. Both give the same
    rows in the same order, the same report and the same malformed regions, in chunks
    of any size."""
    from imports.apple_health import parser

    def refuse(self, chunk):
        raise ValueError("read a record at a time")

    for broken in (False, True):
        data = export(_varied_body(broken))
        for size in (parser.CHUNK, 4096, 1000, 256):
            monkeypatch.setattr(parser, "CHUNK", size)
            with monkeypatch.context() as patched:
                patched.setattr(parser._QuantityRecords, "split", refuse)
                slow, slow_report = parse(data, batch=50)
            fast, fast_report = parse(data, batch=50)
            assert fast == slow
            assert fast_report.as_dict() == slow_report.as_dict()
            assert fast_report.types == slow_report.types
            assert list(fast_report.types) == list(slow_report.types)  # first seen first
        assert len(samples(fast)) == 30 * 8 + broken
        assert bool(fast_report.malformed) == broken


def test_the_split_expression_matches_what_the_record_expression_reads():
    """`_QUANTITY_SPLIT` (fewer groups, known types only, possessive) matches exactly the
    records `_QUANTITY_RECORD` matches with a known type, ending at the same place."""
    from imports.apple_health.mapping import QUANTITY_METRICS
    from imports.apple_health.parser import _QUANTITY_RECORD, _QUANTITY_SPLIT

    odd = (
        ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="x" unit="count" '
        'startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:00 -08000" value="1"/>\n'
        ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="x" unit="count" '
        'startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:00 -0800" value="1">'
        "</Record>\n"
        ' <Record type="HKQuantityTypeIdentifierStepCounter" sourceName="x" unit="count" '
        'startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:00:00 -0800" value="1"/>\n'
        ' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="<Record type=" '
        'unit="count/min" startDate="2024-03-01 08:00:00 -0800" '
        'endDate="2024-03-01 08:00:00 -0800" value="1"/>\n'
    )
    data = export(_varied_body(True) + odd)
    old = [
        match.span()
        for match in _QUANTITY_RECORD.finditer(data)
        if match.group(1).decode() in QUANTITY_METRICS
    ]
    assert len(old) > 200
    assert [match.span() for match in _QUANTITY_SPLIT.finditer(data)] == old


def test_beats_are_cut_without_changing_anything_read(monkeypatch):
    """Heart rate variability beats in Apple's layout are cut from what expat is fed:
    the same records, report and malformed regions (line numbers too) as when expat
    parses them, in chunks of any size (a record whose beats were cut is never read
    again from the rest of a chunk)."""
    from imports.apple_health import parser

    odd_beats = (
        ' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="x" '
        'unit="ms" startDate="2024-03-01 08:00:00 -0800" endDate="2024-03-01 08:01:00 -0800" '
        'value="41">\n  <HeartRateVariabilityMetadataList>\n'
        '   <InstantaneousBeatsPerMinute time="9:02:04.09 AM" bpm="65"/>\n'  # another order
        '   <InstantaneousBeatsPerMinute bpm="6<5" time="9:02:05.02 AM"/>\n'  # malformed
        "  </HeartRateVariabilityMetadataList>\n </Record>\n"
    )
    data = export(_varied_body(True) + odd_beats + _varied_body(False))
    for size in (parser.CHUNK, 4096, 1000, 256):
        monkeypatch.setattr(parser, "CHUNK", size)
        with monkeypatch.context() as patched:
            patched.setattr(parser, "_BEATS", re.compile(b"(?!)"))  # never matches
            kept, kept_report = parse(data, batch=50)
        cut, cut_report = parse(data, batch=50)
        assert cut == kept
        assert cut_report.as_dict() == kept_report.as_dict()
    assert len(cut_report.malformed) == 6  # 4 undefined entities, 2 broken regions
