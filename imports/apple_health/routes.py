"""Workout routes: the GPX files of an export.zip's ``workout-routes/`` folder.

A Workout element names its route with ``<FileReference path="/workout-routes/x.gpx"/>``
(the parser keeps it as ``route=[{"file": path}]``). Here each referenced file is looked
up in the archive's own listing (never as a path on disk, never extracted), read as a
stream from its member with a size and point limit, and parsed with the C-accelerated
ElementTree pull parser once expat has checked that there is no DTD (so no entity
declarations either, and nothing external fetched).
The workout then carries its points in the stored form of ``Workout.route``:
``[[UTC ISO time, latitude, longitude, elevation m | None], ...]`` (6 decimals for the
position, about 0.1 m; elevation to 0.1 m), as JSON text (RouteJSON).

Apple writes every track point on one line, always in the same form; those are read
straight from the bytes with one regular expression into that JSON text, several times
faster than building elements and then Python lists to encode. Everything else in the
file still goes through the pull parser, which checks it is well-formed; a file with
anything unusual (a point in another form, a comment, a DTD) is read again, wholly by
the pull parser, so the result is the same either way.

A route that is missing, too large or malformed is reported (file and reason) and the
workout is kept without a route; nothing else is lost.
"""

import json
import math
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import IO
from xml.etree.ElementTree import ParseError, XMLPullParser
from xml.parsers import expat

from metrics.schemas import RouteJSON, WorkoutIn

EXPORT_DIR = "apple_health_export"
# What a FileReference may name: a .gpx file directly in workout-routes/.
_REFERENCE = re.compile(r"^/?(workout-routes/[^/\\]+\.gpx)$")
MAX_ROUTE_BYTES = 64 * 1024**2  # uncompressed, per file (a 10-hour track is ~4 MB)
MAX_ROUTE_POINTS = 200_000  # ~55 hours at Apple's one point a second
CHUNK = 64 * 1024
MAX_REPORTED = 100


class RouteError(ValueError):
    """A route file that cannot be used (missing, too large, malformed)."""


