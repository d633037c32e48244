"""Workout routes: the GPX files an export.zip's workouts refer to, read from the archive
as streams into the workouts' stored routes; unusable ones reported, the workout kept."""

import io
import json
import zipfile
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from accounts.services import access_token_create
from imports.apple_health import routes
from imports.apple_health.generator import generate_export
from imports.apple_health.routes import RouteError, parse_gpx, read_route
from imports.services import apple_health_import
from metrics.models import Workout
from tests.imports.test_apple_health_parser import WATCH, export

# Apple's format, as an export's workout-routes/route_*.gpx has it.
GPX = b"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Apple Health Export" xmlns="http://www.topografix.com/GPX/1/1" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">
 <metadata>
  <time>2024-03-02T02:02:30Z</time>
 </metadata>
 <trk>
  <name>Route 2024-03-01 5:30pm</name>
  <trkseg>
   <trkpt lon="-122.486212" lat="37.769412"><ele>23.481205</ele><time>2024-03-02T01:30:00Z</time>\
<extensions><speed>2.851134</speed><course>91.204411</course><hAcc>2.120015</hAcc>\
<vAcc>1.800112</vAcc></extensions></trkpt>
   <trkpt lon="-122.486150" lat="37.769420"><ele>23.5</ele><time>2024-03-02T01:30:02Z</time>\
<extensions><speed>2.901134</speed><course>92.0</course><hAcc>2.1</hAcc><vAcc>1.8</vAcc>\
</extensions></trkpt>
   <trkpt lon="-122.486090" lat="37.769431"><time>2024-03-02T01:30:04Z</time></trkpt>
  </trkseg>
 </trk>
