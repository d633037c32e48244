"""Streaming parser for Apple Health's export.xml (or export.zip), with no DOM and no
entity expansion: the document's DOCTYPE is dropped before parsing (so no DTD, broken or
not, and no entity declaration ever reaches the parser), stray control characters are
blanked, and a malformed region is reported with its line number and skipped: parsing
resumes at the next record.

It yields batches of normalized records (metrics.schemas) and keeps a report: records
per type, unknown types (counted, never silently dropped), malformed regions.

Quantity records (nearly all of an export) become compact rows while parsing: plain
tuples of SampleIn's fields, `(metric, start, end, value, unit, source, utc_offset)`,
with start and end in whole seconds since the Unix epoch (what samples_ingest accepts
from bulk importers). `export_batches` yields those (pipe.py runs it in a process of
its own); `parse_export_xml` turns them into SampleIn.
"""

import re
import zipfile
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import IO
from xml.parsers import expat

from imports.apple_health.mapping import (
    FRACTION_METRICS,
    IN_BED,
    MINDFUL_TYPE,
    QUANTITY_METRICS,
    SLEEP_STAGES,
    SLEEP_TYPE,
    TYPE_UNITS,
    UNIT_ALIASES,
    WORKOUT_TYPES,
)
from metrics.schemas import SampleIn, SleepSessionIn, SourceRef, StageIn, WorkoutIn
from metrics.units import convert

KIND = "apple_health"
CHUNK = 1 << 18  # 256 KiB: bigger reads are no faster, and cost memory
SLEEP_GAP = timedelta(hours=2)  # stage records further apart than this: another session
# XML 1.0 forbids these; Apple exports sometimes contain them (in names and metadata):
# each becomes a space (bytes.translate: a table lookup per byte, no regex).
_BLANK_CONTROL = bytes(32 if byte < 32 and byte not in (9, 10, 13) else byte for byte in range(256))
# Those characters, each looked for first (memchr, 29 times: half the time of translate,
# which writes a copy of every read): a chunk without any is used as it is.
_CONTROL = tuple(bytes([byte]) for byte in range(32) if byte not in (9, 10, 13))
_DOCTYPE = re.compile(rb"<!DOCTYPE.*?\]\s*>|<!DOCTYPE[^\[>]*>", re.DOTALL)
_RESUME = re.compile(rb"<(?:Record|Correlation|Workout|ActivitySummary)[\s>/]")
# Device strings: "<<HKDevice: 0x..>, name:Apple Watch, ..., hardware:Watch6,2, software:10.3>"
_HARDWARE = re.compile(r"hardware:(.+?)(?:, |>|$)")
_MODEL = re.compile(r"model:(.+?)(?:, |>|$)")
_ROOT = b"<HealthData>"

EXPECTED_MEMBERS = re.compile(
    r"^apple_health_export/(export\.xml|export_cda\.xml|workout-routes/[^/]+\.gpx"
    r"|electrocardiograms/[^/]+\.csv)$"
)


class MalformedExport(ValueError):
    """The file cannot be read as an Apple Health export at all."""


@dataclass
class ParseReport:
    records: int = 0
    bytes_read: int = 0
    types: Counter = field(default_factory=Counter)
    unknown_types: Counter = field(default_factory=Counter)
    malformed: list[dict] = field(default_factory=list)  # {"line", "message"}
    skipped: Counter = field(default_factory=Counter)  # reason -> count

    def as_dict(self) -> dict:
        return {
            "records": self.records,
            "bytes_read": self.bytes_read,
            "types": dict(self.types),
            "unknown_types": dict(self.unknown_types),
            "malformed": self.malformed[:100],
            "malformed_count": len(self.malformed),
            "skipped": dict(self.skipped),
        }


_OFFSETS: dict[str, tuple[int, timedelta]] = {}  # "-0800" -> (-480, its timedelta)


def parse_apple_date(text: str) -> tuple[datetime, int]:
    """'2024-03-10 07:15:00 -0800' -> (aware UTC datetime, offset in minutes)."""
    try:
        offset, shift = _OFFSETS.get(text[20:]) or _offset(text[20:])
        # The local time read as UTC, then shifted: cheaper than astimezone().
        return datetime.fromisoformat(text[:19] + "+00:00") - shift, offset
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unreadable date {text!r}") from exc