@dataclass
class RouteReport:
    attached: int = 0
    points: int = 0
    problems: list[dict] = field(default_factory=list)  # {"file", "message"}
    problem_count: int = 0

    def problem(self, name: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append({"file": name, "message": message})

    def as_dict(self) -> dict:
        return {
            "attached": self.attached,
            "points": self.points,
            "problems": self.problems,
            "problem_count": self.problem_count,
        }


def route_reference(workout: WorkoutIn) -> str | None:
    """The file a parsed workout refers to (the parser's ``[{"file": path}]``), if any."""
    route = workout.route
    if route and isinstance(route, list) and isinstance(route[0], dict):
        return route[0].get("file") or None
    return None


def route_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's GPX members by the name a FileReference uses
    (``workout-routes/x.gpx``), from its central directory."""
    prefix = f"{EXPORT_DIR}/"
    members = {}
    for info in archive.infolist():
        name = info.filename
        if name.startswith(prefix) and _REFERENCE.match(name[len(prefix) :]):
            members[name[len(prefix) :]] = info
    return members


def workouts_with_routes(
    workouts: Iterable[WorkoutIn],
    *,
    archive: zipfile.ZipFile | None,
    report: RouteReport,
) -> Iterator[WorkoutIn]:
    """Each workout with its route's points in place of the file reference (or without a
    route, reported, when the file is missing or unusable). Lazily, one workout at a
    time, so only one route is in memory while the workouts are written."""
    members = route_members(archive) if archive is not None else {}
    for workout in workouts:
        reference = route_reference(workout)
        if reference is None:
            if workout.route is not None and not _is_points(workout.route):
                workout = replace(workout, route=None)
            yield workout
            continue
        route = None
        try:
            route, count = _route_for(reference, archive, members)
        except RouteError as exc:
            report.problem(reference[:200], str(exc))
        else:
            if count:
                report.attached += 1
                report.points += count
            else:
                route = None
        yield replace(workout, route=route)


@contextmanager
def routes_attached(path, workouts: Iterable[WorkoutIn], report: RouteReport):
    """`workouts_with_routes` over the export at `path` (an export.zip, opened again from
    its own central directory; a bare export.xml has no route files)."""
    archive = zipfile.ZipFile(path) if zipfile.is_zipfile(path) else None
    try:
        yield workouts_with_routes(workouts, archive=archive, report=report)
    finally:
        if archive is not None:
            archive.close()


def _is_points(route) -> bool:
    if isinstance(route, RouteJSON):
        return True
    return isinstance(route, list) and all(isinstance(p, list) for p in route)


def _route_for(
    reference: str, archive: zipfile.ZipFile | None, members: dict[str, zipfile.ZipInfo]
) -> tuple[RouteJSON, int]:
    found = _REFERENCE.match(reference)
    if found is None:
        raise RouteError("not a workout-routes/*.gpx reference")
    if archive is None:
        raise RouteError("route files come only with an export.zip")
    info = members.get(found.group(1))
    if info is None:
        raise RouteError("not in the archive")
    if info.file_size > MAX_ROUTE_BYTES:
        raise RouteError(f"larger than {MAX_ROUTE_BYTES:,} bytes")
    try:
        with archive.open(info) as stream:
            return read_route(stream)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise RouteError(f"unreadable: {exc}"[:200]) from exc


def _utc_text(text: str) -> str:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(text)
    if len(text) == 20 and text[19] == "Z":  # Apple's own form: already what is stored
        return text
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _RootReached(Exception):
    pass


class _Prolog:
    """What comes before the root element, read by expat alone: a DTD (and so any entity
    declaration) can only appear there, and is refused before the document parser sees
    it. Fed the same chunks as that parser until the root element starts."""

    def __init__(self):
        self.parser = expat.ParserCreate()
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.StartElementHandler = self._root
        self.parser.ExternalEntityRefHandler = lambda *args: 0  # never fetch anything

    def passed(self, chunk: bytes) -> bool:
        """False until the root element has started; RouteError for a DTD."""
        try:
            self.parser.Parse(chunk, not chunk)
        except _RootReached:
            return True
        except expat.ExpatError:
            return True  # malformed: the document parser says where
        return False

    @staticmethod
    def _doctype(*args):
        raise RouteError("a DTD in a route file: refused")

    @staticmethod
    def _root(*args):
        raise _RootReached


_SEGMENT = "trkseg"


class _Tags(dict):
    """An element's tag -> what it is to a route, worked out once per tag whatever its
    namespace: for a <trkpt>, the tags of its <time> and <ele> (in its namespace);
    _SEGMENT for a <trkseg>; None for anything else."""

    def __missing__(self, tag: str):
        namespace, _, local = tag.rpartition("}")
        if local == "trkpt":
            kind = (f"{namespace}}}time", f"{namespace}}}ele") if namespace else ("time", "ele")
        else:
            kind = _SEGMENT if local == "trkseg" else None
        self[tag] = kind
        return kind


def _reads(stream: IO[bytes], max_bytes: int) -> Iterator[bytes]:
    """The stream in reads of CHUNK bytes, then b"" at its end; RouteError past max_bytes."""
    read = 0
    while chunk := stream.read(CHUNK):
        read += len(chunk)
        if read > max_bytes:
            raise RouteError(f"larger than {max_bytes:,} bytes")
        yield chunk
    yield b""


def parse_gpx(
    stream: IO[bytes], *, max_bytes: int = MAX_ROUTE_BYTES, max_points: int = MAX_ROUTE_POINTS
) -> list[list]:
    """A GPX document's track points, ``[[time, lat, lon, ele | None], ...]``, read as a
    stream. Raises RouteError for a DTD, an entity, malformed XML or too much of it.

    ElementTree builds each <trkpt> (with its <ele>, <time> and extensions) in C; only
    the finished elements reach Python, each track point emptied once read (what is left
    of it is a bare element, about 100 bytes, until its segment ends)."""
    prolog = _Prolog()
    in_prolog = True
    parser = XMLPullParser(events=("end",))
    tags = _Tags()
    points: list[list] = []
    try:
        for chunk in _reads(stream, max_bytes):
            if in_prolog:
                in_prolog = not prolog.passed(chunk)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for _, element in parser.read_events():
                kind = tags[element.tag]
                if kind is None:
                    continue
                if kind is _SEGMENT:
                    element.clear()  # its emptied track points
                    continue
                if len(points) >= max_points:
                    raise RouteError(f"more than {max_points:,} points")
                points.append(_point(element, *kind))
                element.clear()
            if not chunk:
                return points
    except ParseError as exc:
        line = exc.position[0]
        raise RouteError(f"malformed GPX at line {line}: {expat.ErrorString(exc.code)}") from exc


def read_route(
    stream: IO[bytes], *, max_bytes: int = MAX_ROUTE_BYTES, max_points: int = MAX_ROUTE_POINTS
) -> tuple[RouteJSON, int]:
    """A GPX document's track points in their stored form (the JSON text of
    parse_gpx's list) and how many there are. Raises RouteError as parse_gpx does.
    `stream` must be seekable: a file the fast reader does not take is read again."""
    try:
        return _read_apple_route(stream, max_bytes, max_points)
    except _Unusual:
        stream.seek(0)
    points = parse_gpx(stream, max_bytes=max_bytes, max_points=max_points)
    return RouteJSON(json.dumps(points, separators=(",", ":"))), len(points)


class _Unusual(Exception):
    """Something the fast reader does not handle: the file is read by parse_gpx."""


# Apple's track points, as its exports write them (one line each):
# <trkpt lon="-122.482565" lat="37.772770"><ele>40.738967</ele><time>2021-07-17T15:32:43Z
# </time><extensions><speed>2.241000</speed><course>53.124496</course>...</extensions>
# </trkpt>. Positions must already be JSON numbers within the globe with 1-6 decimals (so
# they are stored as written); the elevation is read as a number and rounded to 0.1 m;
# the time must be Apple's UTC form (checked as a date below); extension values numbers.
# A point in any other form is not matched: it reaches the pull parser, which sends the
# whole file to parse_gpx.
_LAT = rb"-?(?:[1-8]?[0-9]\.[0-9]{1,6}|90\.0{1,6})"
_LON = rb"-?(?:(?:1[0-7][0-9]|[1-9]?[0-9])\.[0-9]{1,6}|180\.0{1,6})"
_APPLE_TRKPT = re.compile(
    rb'<trkpt lon="(' + _LON + rb')" lat="(' + _LAT + rb')">'
    rb"(?:<ele>(-?[0-9]{1,6}(?:\.[0-9]{1,12})?)</ele>)?"
    rb"<time>([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9]Z)</time>"
    rb"(?:<extensions>(?:<([A-Za-z][A-Za-z0-9]{0,30})>[-+.0-9eE]{0,40}</\5>)*</extensions>)?"
    rb"</trkpt>"
)
# In what is left for the pull parser: a comment, CDATA section, DTD or processing
# instruction (any of which could hide text that looks like a track point), or a
# single-quoted attribute value (which could hold one: an Apple point has double quotes).
_STRIDE = 1 + _APPLE_TRKPT.groups  # a split's text between points, then a point's groups
_HIDING_PLACES = re.compile(rb"<[!?]|=\s*'")
_XML_DECLARATION = re.compile(rb"<\?xml [^<>?]*\?>")
_CARRIED = 4096  # a point longer than this is not Apple's one-line form
_MINUTES: set[bytes] = set()  # "2024-03-10T07:15" forms seen to be real dates
_MINUTES_KEPT = 4096


def _read_apple_route(stream: IO[bytes], max_bytes: int, max_points: int) -> tuple[RouteJSON, int]:
    """The fast reader: track points in Apple's form read by _APPLE_TRKPT and turned into
    JSON text directly; the rest of the file (with each point replaced by a "." of text,
    which is only well-formed inside the root element, where a point must be) parsed by
    the pull parser, which must see no other track point. Raises _Unusual otherwise."""
    parser = XMLPullParser(events=("start",))
    parts: list[bytes] = []
    count = 0
    rest = b""
    last = b""  # the end of what was checked before (a "<!" may span two reads)
    first = True
    try:
        for chunk in _reads(stream, max_bytes):
            if chunk:
                block = rest + chunk
                # Up to the last point's start: it may continue in the next read.
                cut = block.rfind(b"<trkpt")
                if cut < 0 or len(block) - cut > _CARRIED:
                    cut = len(block)
                block, rest = block[:cut], block[cut:]
            else:
                block, rest = rest, b""
            # One pass: [text before the first point, its 5 groups, text after it, ...].
            pieces = _APPLE_TRKPT.split(block)
            if len(pieces) > 1:
                count += len(pieces) // _STRIDE
                if count > max_points:
                    raise RouteError(f"more than {max_points:,} points")
                parts.append(_json_points(pieces))
                block = b".".join(pieces[::_STRIDE])
            if first:
                declaration = _XML_DECLARATION.match(block)
                checked = block[declaration.end() :] if declaration else block
                first = False
            else:
                checked = block
            if _HIDING_PLACES.search(checked) or _HIDING_PLACES.search(last + checked[:16]):
                raise _Unusual
            if block:
                last = (last + checked[-16:])[-16:]
                parser.feed(block)
            if not chunk:
                parser.close()
            for _, element in parser.read_events():
                if element.tag.rpartition("}")[2] == "trkpt":
                    raise _Unusual  # a point in another form
    except ParseError:
        raise _Unusual from None  # parse_gpx says where
    return RouteJSON(b",".join(parts).join((b"[", b"]")).decode()), count


def _json_points(pieces: list[bytes | None]) -> bytes:
    """`[time, lat, lon, ele]` JSON arrays of _APPLE_TRKPT.split's points, comma-separated."""
    lons, lats, eles, times = (pieces[group::_STRIDE] for group in (1, 2, 3, 4))
    for minute in {time[:16] for time in times} - _MINUTES:
        try:
            datetime.fromisoformat(minute.decode())
        except ValueError:
            raise _Unusual from None  # (parse_gpx reports the date)
        if len(_MINUTES) >= _MINUTES_KEPT:
            _MINUTES.clear()
        _MINUTES.add(minute)
    return b",".join(
        [
            b'["%s",%s,%s,%.1f]' % (time, lat, lon, float(ele))
            if ele
            else b'["%s",%s,%s,null]' % (time, lat, lon)
            for lon, lat, ele, time in zip(lons, lats, eles, times, strict=True)
        ]
    )