</gpx>
"""
POINTS = [
    ["2024-03-02T01:30:00Z", 37.769412, -122.486212, 23.5],
    ["2024-03-02T01:30:02Z", 37.76942, -122.48615, 23.5],
    ["2024-03-02T01:30:04Z", 37.769431, -122.48609, None],  # no <ele>
]


SECOND = b'<trkpt lon="-122.486150" lat="37.769420"><ele>23.5</ele>'
HIDDEN = b'<trkpt lon="1.000000" lat="1.000000"><time>2024-03-02T01:29:00Z</time></trkpt>'


def read_points(stream, **limits) -> list:
    """read_route (the stored JSON text) decoded, to compare with parse_gpx."""
    text, count = read_route(stream, **limits)
    points = json.loads(text)
    assert count == len(points)
    return points


# Both readers: the pull parser alone, and Apple's one-line points read as text first.
readers = pytest.mark.parametrize("reader", [parse_gpx, read_points], ids=["pull", "text"])


@readers
def test_a_gpx_track_becomes_compact_points(reader):
    assert reader(io.BytesIO(GPX)) == POINTS


def test_apples_points_are_read_as_text_straight_into_their_stored_form(monkeypatch):
    def not_called(*args, **kwargs):
        raise AssertionError("read by the pull parser")

    monkeypatch.setattr(routes, "parse_gpx", not_called)
    text, count = read_route(io.BytesIO(GPX))
    assert count == 3
    assert text == (
        '[["2024-03-02T01:30:00Z",37.769412,-122.486212,23.5],'
        '["2024-03-02T01:30:02Z",37.769420,-122.486150,23.5],'
        '["2024-03-02T01:30:04Z",37.769431,-122.486090,null]]'
    )
    assert json.loads(text) == POINTS


def test_a_point_split_between_two_reads_is_read_as_text(monkeypatch):
    for size in (64, 100, 333):
        monkeypatch.setattr(routes, "CHUNK", size)
        text, _ = routes._read_apple_route(io.BytesIO(GPX), routes.MAX_ROUTE_BYTES, 1000)
        assert json.loads(text) == POINTS
    # Reads shorter than the XML declaration: read by the pull parser, the same points.
    monkeypatch.setattr(routes, "CHUNK", 7)
    assert read_points(io.BytesIO(GPX)) == POINTS
    # A comment whose "<!" is split between two reads is still seen.
    commented = GPX.replace(b"<metadata>", b"<metadata><!-- " + HIDDEN + b" -->")
    monkeypatch.setattr(routes, "CHUNK", commented.index(b"<!--") + 1)
    assert read_points(io.BytesIO(commented)) == POINTS


@pytest.mark.parametrize(
    "data",
    [
        # What only the pull parser can tell apart: the same points as parse_gpx reads.
        GPX.replace(b"<trkseg>", b"<trkseg><!-- " + HIDDEN + b" -->"),
        GPX.replace(b"<trkseg>", b"<trkseg><![CDATA[" + HIDDEN + b"]]>"),
        GPX.replace(b"<trkseg>", b"<trkseg><?note " + HIDDEN + b"?>"),
        GPX.replace(b"<name>", b"<name note='" + HIDDEN.replace(b"<", b"&lt;") + b"'>"),
        # Points in other forms.
        GPX.replace(SECOND, b'<trkpt lat="37.769420" lon="-122.486150"><ele>23.5</ele>'),
        GPX.replace(SECOND, SECOND.replace(b"<ele>", b"\n    <ele>")),
        GPX.replace(b"<time>2024-03-02T01:30:04Z", b"<time>2024-03-02T01:30:04.000Z"),
        GPX.replace(b'lat="37.769412"', b'lat="37.76941249"'),
        GPX.replace(b"<trkpt", b"<g:trkpt")
        .replace(b"</trkpt", b"</g:trkpt")
        .replace(b"<gpx ", b'<gpx xmlns:g="http://www.topografix.com/GPX/1/1" '),
    ],
    ids=["comment", "cdata", "pi", "quoted", "order", "lines", "fraction", "finer", "prefix"],
)
def test_anything_unusual_is_read_by_the_pull_parser(data):
    with pytest.raises(routes._Unusual):
        routes._read_apple_route(io.BytesIO(data), routes.MAX_ROUTE_BYTES, 1000)
    assert read_points(io.BytesIO(data)) == parse_gpx(io.BytesIO(data))


@readers
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
            b"<gpx><trk><trkseg><trkpt lat='1' lon='1'><time>&lol2;</time></trkpt>"
            b"</trkseg></trk></gpx>",
            "DTD",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE gpx SYSTEM "file:///etc/passwd">\n<gpx/>',
            "DTD",
        ),
        (b"<gpx><trk><trkseg><trkpt lat='1' lon='1'><time>&xxe;</time>", "undefined entity"),
        (GPX[: len(GPX) // 2], "malformed GPX at line"),
        (GPX.replace(b'lat="37.769420"', b'lat="north"'), "valid lat/lon"),
        (GPX.replace(b'lat="37.769420"', b'lat="97.1"'), "outside the globe"),
        (GPX.replace(b"<time>2024-03-02T01:30:02Z</time>", b""), "without a time"),
        (GPX.replace(b"2024-03-02T01:30:02Z", b"yesterday"), "unreadable <time>"),
        (GPX.replace(b"<ele>23.5</ele>", b"<ele>NaN</ele>"), "unreadable <ele>"),
        (GPX.replace(b"2024-03-02T01:30:02Z", b"2024-13-02T01:30:02Z"), "unreadable <time>"),
        (GPX.replace(b"<ele>23.5</ele>", b"<ele>1" + b"0" * 400 + b"</ele>"), "unreadable <ele>"),
        # A point outside the root element, or inside an attribute: not well-formed.
        (GPX.replace(b"<gpx ", HIDDEN + b"<gpx "), "malformed GPX at line 2"),
        (GPX + HIDDEN, "malformed GPX at line 15"),
        (GPX.replace(b"<name>", b"<name note='" + HIDDEN + b"'>"), "malformed GPX at line 7"),
    ],
)
def test_unusable_gpx_is_refused_with_a_reason(reader, data, message):
    with pytest.raises(RouteError, match=message):
        reader(io.BytesIO(data))


@readers
def test_a_dtd_after_a_long_prolog_is_still_refused(reader):
    # The DTD check reads up to the root element, however many chunks that takes.
    data = (
        b'<?xml version="1.0"?>\n<!--'
        + b"x" * 200_000
        + b'-->\n<!DOCTYPE gpx [\n<!ENTITY a "b">\n]>\n<gpx/>'
    )
    with pytest.raises(RouteError, match="DTD"):
        reader(io.BytesIO(data))


@readers
def test_other_namespaces_and_finer_coordinates(reader):
    gpx_1_0 = GPX.replace(
        b"http://www.topografix.com/GPX/1/1", b"http://www.topografix.com/GPX/1/0"
    )
    assert reader(io.BytesIO(gpx_1_0)) == POINTS
    bare = GPX.replace(b' xmlns="http://www.topografix.com/GPX/1/1"', b"")
    assert reader(io.BytesIO(bare)) == POINTS
    finer = GPX.replace(b'lat="37.769412"', b'lat="37.76941249"').replace(
        b'lon="-122.486212"', b'lon="-122.48621151"'
    )
    assert reader(io.BytesIO(finer))[0][1:3] == [37.769412, -122.486212]


@readers
def test_route_files_are_read_within_limits(reader):
    with pytest.raises(RouteError, match="more than 2 points"):
        reader(io.BytesIO(GPX), max_points=2)
    with pytest.raises(RouteError, match="larger than 500 bytes"):
        reader(io.BytesIO(GPX), max_bytes=500)


def workout(start: str, end: str, route: str | None) -> str:
    reference = (
        f'  <WorkoutRoute {WATCH} startDate="{start}" endDate="{end}">'
        f'<FileReference path="{route}"/></WorkoutRoute>\n'
        if route
        else ""
    )
    return (
        f' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="32.5" '
        f'durationUnit="min" {WATCH} startDate="{start}" endDate="{end}">\n'
        f"{reference} </Workout>\n"
    )


WORKOUTS = (
    workout("2024-03-01 17:30:00 -0800", "2024-03-01 18:02:30 -0800", "/workout-routes/good.gpx")
    + workout("2024-03-02 17:30:00 -0800", "2024-03-02 18:00:00 -0800", "/workout-routes/bad.gpx")
    + workout("2024-03-03 17:30:00 -0800", "2024-03-03 18:00:00 -0800", "/workout-routes/gone.gpx")
    + workout("2024-03-04 17:30:00 -0800", "2024-03-04 18:00:00 -0800", "/../../etc/passwd.gpx")
    + workout("2024-03-05 17:30:00 -0800", "2024-03-05 18:00:00 -0800", None)
)


@pytest.fixture
def export_zip(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("apple_health_export/export.xml", export(WORKOUTS))
        archive.writestr("apple_health_export/workout-routes/good.gpx", GPX)
        archive.writestr("apple_health_export/workout-routes/bad.gpx", GPX[:300])
        # Not referenced by any workout (and broken): never read, never reported.
        archive.writestr("apple_health_export/workout-routes/unused.gpx", b"<gpx><oops")
    return path


def by_day(user) -> dict[int, Workout]:
    return {w.start.day: w for w in Workout.objects.filter(data_source__user=user)}


@pytest.mark.django_db
def test_referenced_routes_are_stored_and_bad_ones_reported(user, export_zip):
    result = apple_health_import(user=user, path=export_zip)
    assert result["workouts"]["created"] == 5  # every workout kept
    workouts = by_day(user)
    assert workouts[2].route == POINTS  # 1 March, 17:30 in California: 2 March UTC
    assert [workouts[day].route for day in (3, 4, 5, 6)] == [None] * 4
    routes = result["routes"]
    assert (routes["attached"], routes["points"], routes["problem_count"]) == (1, 3, 3)
    problems = {p["file"]: p["message"] for p in routes["problems"]}
    assert problems.keys() == {
        "/workout-routes/bad.gpx",
        "/workout-routes/gone.gpx",
        "/../../etc/passwd.gpx",
    }
    assert problems["/workout-routes/bad.gpx"].startswith("malformed GPX at line")
    assert problems["/workout-routes/gone.gpx"] == "not in the archive"
    assert problems["/../../etc/passwd.gpx"] == "not a workout-routes/*.gpx reference"

    again = apple_health_import(user=user, path=export_zip)
    assert (again["workouts"]["created"], again["workouts"]["updated"]) == (0, 0)
    assert again["workouts"]["unchanged"] == 5
    assert by_day(user)[2].route == POINTS


@pytest.mark.django_db
def test_a_bare_export_xml_keeps_its_workouts_without_routes(user, tmp_path):
    path = tmp_path / "export.xml"
    path.write_bytes(export(WORKOUTS))
    (tmp_path / "workout-routes").mkdir()  # beside it on disk: never read
    (tmp_path / "workout-routes" / "good.gpx").write_bytes(GPX)
    result = apple_health_import(user=user, path=path)
    assert result["workouts"]["created"] == 5
    assert all(w.route is None for w in by_day(user).values())
    assert result["routes"]["attached"] == 0
    assert result["routes"]["problems"][0] == {
        "file": "/workout-routes/good.gpx",
        "message": "route files come only with an export.zip",
    }


@pytest.mark.django_db
def test_the_route_is_served_on_the_workouts_detail(user, export_zip):
    apple_health_import(user=user, path=export_zip)
    raw = access_token_create(user=user, name="t", scope="read").raw
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    workout_id = by_day(user)[2].id
    listed = api.get("/api/v1/workouts/").json()["results"]
    assert all("route" not in w for w in listed)
    assert api.get(f"/api/v1/workouts/{workout_id}/").json()["route"] == POINTS


@pytest.mark.django_db
def test_the_command_reports_routes_kept_out(user, export_zip, capsys):
    call_command("import_apple_health", str(export_zip), "--user", user.email)
    out = capsys.readouterr().out
    assert "1 workout routes read." in out
    assert "Kept a workout without its route /workout-routes/gone.gpx: not in the archive" in out


@pytest.mark.django_db
def test_the_generators_routes_are_all_attached(user, tmp_path):
    path = tmp_path / "export.zip"
    counts = generate_export(path, days=14, end=date(2024, 3, 31), watch_hr_every_minutes=30)
    assert counts["routes"] > 0
    result = apple_health_import(user=user, path=path)
    assert result["routes"]["attached"] == counts["routes"]
    assert result["routes"]["problem_count"] == 0
    routed = Workout.objects.filter(data_source__user=user, route__isnull=False)
    assert routed.count() == counts["routes"]
    for workout in routed:
        times = [point[0] for point in workout.route]
        assert times == sorted(times)
        assert workout.start.isoformat().replace("+00:00", "Z") <= times[0]
        assert times[-1] <= workout.end.isoformat().replace("+00:00", "Z")


@pytest.mark.django_db
def test_the_jobs_report_lists_the_routes_kept_out(
    user_client, export_zip, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    upload = SimpleUploadedFile("export.zip", export_zip.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post("/imports/", {"file": upload})
    page = user_client.get(response["Location"]).content.decode()
    assert "Workouts: 5 new, 1 with a route." in page
    assert "/workout-routes/gone.gpx: not in the archive" in page


@pytest.mark.django_db
def test_a_route_member_whose_data_is_damaged_is_reported(user, tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("apple_health_export/export.xml", export(WORKOUTS))
        archive.writestr("apple_health_export/workout-routes/good.gpx", GPX * 4)
    data = bytearray(path.read_bytes())
    name = b"apple_health_export/workout-routes/good.gpx"
    start = data.index(b"PK\x03\x04" + data[data.index(name) - 26 : data.index(name)]) + 30
    data[start + len(name) + 10 : start + len(name) + 60] = b"\x00" * 50  # inflate fails
    path.write_bytes(bytes(data))
    result = apple_health_import(user=user, path=path)
    assert result["workouts"]["created"] == 5
    assert all(w.route is None for w in by_day(user).values())
    problem = result["routes"]["problems"][0]
    assert problem["file"] == "/workout-routes/good.gpx"
    assert problem["message"].startswith("unreadable")