def _offset(suffix: str) -> tuple[int, timedelta]:
    if len(suffix) != 5 or suffix[0] not in "+-":
        raise ValueError(suffix)
    shift = datetime.fromisoformat(f"2000-01-01 00:00:00{suffix}").utcoffset()
    _OFFSETS[suffix] = found = (int(shift.total_seconds()) // 60, shift)
    return found


# "2024-03-10 07 -0800" -> that hour's start in seconds since the epoch. Records come
# sorted by type and time, so a few thousand recent hours answer nearly every date.
_HOURS: dict[str, int] = {}
_HOURS_KEPT = 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def apple_epoch(text: str) -> int:
    """'2024-03-10 07:15:42 -0800' -> seconds since the Unix epoch (1710083742): about a
    third of the cost of parse_apple_date, for the millions of quantity records."""
    hour = _HOURS.get(text[:13] + text[19:])
    if hour is None:
        hour = _hour(text)
    minute, second = text[14:16], text[17:19]
    if (
        len(text) != 25
        or text[13] != ":"
        or text[16] != ":"
        or not (minute + second).isdigit()
        or minute > "59"
        or second > "59"
    ):
        raise ValueError(f"unreadable date {text!r}")
    return hour + int(minute) * 60 + int(second)


def _hour(text: str) -> int:
    moment, _ = parse_apple_date(text[:14] + "00:00" + text[19:])
    if len(_HOURS) >= _HOURS_KEPT:
        _HOURS.clear()
    _HOURS[text[:13] + text[19:]] = hour = (moment - _EPOCH) // timedelta(seconds=1)
    return hour


def apple_offset(text: str) -> int:
    """The offset of an Apple date, in minutes east of UTC."""
    found = _OFFSETS.get(text[20:]) or _offset(text[20:])
    return found[0]


def epoch_datetime(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _source(attrs: dict) -> SourceRef:
    device = attrs.get("device", "")
    model = _HARDWARE.search(device) or _MODEL.search(device)
    return SourceRef(
        KIND, attrs.get("sourceName", "").strip(), model.group(1).strip() if model else ""
    )


class _State:
    """What the expat handlers build while a document streams through."""

    # Sources kept by (sourceName, device): the device string names the object's address
    # ("<<HKDevice: 0x2c09a8a70>, ...") so there are thousands; kept within bounds.
    SOURCES_KEPT = 1024

    def __init__(self, report: ParseReport):
        self.report = report
        self.types = report.types
        # Quantity records: SampleIn-shaped tuples, dates in seconds since the epoch.
        self.rows: list[tuple] = []
        self.out: list = []  # everything else: SampleIn, SleepSessionIn, WorkoutIn
        self.workout: dict | None = None
        self.sleep: dict[SourceRef, dict] = {}
        self.sources: dict[tuple[str, str], SourceRef] = {}  # (sourceName, device) ->

    # -- elements -----------------------------------------------------------------------

    def start(self, name: str, attrs: dict) -> None:
        if name == "Record":
            self.report.records += 1
            kind = attrs.get("type", "")
            self.types[kind] += 1
            try:
                metric = QUANTITY_METRICS.get(kind)
                if metric is not None:
                    self.quantity(metric, kind, attrs)
                else:
                    self.record(kind, attrs)
            except (ValueError, KeyError) as exc:
                self.report.skipped[f"{kind}: {exc}"[:120]] += 1
        elif name == "MetadataEntry":
            return
        elif name == "Workout":
            self.report.records += 1
            self.types["Workout"] += 1
            self.workout = {"attrs": attrs, "stats": {}, "route": None}
        elif name == "WorkoutStatistics" and self.workout is not None:
            self.workout["stats"][attrs.get("type", "")] = attrs
        elif name == "FileReference" and self.workout is not None:
            self.workout["route"] = attrs.get("path")
        elif name == "ActivitySummary":
            self.report.records += 1
            self.types["ActivitySummary"] += 1
            self.activity_summary(attrs)
        elif name == "Correlation":
            self.types[attrs.get("type", "Correlation")] += 1

    def end(self, name: str) -> None:
        if name == "Workout" and self.workout is not None:
            try:
                self.finish_workout(self.workout)
            except (ValueError, KeyError) as exc:
                self.report.skipped[f"Workout: {exc}"[:120]] += 1
            self.workout = None

    def source(self, attrs: dict) -> SourceRef:
        key = (attrs.get("sourceName", ""), attrs.get("device", ""))
        source = self.sources.get(key)
        if source is None:
            if len(self.sources) >= self.SOURCES_KEPT:
                self.sources.clear()
            source = self.sources[key] = _source(attrs)
        return source

    def quantity(self, metric: str, kind: str, attrs: dict) -> None:
        """The hot path: one compact row per quantity record."""
        value = float(attrs["value"])
        unit = _our_unit(kind, attrs.get("unit", ""))
        if unit == "%" and value <= 1.0 and metric in FRACTION_METRICS:
            unit = "1"  # Apple writes 0.97 with the unit "%"
        start_text, end_text = attrs["startDate"], attrs["endDate"]
        start = apple_epoch(start_text)
        end = start if end_text == start_text else apple_epoch(end_text)
        offset = apple_offset(start_text)
        self.rows.append((metric, start, end, value, unit, self.source(attrs), offset))

    def record(self, kind: str, attrs: dict) -> None:
        if kind == SLEEP_TYPE:
            self.sleep_interval(attrs)
        elif kind == MINDFUL_TYPE:
            start, offset = parse_apple_date(attrs["startDate"])
            end, _ = parse_apple_date(attrs["endDate"])
            minutes = (end - start).total_seconds() / 60
            self.out.append(
                SampleIn("mindful_minutes", start, end, minutes, "min", self.source(attrs), offset)
            )
        else:
            self.report.unknown_types[kind] += 1

    def activity_summary(self, attrs: dict) -> None:
        stand = attrs.get("appleStandHours")
        if not stand:
            return
        day = date.fromisoformat(attrs["dateComponents"])
        start = datetime.combine(day, time(), UTC)
        # The summary carries no offset: the user's home zone decides (utc_offset None),
        # and the interval is that local day.
        self.out.append(
            SampleIn(
                "stand_hours", start, start, float(stand), "h", SourceRef(KIND, "Activity"), None
            )
        )

    # -- sleep: stage records of one source become sessions --------------------------------

    def sleep_interval(self, attrs: dict) -> None:
        stage = SLEEP_STAGES.get(attrs.get("value", ""))
        if stage is None:
            self.report.skipped[f"sleep value {attrs.get('value')!r}"[:120]] += 1
            return
        start, _ = parse_apple_date(attrs["startDate"])
        end, end_offset = parse_apple_date(attrs["endDate"])
        source = self.source(attrs)
        current = self.sleep.get(source)
        if current is not None and start > current["end"] + SLEEP_GAP:
            self.finish_sleep(source)
            current = None
        if current is None:
            current = self.sleep[source] = {
                "start": start,
                "end": end,
                "offset": end_offset,
                "stages": [],
            }
        current["start"] = min(current["start"], start)
        if end >= current["end"]:
            current["end"], current["offset"] = end, end_offset
        if stage != IN_BED:
            current["stages"].append(StageIn(stage, start, end))

    def finish_sleep(self, source: SourceRef) -> None:
        session = self.sleep.pop(source)
        self.out.append(
            SleepSessionIn(
                source=source,
                start=session["start"],
                end=session["end"],
                stages=tuple(sorted(session["stages"], key=lambda s: s.start)),
                utc_offset=session["offset"],
            )
        )

    def finish_all_sleep(self) -> None:
        for source in list(self.sleep):
            self.finish_sleep(source)

    # -- workouts -------------------------------------------------------------------------

    def finish_workout(self, workout: dict) -> None:
        attrs, stats = workout["attrs"], workout["stats"]
        kind = attrs.get("workoutActivityType", "")
        activity = WORKOUT_TYPES.get(kind, "other")
        if kind not in WORKOUT_TYPES:
            self.report.unknown_types[kind] += 1
        start, offset = parse_apple_date(attrs["startDate"])
        end, _ = parse_apple_date(attrs["endDate"])

        def stat(suffix: str, key: str, to: str, default=None):
            entry = stats.get(f"HKQuantityTypeIdentifier{suffix}")
            if entry is None or key not in entry:
                return default
            unit = UNIT_ALIASES.get(entry.get("unit", to), entry.get("unit", to))
            return convert(float(entry[key]), unit, to)

        distance = None
        for suffix in ("DistanceWalkingRunning", "DistanceCycling", "DistanceSwimming"):
            distance = stat(suffix, "sum", "m", distance)
        if distance is None and attrs.get("totalDistance"):  # exports before iOS 16
            distance = convert(
                float(attrs["totalDistance"]), attrs.get("totalDistanceUnit", "km"), "m"
            )
        energy = stat("ActiveEnergyBurned", "sum", "kcal")
        if energy is None and attrs.get("totalEnergyBurned"):
            energy = convert(
                float(attrs["totalEnergyBurned"]),
                attrs.get("totalEnergyBurnedUnit", "kcal").replace("Cal", "kcal"),
                "kcal",
            )
        self.out.append(
            WorkoutIn(
                source=self.source(attrs),
                activity_type=activity,
                start=start,
                end=end,
                utc_offset=offset,
                distance_m=distance,
                energy_kcal=energy,
                heart_rate_avg=stat("HeartRate", "average", "/min"),
                heart_rate_max=stat("HeartRate", "maximum", "/min"),
                route=workout["route"] and [{"file": workout["route"]}],
            )
        )


# -- quantity records without expat ----------------------------------------------------
#
# Nearly every element of an export is a quantity record written by Apple on one line
# (heart rate with a MetadataEntry or two), always with the same attributes in the same
# order. Those are read straight from the bytes with one regular expression, which is
# about twice as fast as expat building a dict of every element's attributes; expat
# still parses everything else, and every record the expression does not match exactly.
# A record read here is cut from what expat is fed, leaving only its newlines, so expat
# still sees a well-formed document and malformed regions keep their line numbers.
# Attribute values allow XML's predefined and numeric character references only; the
# ones kept (source, device, unit) are decoded by expat itself, once per distinct value.
_PLAIN = rb'[^"<&\n]*'
_ESCAPED = rb'[^"<&\n]*(?:&(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);[^"<&\n]*)*'
_ASCII = rb'[^"<&\n\x80-\xff]*'  # attributes only skipped: anything else goes to expat
# The type (known ones only are read here) and the source's attributes (the longest, as
# a span checked by expat itself, once per distinct span): about a third less matching.
_ANY = rb'[^"]*'
# A date: its hour, its minute and second, its offset ("2024-03-10 07", "15:42", "-0800").
_DATE = rb"([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}):([0-5][0-9]:[0-5][0-9]) ([+-][0-9]{4})"
_QUANTITY_RECORD = re.compile(
    rb'<Record type="(' + _ANY + rb')" (sourceName="' + _ANY + rb'"'
    rb'(?: sourceVersion="' + _ANY + rb'")?(?: device="' + _ANY + rb'")?)'
    rb' unit="(' + _ESCAPED + rb')"(?: creationDate="' + _ASCII + rb'")?'
    rb' startDate="' + _DATE + rb'" endDate="' + _DATE + rb'" value="(' + _PLAIN + rb')"'
    rb'(?:/>|>(\s*(?:<MetadataEntry key="' + _ASCII + rb'" value="' + _ASCII + rb'"/>\s*)*)'
    rb"</Record>)"
)
_SECOND_OF_HOUR = {f"{m:02}:{s:02}".encode(): m * 60 + s for m in range(60) for s in range(60)}
# The same records, as `_QuantityRecords.split` reads them: split() hands out the text
# between records and the groups, in C, with no match object and no Python call per
# record. Fewer groups (every group is a bytes object per record): the type (known ones
# only: an unknown type is not a match, so it stays in place for expat), source and unit
# are one group, the record's "head" (the cache key: a run of records shares it); an end
# equal to its start (an instant, most records) is matched by a backreference, leaving
# its three groups None. The records matched, and where each one ends, are those of
# _QUANTITY_RECORD with a known type (a test checks it).
_KNOWN_TYPE = b"|".join(  # heart rate first: most records
    re.escape(kind.removeprefix("HKQuantityTypeIdentifier").encode())
    for kind in sorted(
        QUANTITY_METRICS, key=lambda kind: kind != "HKQuantityTypeIdentifierHeartRate"
    )
)
# Possessive (*+): what a `[^"]*` took is never given back (the quote after it could not
# match anything else), which spares the engine its backtracking bookkeeping: ~8% less.
_ANY_P = rb'[^"]*+'
_ASCII_P = rb'[^"<&\n\x80-\xff]*+'
_SOURCE = (
    rb'sourceName="' + _ANY_P + rb'"(?: sourceVersion="' + _ANY_P + rb'")?'
    rb'(?: device="' + _ANY_P + rb'")?'
)
_HEAD = re.compile(  # a head's parts: type, source, unit
    rb"(HKQuantityTypeIdentifier(?:" + _KNOWN_TYPE + rb'))" (' + _SOURCE + rb') unit="('
    + _ESCAPED + rb")"
)  # fmt: skip
_QUANTITY_SPLIT = re.compile(
    rb'<Record type="(HKQuantityTypeIdentifier(?:' + _KNOWN_TYPE + rb')" ' + _SOURCE
    + rb' unit="' + _ESCAPED + rb')"(?: creationDate="' + _ASCII_P + rb'")?'
    rb' startDate="' + _DATE + rb'" endDate="(?:\2:\3 \4|' + _DATE + rb')"'
    rb' value="(' + _PLAIN + rb')"'
    rb'(?:/>|>(\s*+(?:<MetadataEntry key="' + _ASCII_P + rb'" value="' + _ASCII_P + rb'"/>\s*+)*+)'
    rb"</Record>)"
)  # fmt: skip
_SPLIT_GROUPS = _QUANTITY_SPLIT.groups  # 9: head, 3 + 3 of the dates, value, children
# What stays of a record: its newlines (a record of more lines is left to `record`).
_NEWLINES = tuple(b"\n" * n for n in range(64))


class _QuantityRecords:
    """Reads the quantity records of a chunk into `state` (as _State.quantity would);
    returns the chunk without them. A record it cannot read whole (an unreadable value
    or date, say) stays in the chunk for expat, which reports it as before: `split`
    reads a chunk, `record` (one match at a time) reads again any chunk `split` cannot."""

    KEPT = 1024  # entries per cache, at most

    def __init__(self, state: "_State"):
        self.state = state
        self.append, self.count = state.rows.append, state.types  # (rows: never replaced)
        # (type, unit) as written -> (type, metric, our unit), or None: not a quantity.
        self.types: dict[tuple[bytes, bytes], tuple[str, str, str] | None] = {}
        self.sources: dict[bytes, SourceRef] = {}  # sourceName="..." ... device="..." ->
        # (hour, offset) as written -> (the hour's start in epoch seconds, offset minutes)
        self.hours: dict[tuple[bytes, bytes], tuple[int, int]] = {}
        # head (type, source and unit, as written) -> (type, metric, our unit, source,
        # whether a value <= 1 is a fraction labelled "%"), or None: not read here.
        self.heads: dict[bytes, tuple[str, str, str, SourceRef, bool] | None] = {}

    def __call__(self, chunk: bytes) -> bytes:
        rows = self.state.rows
        before = len(rows)
        try:
            chunk = self.split(chunk)
        except (ValueError, IndexError, expat.ExpatError):
            # A record it cannot read whole (rare: a broken export), or of many lines: the
            # chunk again, a record at a time, leaving such records to expat where they are.
            del rows[before:]
            chunk = _QUANTITY_RECORD.sub(self.record, chunk)
        self.state.report.records += len(rows) - before
        return chunk

    def split(self, chunk: bytes) -> bytes:
        """The fast path: every known record of the chunk read, in a loop over what
        split() returned. Raises ValueError (or ExpatError) if one cannot be read, and
        IndexError for a record of more than 64 lines: its value is read before its
        dates, as `record` does (a date error other than ValueError is raised alike)."""
        pieces = _QUANTITY_SPLIT.split(chunk)
        if len(pieces) == 1:
            return chunk
        append, heads, hours = self.append, self.heads, self.hours
        out = [pieces[0]]
        keep = out.append
        runs = []  # (type, records): counted once the chunk is read
        run = len(self.state.rows)
        last_head = last_hour = last_zone = kind = None
        metric = unit = source = fraction = base = offset = None
        records = iter(pieces)
        next(records)
        # A record's groups and the text after it, per iteration (zip reuses its tuple).
        fields = zip(*[records] * (_SPLIT_GROUPS + 1), strict=True)
        for head, hour, second, zone, end_hour, end_second, end_zone, raw, children, text in fields:
            value = float(raw)
            if head != last_head:  # a run of records of one type and source shares it
                found = heads.get(head)
                if found is None:
                    found = self.head(head)  # raises ValueError if not read here
                runs.append((kind, len(self.state.rows) - run))
                run = len(self.state.rows)
                kind, metric, unit, source, fraction = found
                last_head = head
            if hour != last_hour or zone != last_zone:
                base, offset = hours.get((hour, zone)) or self.hour(hour, zone)
                last_hour, last_zone = hour, zone
            start = base + _SECOND_OF_HOUR[second]
            if end_hour is None:  # its end is its start (an instant)
                end = start
            else:
                end = (hours.get((end_hour, end_zone)) or self.hour(end_hour, end_zone))[0]
                end += _SECOND_OF_HOUR[end_second]
            if fraction and value <= 1.0:  # Apple writes 0.97 with the unit "%"
                append((metric, start, end, value, "1", source, offset))
            else:
                append((metric, start, end, value, unit, source, offset))
            if children:
                keep(_NEWLINES[children.count(b"\n")])
            keep(text)
        runs.append((kind, len(self.state.rows) - run))
        count = self.count  # in the order types first appear, as `record` counts them
        for kind, n in runs[1:]:
            count[kind] += n
        return b"".join(out)

    def head(self, head: bytes) -> tuple[str, str, str, SourceRef, bool]:
        """A record's type, source and unit as written -> what its rows carry."""
        found = self.heads.get(head, False)
        if found is False:
            raw_kind, raw_source, raw_unit = _HEAD.fullmatch(head).groups()
            try:
                typed = self.types.get((raw_kind, raw_unit)) or self.type(raw_kind, raw_unit)
                source = self.sources.get(raw_source) or self.source(raw_source)
            except (ValueError, expat.ExpatError):
                typed = None  # (a unit expat refuses: raised again by the slow path)
            if typed is not None:
                kind, metric, unit = typed
                found = (kind, metric, unit, source, unit == "%" and metric in FRACTION_METRICS)
            else:
                found = None
            if len(self.heads) >= self.KEPT:
                self.heads.clear()
            self.heads[head] = found
        if found is None:
            raise ValueError("a record not read here")
        return found

    def record(self, match: re.Match) -> bytes:
        (raw_kind, raw_source, raw_unit, hour, second, zone, end_hour, end_second, end_zone,
         raw_value, children) = match.groups()  # fmt: skip
        try:
            found = self.types[raw_kind, raw_unit]
        except KeyError:
            found = self.type(raw_kind, raw_unit)
        if found is None:
            return match.group()
        kind, metric, unit = found
        try:
            value = float(raw_value)
            hours = self.hours
            start, offset = hours.get((hour, zone)) or self.hour(hour, zone)
            start += _SECOND_OF_HOUR[second]
            if end_second == second and end_hour == hour and end_zone == zone:
                end = start  # an instant (most records)
            else:
                end = (hours.get((end_hour, end_zone)) or self.hour(end_hour, end_zone))[0]
                end += _SECOND_OF_HOUR[end_second]
            source = self.sources.get(raw_source) or self.source(raw_source)
        except (ValueError, expat.ExpatError):
            return match.group()
        if unit == "%" and value <= 1.0 and metric in FRACTION_METRICS:
            unit = "1"  # Apple writes 0.97 with the unit "%"
        self.count[kind] += 1
        self.append((metric, start, end, value, unit, source, offset))
        return b"" if children is None else b"\n" * children.count(b"\n")

    def type(self, raw_kind: bytes, raw_unit: bytes) -> tuple[str, str, str] | None:
        kind = raw_kind.decode(errors="replace")
        metric = QUANTITY_METRICS.get(kind)
        found = None
        if metric is not None:
            found = (
                kind,
                metric,
                _our_unit(kind, _attributes(b'unit="' + raw_unit + b'"')["unit"]),
            )
        if len(self.types) >= self.KEPT:
            self.types.clear()
        self.types[raw_kind, raw_unit] = found
        return found

    def hour(self, hour: bytes, zone: bytes) -> tuple[int, int]:
        moment, offset = parse_apple_date(f"{hour.decode()}:00:00 {zone.decode()}")
        found = ((moment - _EPOCH) // timedelta(seconds=1), offset)
        if len(self.hours) >= self.KEPT:
            self.hours.clear()
        self.hours[hour, zone] = found
        return found

    def source(self, raw: bytes) -> SourceRef:
        if b"\n" in raw:  # (only a record's metadata may span lines here, for line numbers)
            raise ValueError("a line break in an attribute")
        if len(self.sources) >= self.KEPT:
            self.sources.clear()
        self.sources[raw] = source = _source(_attributes(raw))
        return source


# A heart rate variability record's list of beats: dozens per record, ~2/3 of the elements
# expat would otherwise parse (~0.25 s of the parser's CPU at 990 days), and no handler
# reads them. A list in Apple's own layout is cut like a record (its newlines kept), from
# what expat is fed only: never from the rest of a chunk, read again with the next one,
# where its record, its beats gone, would be read without expat, out of its place.
_BEATS = re.compile(
    rb"<HeartRateVariabilityMetadataList>\s*+(?:<InstantaneousBeatsPerMinute bpm=\""
    + _ASCII_P + rb'" time="' + _ASCII_P + rb'"/>\s*+)*+</HeartRateVariabilityMetadataList>'
)  # fmt: skip


def _without_beats(text: bytes) -> bytes:
    if b"<HeartRateVariabilityMetadataList>" not in text:  # most: a far quicker search
        return text
    return _BEATS.sub(_newlines, text)


def _newlines(match: re.Match) -> bytes:
    return b"\n" * match.group().count(b"\n")


def _attributes(raw: bytes) -> dict[str, str]:
    """Attributes as XML reads them (references decoded, UTF-8 checked), by expat."""
    parser = expat.ParserCreate()
    found = {}
    parser.StartElementHandler = lambda name, attrs: found.update(attrs)
    parser.Parse(b"<a " + raw + b"/>", True)
    return found


def _our_unit(kind: str, written: str) -> str:
    unit = TYPE_UNITS.get(kind) or written
    return UNIT_ALIASES.get(unit, unit)


def _new_parser(state: _State) -> expat.XMLParserType:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.ordered_attributes = False
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_entities(*args):
        raise expat.ExpatError("entity declarations are not allowed")

    parser.EntityDeclHandler = refuse_entities
    parser.ExternalEntityRefHandler = lambda *args: 0  # never fetch anything
    parser.StartElementHandler = state.start
    parser.EndElementHandler = state.end
    return parser


@dataclass
class ParsedBatch:
    """What export_batches yields: compact quantity rows (SampleIn-shaped tuples, dates in
    seconds since the epoch) and everything else."""

    rows: list[tuple]
    others: list  # SampleIn, SleepSessionIn, WorkoutIn


def parse_export_xml(
    stream: IO[bytes], *, batch: int = 20_000, report: ParseReport | None = None
) -> Iterator[list]:
    """Stream an export.xml; yield lists of SampleIn / SleepSessionIn / WorkoutIn."""
    report = report or ParseReport()
    for parsed in export_batches(stream, batch=batch, report=report):
        samples = [
            SampleIn(metric, epoch_datetime(start), epoch_datetime(end), *rest)
            for metric, start, end, *rest in parsed.rows
        ]
        yield samples + parsed.others


def export_batches(
    stream: IO[bytes], *, batch: int = 20_000, report: ParseReport | None = None
) -> Iterator[ParsedBatch]:
    """Stream an export.xml; yield ParsedBatch of about `batch` records each."""
    report = report or ParseReport()
    state = _State(report)
    taken = report.records  # records parsed into the batches taken so far

    def take() -> ParsedBatch:
        nonlocal taken
        parsed = ParsedBatch(state.rows.copy(), state.out)
        state.rows.clear()
        state.out, taken = [], report.records
        return parsed

    reader = _Reader(stream, report, _QuantityRecords(state))
    pending = reader.first()
    newlines_before = reader.stripped_newlines  # lines of input before `pending`
    parser, fed = _new_parser(state), 0
    # The last chunks fed: expat may find an error in a token only chunks later.
    recent: deque[bytes] = deque(maxlen=2)
    # After a malformed region: where in `pending` to look for the next record (1: past
    # the broken one it starts with; 0: a chunk read since, which may start with one).
    resync_from: int | None = None
    eof = False
    while True:
        if resync_from is not None:
            found = _RESUME.search(pending, resync_from)
            if found is None:
                if eof:
                    break
                newlines_before += pending.count(b"\n")
                pending, eof = reader.next()
                resync_from = 0
                continue
            newlines_before += pending.count(b"\n", 0, found.start())
            pending = pending[found.start() :]
            parser, fed = _new_parser(state), len(_ROOT)
            parser.Parse(_ROOT, False)
            resync_from = None
        try:
            parser.Parse(pending, eof)
        except expat.ExpatError as exc:
            where = parser.ErrorByteIndex - fed
            if where < 0:  # in an earlier chunk: resume from there
                before = b"".join(recent)[where:]
                newlines_before -= before.count(b"\n")
                pending, where = before + pending, where + len(before)
            line = newlines_before + pending.count(b"\n", 0, where) + 1
            report.malformed.append({"line": line, "message": expat.ErrorString(exc.code)})
            newlines_before += pending.count(b"\n", 0, where)
            pending, resync_from = pending[where:], 1
            continue
        if eof:
            break
        fed += len(pending)
        newlines_before += pending.count(b"\n")
        recent.append(pending)
        # Counted in records, not rows: a night of sleep holds a few dozen.
        if report.records - taken >= batch:
            yield take()
        pending, eof = reader.next()
    state.finish_all_sleep()
    if state.rows or state.out:
        yield take()


class _Reader:
    """Chunks of the raw stream, control characters blanked, quantity records read and
    cut out; the first chunk without its DOCTYPE (whose newlines are remembered, for
    line numbers). Each chunk ends before its last record, which starts the next one: a
    record split by a read would be left to expat, after the next chunk's records, and
    rows out of order make the writes merge with stored rows instead of appending."""

    def __init__(self, stream: IO[bytes], report: ParseReport, records: _QuantityRecords):
        self.stream, self.report, self.records = stream, report, records
        self.stripped_newlines = 0
        self.rest = b""  # from the last record of the previous chunk on

    def _whole_records(self, chunk: bytes) -> bytes:
        # Cut after reading the records (fewer bytes to copy): what follows the last one
        # left (unfinished, or for expat) is read again with the next chunk.
        chunk = self.records(chunk)
        cut = chunk.rfind(b"<Record ")
        if cut <= 0:  # none (or only one): the whole chunk
            cut = len(chunk)
        self.rest = chunk[cut:]
        return _without_beats(chunk[:cut])

    def _read(self) -> bytes:
        chunk = self.stream.read(CHUNK)
        self.report.bytes_read += len(chunk)
        if any(control in chunk for control in _CONTROL):
            return chunk.translate(_BLANK_CONTROL)
        return chunk

    def first(self) -> bytes:
        head = b""
        while b"<HealthData" not in head:
            chunk = self._read()
            if not chunk or len(head) > 64 * CHUNK:
                raise MalformedExport("this is not an Apple Health export (no <HealthData>)")
            head += chunk
        if b"<!ENTITY" in head[: head.index(b"<HealthData")]:  # Apple's DTD declares none
            raise MalformedExport(
                "the export declares XML entities (an XML bomb or external entity?): refused"
            )
        doctype = _DOCTYPE.search(head)
        if doctype is not None and doctype.start() < head.index(b"<HealthData"):
            self.stripped_newlines = head.count(b"\n", doctype.start(), doctype.end())
            head = head[: doctype.start()] + head[doctype.end() :]
        return self._whole_records(head)

    def next(self) -> tuple[bytes, bool]:
        chunk = self._read()
        if not chunk:  # the end: what was left over
            rest, self.rest = self.rest, b""
            return _without_beats(self.records(rest)), True
        return self._whole_records(self.rest + chunk), False


def open_export(path) -> tuple[IO[bytes], zipfile.ZipFile | None]:
    """The export.xml stream of an export.zip (read from the member, never unpacked) or
    of a bare export.xml. Raises MalformedExport for anything else or anything unsafe."""
    if not zipfile.is_zipfile(path):
        return open(path, "rb"), None
    archive = zipfile.ZipFile(path)
    try:
        member = check_archive(archive)
        return archive.open(member), archive
    except Exception:
        archive.close()
        raise


MAX_XML_BYTES = 16 * 1024**3
MAX_RATIO = 100
MAX_MEMBERS = 100_000


def check_archive(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """Zip-bomb and path checks from the central directory, before inflating anything:
    the member count, declared sizes and compression ratios, no links, no absolute or
    parent paths. Returns export.xml's entry."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise MalformedExport(f"the archive has {len(infos)} members; at most {MAX_MEMBERS}")
    export = None
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.split("/") or ":" in name:
            raise MalformedExport(f"unsafe path in the archive: {name!r}")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise MalformedExport(f"symbolic link in the archive: {name!r}")
        total += info.file_size
        if info.file_size > 100 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise MalformedExport(f"{name!r} inflates more than {MAX_RATIO}x: refused")
        if name.endswith("/export.xml") and EXPECTED_MEMBERS.match(name):
            export = info
    if total > MAX_XML_BYTES:
        raise MalformedExport("the archive declares more than 16 GiB uncompressed: refused")
    if export is None:
        raise MalformedExport("no apple_health_export/export.xml in the archive")
    return export
