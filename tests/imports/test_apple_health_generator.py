"""The simulated Apple Health export: well-formed, deterministic, counted, realistic."""

import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter, defaultdict
from datetime import date, datetime

import pytest

from imports.apple_health.generator import MEMBER_XML, generate_export, main

# 2024-03-02 .. 2024-03-31: PST, then PDT from March 10; Berlin from March 23, where
# summer time starts on March 31 (the night before the flight home).
DAYS, END = 30, date(2024, 3, 31)
WATCH, PHONE = "Alice\u2019s Apple Watch", "Alice\u2019s iPhone"
MEMBER = re.compile(r"^apple_health_export/(export\.xml|workout-routes/route_[\w.-]+\.gpx)$")


def _date(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", text), text
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")


def _scan(stream) -> dict:
    """One pass over an export.xml: what an importer would count and check."""
    top = Counter()
    records, nested, correlations, workouts = Counter(), Counter(), Counter(), Counter()
    offsets, sources, devices = Counter(), Counter(), {}
    steps = defaultdict(list)  # source -> [(start, end, value)]
    routes, summaries, first = [], {}, []
    unique = set()
    per_day = defaultdict(lambda: [0.0, 0, 0])  # deduplicated kcal, exercise, stood hours
    stack: list[str] = []
    for event, el in ET.iterparse(stream, events=("start", "end")):  # noqa: S314 - ours
        if event == "start":
            if len(stack) == 1 and len(first) < 2:
                first.append(el.tag)
            stack.append(el.tag)
            continue
        stack.pop()
        parent = stack[-1] if stack else None
        if parent == "HealthData":
            top[el.tag] += 1
        if el.tag == "Record" and parent == "HealthData":
            kind = el.get("type")
            records[kind] += 1
            sources[el.get("sourceName")] += 1
            devices.setdefault(el.get("sourceName"), el.get("device"))
            start, end = _date(el.get("startDate")), _date(el.get("endDate"))
            _date(el.get("creationDate"))
            assert start <= end, el.attrib
            offsets[el.get("startDate")[-5:]] += 1
            if kind == "HKQuantityTypeIdentifierStepCount":
                steps[el.get("sourceName")].append((start, end, int(el.get("value"))))
            key = tuple(sorted(el.attrib.items()))
            if key not in unique:
                unique.add(key)
                day = per_day[el.get("startDate")[:10]]
                if kind.endswith("ActiveEnergyBurned"):
                    day[0] += float(el.get("value"))
                elif kind.endswith("AppleExerciseTime"):
                    day[1] += int(el.get("value"))
                elif el.get("value") == "HKCategoryValueAppleStandHourStood":
                    day[2] += 1
            el.clear()
        elif el.tag == "Record" and parent == "Correlation":
            nested[el.get("type")] += 1
        elif el.tag == "Correlation":
            correlations[el.get("type")] += 1
            el.clear()
        elif el.tag == "FileReference":
            routes.append(el.get("path"))
        elif el.tag == "Workout":
            workouts[el.get("workoutActivityType")] += 1
            el.clear()
        elif el.tag == "ActivitySummary":
            summaries[el.get("dateComponents")] = dict(el.attrib)
    return {
        "top": top,
        "records": records,
        "nested": nested,
        "correlations": correlations,
        "workouts": workouts,
        "offsets": offsets,
        "sources": sources,
        "devices": devices,
        "steps": steps,
        "routes": routes,
        "summaries": summaries,
        "per_day": per_day,
        "first": first,
    }


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "export.zip"
    counts = generate_export(path, seed=3, days=DAYS, end=END)
    with zipfile.ZipFile(path) as archive:
        with archive.open(MEMBER_XML) as stream:
            scan = _scan(stream)
        with archive.open(MEMBER_XML) as stream:
            head = stream.read(8192)
    return {"path": path, "counts": counts, "scan": scan, "head": head}


def test_well_formed_with_its_dtd(export):
    head = export["head"].decode()
    assert head.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [')
    doctype = head[: head.index("]>")]
    assert "<!ATTLIST Record" in doctype and "<!ENTITY" not in doctype
    assert '<HealthData locale="en_US">' in head
    assert export["scan"]["first"] == ["ExportDate", "Me"]  # iterparse read all of it


def test_counts_match_the_file(export):
    counts, scan = export["counts"], export["scan"]
    assert counts["records"] == dict(scan["records"])
    assert counts["correlations"] == dict(scan["correlations"])
    assert counts["correlation_records"] == dict(scan["nested"])
    assert counts["workouts"] == dict(scan["workouts"])
    assert counts["activity_summaries"] == len(scan["summaries"]) == DAYS
    assert counts["sources"] == dict(scan["sources"])
    assert counts["routes"] == len(scan["routes"]) > 0
    assert counts["total_records"] == scan["top"]["Record"]
    assert counts["total_elements"] == sum(
        scan["top"][tag] for tag in ("Record", "Correlation", "Workout", "ActivitySummary")
    )
    with zipfile.ZipFile(export["path"]) as archive:
        assert counts["xml_bytes"] == archive.getinfo(MEMBER_XML).file_size


def test_realistic_content(export):
    counts, records = export["counts"], export["scan"]["records"]
    q = "HKQuantityTypeIdentifier"
    for kind in (
        "HeartRate",
        "RestingHeartRate",
        "HeartRateVariabilitySDNN",
        "ActiveEnergyBurned",
        "BasalEnergyBurned",
        "FlightsClimbed",
        "AppleExerciseTime",
        "OxygenSaturation",
        "RespiratoryRate",
        "BodyMass",
        "BodyFatPercentage",
        "DietaryEnergyConsumed",
    ):
        assert records[q + kind] > 0, kind
    # Sunday mornings at home: March 3, 10 and 17 (the 24th is in Berlin, the 31st a flight).
    assert counts["correlations"]["HKCorrelationTypeIdentifierBloodPressure"] == 3
    assert counts["correlations"]["HKCorrelationTypeIdentifierFood"] >= 3 * (DAYS - 1)
    # Correlation children also appear as top-level records, as in real exports.
    assert (
        records[q + "BloodPressureSystolic"]
        == counts["correlation_records"][q + "BloodPressureSystolic"]
    )
    assert counts["workouts"]["HKWorkoutActivityTypeRunning"] >= 4
    assert counts["duplicates"] > 0
    assert "HKCategoryTypeIdentifierHandwashingEvent" in counts["unknown_types"]
    assert counts["trip"] == ["2024-03-23", "2024-03-30"]


def test_raw_details(export):
    """Escaping, the Apple quirks, sleep styles: as bytes in the file."""
    with zipfile.ZipFile(export["path"]) as archive:
        xml = archive.read(MEMBER_XML).decode()
    assert 'device="&lt;&lt;HKDevice: 0x' in xml and "<<HKDevice" not in xml
    assert f'sourceName="{WATCH}"' in xml
    assert re.search(r'OxygenSaturation"[^>]* unit="%"[^>]* value="0\.\d+"', xml)
    assert re.search(r'BodyMass"[^>]* unit="lb"', xml) and re.search(
        r'BodyMass"[^>]* unit="kg"', xml
    )
    assert 'unit="Cal"' in xml and 'unit="kJ"' in xml
    assert '<MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>' in xml
    assert re.search(
        r'<InstantaneousBeatsPerMinute bpm="\d+" time="\d{1,2}:\d\d:\d\d\.\d\d [AP]M"/>', xml
    )
    for stage in ("InBed", "AsleepCore", "AsleepDeep", "AsleepREM", "Awake", "AsleepUnspecified"):
        assert f'value="HKCategoryValueSleepAnalysis{stage}"' in xml, stage
    assert 'value="HKCategoryValueSleepAnalysisAsleep"' in xml  # before iOS 16
    for child in ("WorkoutEvent", "WorkoutStatistics", "WorkoutRoute", "FileReference"):
        assert f"<{child} " in xml, child
    device = export["scan"]["devices"][WATCH]
    assert device.startswith("<<HKDevice: 0x") and device.endswith(", software:10.3>")
    assert "hardware:Watch6,2" in device


def test_phone_and_watch_steps_overlap(export):
    steps = export["scan"]["steps"]
    watch, phone = steps[WATCH], steps[PHONE]
    assert watch and phone
    overlapping = sum(1 for a0, a1, _ in phone for b0, b1, _ in watch if a0 < b1 and b0 < a1)
    assert overlapping > len(phone) // 2
    assert sum(v for *_, v in phone) < sum(v for *_, v in watch)  # the phone undercounts


def test_offsets_follow_dst_and_the_trip(export):
    offsets = export["scan"]["offsets"]
    assert {"-0800", "-0700", "+0100", "+0200"} <= set(offsets)
    assert set(offsets) == {"-0800", "-0700", "+0100", "+0200"}


def test_activity_summaries_agree_with_the_records(export):
    scan = export["scan"]
    for day, summary in scan["summaries"].items():
        kcal, exercise, stood = scan["per_day"][day]
        assert float(summary["activeEnergyBurned"]) == pytest.approx(kcal, abs=0.01), day
        assert int(summary["appleExerciseTime"]) == exercise, day
        assert int(summary["appleStandHours"]) == stood, day
        assert summary["activeEnergyBurnedUnit"] == "Cal"


def test_zip_members_and_routes(export):
    with zipfile.ZipFile(export["path"]) as archive:
        names = archive.namelist()
        assert names[0] == MEMBER_XML
        assert all(MEMBER.match(name) for name in names), names
        referenced = {f"apple_health_export{path}" for path in export["scan"]["routes"]}
        assert referenced == set(names) - {MEMBER_XML}
        route = archive.read(sorted(referenced)[0])
    gpx = ET.fromstring(route)  # noqa: S314 - our own file
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert gpx.get("version") == "1.1"
    points = gpx.findall(".//g:trkpt", ns)
    assert len(points) > 100
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", points[0].find("g:time", ns).text)
    assert -90 < float(points[0].get("lat")) < 90 and points[0].find("g:ele", ns) is not None


def test_deterministic(tmp_path):
    def run(name, seed):
        path = tmp_path / name
        generate_export(path, seed=seed, days=4, end=date(2024, 3, 12))
        return path.read_bytes()

    first, again, other = run("a.zip", 5), run("b.zip", 5), run("c.zip", 6)
    assert first == again
    assert first != other
    xml_a = tmp_path / "a.xml"
    xml_b = tmp_path / "b.xml"
    generate_export(xml_a, seed=5, days=4, end=date(2024, 3, 12), zip=False)
    generate_export(xml_b, seed=5, days=4, end=date(2024, 3, 12), zip=False)
    assert xml_a.read_bytes() == xml_b.read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.read(MEMBER_XML) == xml_a.read_bytes()


def test_bare_xml_and_heart_rate_rate(tmp_path):
    path = tmp_path / "export.xml"
    sparse = generate_export(path, days=3, zip=False, routes=False, watch_hr_every_minutes=10)
    assert not (tmp_path / "workout-routes").exists()
    with open(path, "rb") as stream:
        assert dict(_scan(stream)["records"]) == sparse["records"]
    dense = generate_export(path, days=3, zip=False, watch_hr_every_minutes=1)
    hr = "HKQuantityTypeIdentifierHeartRate"
    # Background samples every minute instead of every 10 (workouts: every 5 s in both).
    assert dense["records"][hr] - sparse["records"][hr] > 3 * 1000
    # Beside a bare export.xml, the routes are where an unpacked export has them.
    gpx = sorted(p.name for p in (tmp_path / "workout-routes").iterdir())
    assert len(gpx) == dense["routes"] > 0
    assert all(name.startswith("route_2024-03-") and name.endswith(".gpx") for name in gpx)


def test_command_line(tmp_path, capsys):
    out = tmp_path / "cli.zip"
    assert main([str(out), "--days", "2", "--seed", "9", "--hr-every", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == generate_export(
        tmp_path / "again.zip", seed=9, days=2, watch_hr_every_minutes=3
    )
    assert zipfile.is_zipfile(out)


def test_rejects_nonsense(tmp_path):
    with pytest.raises(ValueError):
        generate_export(tmp_path / "x.zip", days=0)
    with pytest.raises(ValueError):
        generate_export(tmp_path / "x.zip", watch_hr_every_minutes=0)