def _point(trkpt, time_tag: str, ele_tag: str) -> list:
    attributes = trkpt.attrib
    try:
        lat, lon = _degrees(attributes["lat"]), _degrees(attributes["lon"])
    except (KeyError, ValueError) as exc:
        raise RouteError("a track point without a valid lat/lon") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise RouteError("a track point outside the globe")
    time, ele = trkpt.findtext(time_tag), trkpt.findtext(ele_tag)
    if time is None:
        raise RouteError("a track point without a time")
    try:
        time = _utc_text(time.strip())
    except ValueError as exc:
        raise RouteError(f"unreadable <time> {time[:40]!r}") from exc
    elevation = None
    if ele is not None:
        try:
            elevation = round(float(ele), 1)
        except ValueError as exc:
            raise RouteError(f"unreadable <ele> {ele[:40]!r}") from exc
        if not math.isfinite(elevation):  # JSON, the stored route, has no NaN or infinity
            raise RouteError(f"unreadable <ele> {ele[:40]!r}")
    return [time, lat, lon, elevation]


def _degrees(text: str) -> float:
    """A latitude or longitude to 6 decimals. Written with 6 or fewer (Apple's form),
    the float read is that number already; round() (slow) only for longer ones."""
    _, dot, decimals = text.partition(".")
    if dot and len(decimals) <= 6 and decimals.isdigit():
        return float(text)
    return round(float(text), 6)
