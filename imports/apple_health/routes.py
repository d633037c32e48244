"""Workout routes: the GPX files of an export.zip's ``workout-routes/`` folder.

A Workout element names its route with ``<FileReference path="/workout-routes/x.gpx"/>``
(the parser keeps it as ``route=[{"file": path}]``). Here each referenced file is looked
up in the archive's own listing (never as a path on disk, never extracted), read as a
stream from its member with a size and point limit, and parsed with the C-accelerated
ElementTree pull parser once expat has checked that there is no DTD (so no entity
declarations either, and nothing external fetched).
The workout then carries its points in the stored form of ``Workout.route``:
``[[UTC ISO time, latitude, longitude, elevation m | None], ...]`` (6 decimals for the
position, about 0.1 m; elevation to 0.1 m).

A route that is missing, too large or malformed is reported (file and reason) and the
workout is kept without a route; nothing else is lost.
"""

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

from metrics.schemas import WorkoutIn

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
        points = None
        try:
            points = _route_for(reference, archive, members)
        except RouteError as exc:
            report.problem(reference[:200], str(exc))
        else:
            if points:
                report.attached += 1
                report.points += len(points)
        yield replace(workout, route=points or None)


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
    return isinstance(route, list) and all(isinstance(p, list) for p in route)


def _route_for(
    reference: str, archive: zipfile.ZipFile | None, members: dict[str, zipfile.ZipInfo]
) -> list[list]:
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
            return parse_gpx(stream)
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
    read = 0
    try:
        while True:
            chunk = stream.read(CHUNK)
            read += len(chunk)
            if read > max_bytes:
                raise RouteError(f"larger than {max_bytes:,} bytes")
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
