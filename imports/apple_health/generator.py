"""A deterministic generator of realistic Apple Health exports (standard library only).

``generate_export(path, ...)`` writes what the iPhone Health app's "Export All Health Data"
produces: ``export.zip`` holding ``apple_health_export/export.xml`` and the workouts' GPX
routes under ``apple_health_export/workout-routes/`` (or a bare ``export.xml``). It returns
the number of elements written per type, so tests and benchmarks can check an import.

One simulated person (Alice, at home in America/Los_Angeles) with an Apple Watch and an
iPhone, a Withings scale and blood-pressure monitor, MyFitnessPal, a sleep app and a
meditation app. What a real export shows, and an importer must cope with, is there:

* The watch and the phone both count steps and walking distance over overlapping
  intervals (the phone undercounts, and is left on the desk); the watch is off its wrist
  while it charges in the evening, when only the phone counts.
* Dates are ``YYYY-MM-DD HH:MM:SS ±HHMM`` with the offset in force where the sample was
  recorded: PST/PDT changes, and about a week in Europe/Berlin (+0100/+0200) around the
  last EU daylight-saving change in the range, with the flights in between (the day of
  the eastbound flight is short, the last day in Berlin is long).
* Records are grouped by type and then by source, not in time order; every Record nested
  in a Correlation (blood pressure, meals) also appears as a top-level Record, as Apple's
  DTD says; some records are written twice, byte for byte; metadata entries, an HRV
  record's beat-to-beat list, fractions labelled "%", body mass in lb on some days and kg
  on others, food energy in Cal (and in kJ from another app while travelling), sleep
  stages and a few nights in the older AsleepUnspecified/Asleep style, workouts with
  events, statistics and routes, an ActivitySummary per day that agrees with the
  records, and a few types an importer may not know.

Everything comes from ``random.Random`` seeded with ``seed``; nothing reads the clock, so
the same arguments give byte-identical output (the zip too: its entries carry the export
date). The XML is streamed in chunks to the file or zip member, never held in memory.

Command line: ``python -m imports.apple_health.generator OUT --days N --seed S
--hr-every M [--xml]`` prints the counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time as _time
import uuid
import zipfile
from bisect import bisect_right
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

__all__ = ["EXPORT_DIR", "MEMBER_XML", "ROUTES_DIR", "generate_export"]

EXPORT_DIR = "apple_health_export"
MEMBER_XML = f"{EXPORT_DIR}/export.xml"
ROUTES_DIR = "workout-routes"

HOME_TZ = ZoneInfo("America/Los_Angeles")
AWAY_TZ = ZoneInfo("Europe/Berlin")
HOME_GPS = (37.7694, -122.4862)  # Golden Gate Park
AWAY_GPS = (52.5145, 13.3501)  # Tiergarten

Q = "HKQuantityTypeIdentifier"
C = "HKCategoryTypeIdentifier"
SLEEP = f"{C}SleepAnalysis"
_SV = "HKCategoryValueSleepAnalysis"
NOT_APPLICABLE = "HKCategoryValueNotApplicable"
# Types a HealthHub importer may not know: they are here so it can report them.
UNKNOWN_TYPES = (
    f"{Q}EnvironmentalAudioExposure",
    f"{Q}HeadphoneAudioExposure",
    f"{Q}WalkingSpeed",
    f"{Q}AppleStandTime",
    f"{C}AppleStandHour",
    f"{C}HandwashingEvent",
    "HKDataTypeSleepDurationGoal",
)

DUPLICATE_P = 0.002  # share of high-volume records written twice
FLUSH_AT = 4096  # buffered lines before a write
SLOT = 600  # the plan's resolution: 10-minute slots
TICK = 5  # a workout's resolution (and its heart-rate sampling), in seconds
ROUTE_STEP = 2  # seconds between GPX track points
ZIP_LEVEL = 3  # deflate level: 3x faster than the default 6, files about a quarter larger
_EPOCH_ORD = date(1970, 1, 1).toordinal()

_HMS: list[str] = []


def _hms_table() -> list[str]:
    if not _HMS:
        _HMS.extend(
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        )
    return _HMS


def _q(text: str) -> str:
    """An attribute value's text, escaped for double quotes."""
    return escape(text, {'"': "&quot;"})


def _day_number(d: date) -> int:
    return d.toordinal() - _EPOCH_ORD


def _wall(d: date, hours: float, tz: ZoneInfo) -> int:
    """The epoch second of wall-clock `hours` after midnight of `d` in `tz`."""
    return int((datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(hours=hours)).timestamp())


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


# --------------------------------------------------------------------------------------
# Sources: who writes what, and the versions they report over time
# --------------------------------------------------------------------------------------


def _timeline(pairs: str) -> tuple[list[date], list[str]]:
    days, versions = [], []
    for item in pairs.split():
        when, version = item.split("=")
        days.append(date.fromisoformat(when))
        versions.append(version)
    return days, versions


_WATCH_OS = _timeline(
    "2021-09-20=8.0 2021-10-25=8.1 2021-12-13=8.3 2022-03-14=8.5 2022-05-16=8.6 "
    "2022-07-20=8.7 2022-09-12=9.0 2022-10-24=9.1 2023-01-23=9.3 2023-03-27=9.4 "
    "2023-05-18=9.5 2023-07-24=9.6 2023-09-18=10.0 2023-10-24=10.1 2023-12-11=10.2 "
    "2024-01-22=10.3 2024-03-07=10.4 2024-05-13=10.5 2024-07-29=10.6 2024-09-16=11.0 "
    "2024-10-28=11.1 2024-12-11=11.2 2025-01-27=11.3 2025-03-31=11.4 2025-05-12=11.5"
)
_IOS = _timeline(
    "2021-09-20=15.0 2021-10-25=15.1 2021-12-13=15.2 2022-03-14=15.4 2022-05-16=15.5 "
    "2022-07-20=15.6 2022-09-12=16.0 2022-10-24=16.1 2022-12-13=16.2 2023-01-23=16.3 "
    "2023-03-27=16.4 2023-05-18=16.5 2023-07-24=16.6 2023-09-18=17.0 2023-10-25=17.1 "
    "2023-12-11=17.2 2024-01-22=17.3 2024-02-08=17.3.1 2024-03-05=17.4 2024-03-21=17.4.1 "
    "2024-05-13=17.5 2024-07-29=17.6 2024-09-16=18.0 2024-10-28=18.1 2024-12-11=18.2 "
    "2025-01-27=18.3 2025-03-31=18.4 2025-05-12=18.5"
)


class _Source:
    """A source as the export names it; `device` is (name, manufacturer, model, hardware)
    or None; `versions` a timeline (the owner updates a few days after a release) or one
    fixed version."""

    def __init__(self, key, name, versions, device=None, software_is_version=True):
        self.key, self.name, self.versions, self.device = key, name, versions, device
        self.software_is_version = software_is_version

    def version(self, d: date) -> str:
        if isinstance(self.versions, str):
            return self.versions
        days, versions = self.versions
        return versions[max(0, bisect_right(days, d - timedelta(days=5)) - 1)]

    def attrs(self, d: date, rng: random.Random) -> str:
        """' sourceName=".." sourceVersion=".." device=".."' for one day (the device's
        object address differs from day to day, as in real exports)."""
        version = self.version(d)
        text = f' sourceName="{_q(self.name)}" sourceVersion="{_q(version)}"'
        if self.device:
            name, manufacturer, model, hardware = self.device
            software = version if self.software_is_version else "1950"
            device = (
                f"<<HKDevice: 0x{0x280000000 + rng.getrandbits(28) * 16:x}>, name:{name}, "
                f"manufacturer:{manufacturer}, model:{model}, hardware:{hardware}, "
                f"software:{software}>"
            )
            text += f' device="{_q(device)}"'
        return text


WATCH = _Source(
    "watch",
    "Alice\u2019s Apple Watch",
    _WATCH_OS,
    ("Apple Watch", "Apple Inc.", "Watch", "Watch6,2"),
)
PHONE = _Source(
    "phone", "Alice\u2019s iPhone", _IOS, ("iPhone", "Apple Inc.", "iPhone", "iPhone14,5")
)
HEALTH = _Source("health", "Health", _IOS)
SCALE = _Source("scale", "Withings", "6010001", ("Body+", "Withings", "Body+", "WBS05"), False)
BP_MONITOR = _Source(
    "bp", "Withings", "6010001", ("BPM Connect", "Withings", "BPM Connect", "WPM04"), False
)
FOOD = _Source("food", "MyFitnessPal", "47190")
FOOD_AWAY = _Source("food_away", "YAZIO", "11.42.0")
SLEEP_APP = _Source("sleep_app", "AutoSleep", "6.9.6")
MEDITATION = _Source("meditation", "Headspace", "10878")
SOURCES = (WATCH, PHONE, HEALTH, SCALE, BP_MONITOR, FOOD, FOOD_AWAY, SLEEP_APP, MEDITATION)


# --------------------------------------------------------------------------------------
# The plan: one person's days, from which every record type is written
# --------------------------------------------------------------------------------------

# Steps per 10-minute slot by local hour: (from, to, low, high, phone carried p, still p).
_WEEKDAY = (
    (0, 6.5, 0, 30, 0.2, 0.85),
    (6.5, 7.75, 20, 200, 0.5, 0.3),
    (7.75, 8.5, 200, 800, 0.95, 0.05),
    (8.5, 12, 0, 120, 0.3, 0.5),
    (12, 13, 100, 600, 0.9, 0.2),
    (13, 17.5, 0, 120, 0.3, 0.5),
    (17.5, 18.25, 200, 800, 0.95, 0.05),
    (18.25, 22, 10, 200, 0.4, 0.35),
    (22, 99, 0, 60, 0.3, 0.7),
)
_WEEKEND = (
    (0, 8, 0, 50, 0.2, 0.8),
    (8, 10, 30, 250, 0.5, 0.3),
    (10, 13, 80, 450, 0.8, 0.15),
    (13, 18, 40, 350, 0.75, 0.3),
    (18, 22, 10, 200, 0.5, 0.3),
    (22, 99, 0, 60, 0.3, 0.7),
)
_TRIP = (
    (0, 8, 0, 50, 0.3, 0.7),
    (8, 9.5, 50, 300, 0.9, 0.2),
    (9.5, 13, 100, 500, 0.97, 0.1),
    (13, 14, 50, 300, 0.9, 0.2),
    (14, 19, 80, 420, 0.97, 0.1),
    (19, 23, 60, 400, 0.9, 0.2),
    (23, 99, 0, 80, 0.5, 0.5),
)
_TRAVEL = ((0, 99, 0, 180, 0.95, 0.5),)


def _profile(kind: str, weekday: int, h: float):
    """The activity table in force at local hour `h` (h >= 24: the next morning) of a
    day of this kind."""
    if (
        (kind == "depart" and h >= 10)
        or (kind == "arrive" and h < 11)
        or (kind == "return" and h < 9)
        or (kind == "trip" and h >= 24)
    ):
        return _TRAVEL
    if kind in ("trip", "arrive"):
        return _TRIP
    if kind == "return" or weekday >= 5:
        return _WEEKEND
    return _WEEKDAY


class _Workout:
    __slots__ = (
        "activity",
        "calories",
        "day",
        "distance",
        "end",
        "hr",
        "indoor",
        "kcal_per_tick",
        "moving",
        "pause",
        "phone",
        "route",
        "speeds",
        "start",
        "steps_per_tick",
        "uuid",
    )


class _Night:
    __slots__ = ("bed", "cycles", "legacy", "style", "wake")


class _Day:
    __slots__ = (
        "asleep",
        "attrs",
        "bp",
        "charge",
        "d",
        "e",
        "exercise",
        "hr_target",
        "index",
        "kcal",
        "kind",
        "local_day",
        "meals",
        "n",
        "phone_steps",
        "rhr",
        "s",
        "stand",
        "steps",
        "wdist",
        "weigh",
        "workouts",
        "worn",
        "wsteps",
        "zone",
    )


def _choose_trip(start: date, end: date) -> tuple[date, date] | None:
    """First and last day in Berlin: the week before the latest EU daylight-saving change
    (last Sunday of March or October) that fits, so both +0100 and +0200 occur; failing
    that, a week ending three days before `end`; None if the range is too short."""
    changes = []
    for year in range(start.year, end.year + 1):
        for month in (3, 10):
            last = date(year, month, 31)
            changes.append(last - timedelta(days=(last.weekday() + 1) % 7))
    for change in sorted(changes, reverse=True):
        first, last = change - timedelta(days=8), change - timedelta(days=1)
        if first - timedelta(days=1) >= start and change <= end:
            return first, last
    last = end - timedelta(days=4)
    first = last - timedelta(days=6)
    if first - timedelta(days=1) >= start:
        return first, last
    return None


class _World:
    """Everything decided once, per day: zones, sleep, workouts, activity per slot, meals,
    weigh-ins. Record types are then written one after another from this plan."""

    def __init__(self, seed: int, days: int, end: date, hr_every: int):
        self.seed, self.hr_every = seed, hr_every
        self.start, self.end = end - timedelta(days=days - 1), end
        self.dates = [self.start + timedelta(days=i) for i in range(days)]
        self.trip = _choose_trip(self.start, end)
        self._build_clock()
        rng = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self.rng = rng
        self.days: list[_Day] = []
        for i, d in enumerate(self.dates):
            day = _Day()
            day.index, day.d, day.zone = i, d, self.zone(d)
            day.s = _wall(d, 0, day.zone)
            nxt = d + timedelta(days=1)
            day.e = _wall(nxt, 0, self.zone(nxt))
            day.n = (day.e - day.s) // SLOT
            day.local_day = _day_number(d)
            day.kind = self._kind(d)
            day.attrs = {src.key: src.attrs(d, rng) for src in SOURCES}
            self.days.append(day)
        self.first_s, self.last_e = self.days[0].s, self.days[-1].e
        self.day_starts = [day.s for day in self.days]
        self.export_time = _wall(end + timedelta(days=1), 7.25, self.zone(end + timedelta(1)))
        self._plan_nights()
        for day in self.days:
            self._plan_day(day)
        self._plan_activity_summaries()

    # -- zones and the date formatter ---------------------------------------------------

    def zone(self, d: date) -> ZoneInfo:
        if self.trip and self.trip[0] <= d <= self.trip[1]:
            return AWAY_TZ
        return HOME_TZ

    def _kind(self, d: date) -> str:
        if self.trip:
            first, last = self.trip
            if d == first - timedelta(days=1):
                return "depart"
            if d == first:
                return "arrive"
            if first < d <= last:
                return "trip"
            if d == last + timedelta(days=1):
                return "return"
        return "weekday" if d.weekday() < 5 else "weekend"

    def _build_clock(self) -> None:
        """Offsets in force over the range (hourly scan: every change here, daylight
        saving or a flight, falls on a whole UTC hour) and a fast formatter."""
        lo = _wall(self.start - timedelta(days=2), 0, HOME_TZ)
        hi = _wall(self.end + timedelta(days=3), 0, HOME_TZ)
        if self.trip:
            east = _wall(self.trip[0], 0, AWAY_TZ)
            west = _wall(self.trip[1] + timedelta(days=1), 0, HOME_TZ)
        else:
            east = west = hi + 1
        starts, offsets = [], []
        for t in range(lo - lo % 3600, hi, 3600):
            tz = AWAY_TZ if east <= t < west else HOME_TZ
            off = int(datetime.fromtimestamp(t, tz).utcoffset().total_seconds())
            if not offsets or offsets[-1] != off:
                starts.append(t)
                offsets.append(off)
        starts[0] = -(1 << 62)
        self.starts, self.offsets = starts, offsets
        suffixes = [" " + _offset_text(o) for o in offsets]
        base = _day_number(self.start) - 3
        days = [
            (date.fromordinal(base + _EPOCH_ORD + i)).isoformat() + " "
            for i in range((self.end - self.start).days + 8)
        ]
        self.day_base, self.day_text = base, days
        hms = _hms_table()

        never = 1 << 62
        lo = hi = midnight = 0
        day_text = suffix = ""

        def fmt(t: int) -> str:
            # Most calls fall in the same local day as the one before: no search then.
            nonlocal lo, hi, midnight, day_text, suffix
            if lo <= t < hi:
                return day_text + hms[t - midnight] + suffix
            i = bisect_right(starts, t) - 1
            dn, sec = divmod(t + offsets[i], 86400)
            midnight = t - sec
            lo = max(midnight, starts[i])
            hi = min(midnight + 86400, starts[i + 1] if i + 1 < len(starts) else never)
            day_text, suffix = days[dn - base], suffixes[i]
            return day_text + hms[sec] + suffix

        def utc(t: int) -> str:
            dn, sec = divmod(t, 86400)
            return f"{days[dn - base][:-1]}T{hms[sec]}Z"

        self.fmt, self.utc = fmt, utc

    def offset_at(self, t: int) -> int:
        return self.offsets[bisect_right(self.starts, t) - 1]

    def local_hours(self, day: _Day, t: int) -> float:
        """Wall-clock hours since the day's local midnight (past 24 on a long day)."""
        return (t + self.offset_at(t) - day.local_day * 86400) / 3600

    def local_day_text(self, t: int) -> str:
        return self.day_text[(t + self.offset_at(t)) // 86400 - self.day_base][:-1]

    # -- nights ----------------------------------------------------------------------------

    def _plan_nights(self) -> None:
        """A night per evening from the day before the range to its last day, clipped to
        the range. The eastbound flight's night has no sleep."""
        rng = self.rng
        self.nights: list[_Night] = []
        trip = self.trip
        for j in range(len(self.dates) + 1):
            evening = self.start + timedelta(days=j - 1)
            morning = evening + timedelta(days=1)
            tz = self.zone(evening)
            if trip and evening == trip[0] - timedelta(days=1):
                continue
            bed_h = 22.6 + (0.8 if evening.weekday() in (4, 5) else 0) + rng.uniform(-0.5, 0.5)
            if morning.weekday() >= 5:
                wake_h = 7.8
            elif morning.weekday() in (1, 3):
                wake_h = 6.2  # run days
            else:
                wake_h = 6.7
            wake_h += rng.uniform(-0.3, 0.3)
            if trip and trip[0] <= evening <= trip[1]:
                bed_h, wake_h = 23.0 + rng.uniform(-0.3, 0.6), 7.4 + rng.uniform(-0.4, 0.4)
                if evening == trip[1]:
                    wake_h = 5.9  # the flight home
            elif trip and evening == trip[1] + timedelta(days=1):
                bed_h = 21.3 + rng.uniform(0, 0.4)  # jet lag
            night = _Night()
            night.bed = _wall(evening, bed_h, tz)
            night.wake = _wall(morning, wake_h, tz)
            # A few nights come from a sleep app in the pre-watchOS 9 style.
            night.style = "app" if j % 9 == 4 else "stages"
            night.legacy = j % 27 == 4
            night.cycles = self._sleep_segments(night, rng)
            if night.wake <= self.first_s or night.bed >= self.last_e:
                continue
            self.nights.append(night)

    def _sleep_segments(self, night: _Night, rng: random.Random) -> list[tuple[int, int, str]]:
        """(start, end, value) of what was recorded asleep, in order, clipped to the range."""
        asleep = night.bed + rng.randint(6, 22) * 60
        until = night.wake - rng.randint(1, 8) * 60
        out: list[tuple[int, int, str]] = []
        t = asleep
        if night.style == "app":
            value = f"{_SV}Asleep" if night.legacy else f"{_SV}AsleepUnspecified"
            while t < until:
                length = rng.randint(80, 200) * 60
                out.append((t, min(until, t + length), value))
                t += length + rng.randint(4, 20) * 60  # awake, not recorded
        else:
            cycle = 0
            while t < until:
                early = cycle < 2
                parts = [
                    ("AsleepCore", rng.randint(25, 50)),
                    ("AsleepDeep", rng.randint(15, 35) if early else rng.randint(0, 12)),
                    ("AsleepCore", rng.randint(8, 20)),
                    ("AsleepREM", rng.randint(6, 14) if early else rng.randint(18, 35)),
                ]
                if rng.random() < 0.45:
                    parts.append(("Awake", rng.randint(1, 5)))
                for stage, minutes in parts:
                    if minutes <= 0 or t >= until:
                        continue
                    stop = min(until, t + minutes * 60)
                    out.append((t, stop, f"{_SV}{stage}"))
                    t = stop
                cycle += 1
        clipped = []
        for a, b, v in out:
            a, b = max(a, self.first_s), min(b, self.last_e)
            if b - a >= 60:
                clipped.append((a, b, v))
        return clipped

    # -- one day ---------------------------------------------------------------------------

    def _plan_day(self, day: _Day) -> None:
        rng = self.rng
        s, n = day.s, day.n
        # Fitness improves a little over the range; a trip and jet lag raise resting HR.
        progress = day.index / max(1, len(self.days) - 1)
        day.rhr = 58.0 - 2.0 * progress + rng.uniform(-1.5, 1.5)
        if day.kind in ("trip", "arrive", "depart"):
            day.rhr += 3.5
        elif day.kind == "return":
            day.rhr += 5.0
        asleep = bytearray(n)
        for night in self.nights:
            if night.wake <= s or night.bed >= day.e:
                continue
            a = night.bed + 10 * 60
            for k in range(max(0, (a - s) // SLOT), min(n, (night.wake - s) // SLOT)):
                asleep[k] = 1
        day.asleep = asleep
        day.workouts = self._plan_workouts(day)
        # The watch charges in the evening (aligned to slots); the phone fills in.
        worn = bytearray(b"\x01" * n)
        day.charge = None
        if day.kind != "depart":
            k0 = int((_wall(day.d, rng.uniform(19.0, 21.0), day.zone) - s) // SLOT)
            busy = max([(w.end - s) // SLOT + 1 for w in day.workouts] or [0])
            k0 = max(k0, busy)
            length = rng.randint(4, 8)
            if k0 + length < n and not any(asleep[k0 : k0 + length]):
                for k in range(k0, k0 + length):
                    worn[k] = 0
                day.charge = (s + k0 * SLOT, s + (k0 + length) * SLOT)
        day.worn = worn
        # Steps (outside workouts), the phone's share, and the workouts' own contribution.
        steps = [0] * n
        phone = [0] * n
        wsteps = [0.0] * n
        wdist = [0.0] * n
        wkcal = [0.0] * n
        wsecs = [0] * n
        for w in day.workouts:
            t = w.start
            for j in range(len(w.speeds)):
                k = (t - s) // SLOT
                wsteps[k] += w.steps_per_tick[j]
                wdist[k] += w.speeds[j] * TICK / 1000 if w.moving[j] else 0.0
                wkcal[k] += w.kcal_per_tick[j]
                wsecs[k] += TICK
                t += TICK
        factor = rng.uniform(0.75, 1.25) * (0.85 if day.kind == "weekend" else 1.0)
        weekday = day.d.weekday()
        hr_target = [0.0] * n
        stand = bytearray(n)
        exercise = bytearray(n)
        kcal = [0.0] * n
        for k in range(n):
            t = s + k * SLOT
            h = self.local_hours(day, t)
            free = 1.0 - wsecs[k] / SLOT
            if asleep[k]:
                st = 0
                hr_target[k] = day.rhr - 3.0 + rng.uniform(-2, 3)
            else:
                for row in _profile(day.kind, weekday, h):
                    if row[0] <= h < row[1]:
                        break
                _h0, _h1, lo, hi, carry_p, still_p = row
                st = 0 if rng.random() < still_p else int(rng.randint(lo, hi) * factor * free)
                carried = rng.random() < (0.8 if not worn[k] else carry_p)
                if carried and st:
                    phone[k] = int(st * rng.uniform(0.68, 0.92))
                hr_target[k] = day.rhr + 9.0 + min(30.0, st * 0.03) + rng.uniform(-3, 4)
            steps[k] = st
            ws = int(wsteps[k])
            for w in day.workouts:
                if w.phone and w.start < t + SLOT and w.end > t:
                    phone[k] += int(ws * rng.uniform(0.8, 0.9))
            wsteps[k] = ws
            if worn[k] and not asleep[k]:
                total = st + ws
                exercise[k] = min(10, wsecs[k] // 60 + max(0, (st - 800) * 10 // 400))
                if total >= 40 or wsecs[k]:
                    stand[k] = min(5, 1 + total // 250 + (1 if rng.random() < 0.3 else 0))
                kcal[k] = round(st * 0.034 + rng.uniform(0.05, 0.4) + wkcal[k], 3)
            elif worn[k]:
                kcal[k] = 0.0
        day.steps, day.phone_steps, day.wsteps, day.wdist = steps, phone, wsteps, wdist
        day.hr_target, day.stand, day.exercise, day.kcal = hr_target, stand, exercise, kcal
        self._plan_body_and_food(day)

    def _plan_workouts(self, day: _Day) -> list[_Workout]:
        rng, d, kind = self.rng, day.d, day.kind
        plans = []  # (activity, start hour, minutes, route)
        if kind in ("weekday", "weekend"):
            wd = d.weekday()
            if wd in (1, 3):
                plans.append(("Running", 6.55 + rng.uniform(0, 0.3), rng.randint(28, 42), True))
            elif wd == 5:
                plans.append(("Running", 8.4 + rng.uniform(0, 0.4), rng.randint(55, 80), True))
            elif wd in (0, 2):
                plans.append(
                    (
                        "TraditionalStrengthTraining",
                        18.0 + rng.uniform(0, 0.3),
                        rng.randint(38, 55),
                        False,
                    )
                )
            elif wd == 6:
                if rng.random() < 0.5:
                    plans.append(("Yoga", 9.5 + rng.uniform(0, 0.3), rng.randint(35, 60), False))
                else:
                    plans.append(("Walking", 16.0 + rng.uniform(0, 0.5), rng.randint(45, 70), True))
            if plans and rng.random() < 0.12:
                plans = []  # skipped
        elif kind == "trip":
            if (d - self.trip[0]).days == 2:
                plans.append(("Running", 7.8 + rng.uniform(0, 0.2), rng.randint(28, 35), True))
            plans.append(("Walking", 14.0 + rng.uniform(0, 0.5), rng.randint(45, 80), True))
        out = []
        for activity, hour, minutes, route in plans:
            start = _wall(d, hour, day.zone)
            start -= start % 60 - rng.randint(0, 59)
            start_k = (start - day.s) // SLOT
            stop_k = (start + minutes * 60 - day.s) // SLOT + 1
            if stop_k >= day.n or any(day.asleep[start_k:stop_k]):
                continue
            out.append(self._workout(day, activity, start, minutes, route))
        return out

    def _workout(self, day: _Day, activity: str, start: int, minutes: int, route: bool):
        rng = self.rng
        w = _Workout()
        w.activity, w.start, w.day, w.route = activity, start, day, route
        w.indoor = activity in ("TraditionalStrengthTraining", "Yoga")
        w.uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()
        ticks = minutes * 60 // TICK
        running = activity == "Running"
        base_v = rng.uniform(2.75, 3.15) if running else rng.uniform(1.25, 1.5)
        pause = None
        if running and rng.random() < 0.35:
            p0 = int(ticks * rng.uniform(0.3, 0.6))
            pause = (p0, p0 + rng.randint(8, 18))
        weight = 63.0
        speeds, moving, steps, kcal, hrs = [], [], [], [], []
        hr = day.rhr + 20
        for j in range(ticks):
            paused = pause is not None and pause[0] <= j < pause[1]
            if w.indoor:
                v, cadence = 0.0, 8.0 if activity == "Yoga" else 14.0
                rate = 3.6 if activity == "Yoga" else 6.2  # kcal/min
                target = (84 if activity == "Yoga" else 112) + 18 * math.sin(j / 24)
                kc = rate * TICK / 60
            else:
                warm = min(1.0, 0.75 + j / 60)
                v = base_v * warm * (1 + 0.06 * math.sin(j / 37)) + rng.uniform(-0.12, 0.12)
                v = 0.0 if paused else max(0.4, v)
                cadence = 0.0 if paused else (158 + (v - 2.9) * 12 if running else 108 + v * 4)
                per_km = 0.92 if running else 0.5
                kc = weight * per_km * v * TICK / 1000 + (0.02 if paused else 0.0)
                target = (
                    (148 + (v - 2.9) * 25 + j * TICK / 600) if running else (98 + (v - 1.3) * 20)
                )
                if paused:
                    target = 120
            hr += (target - hr) * 0.06 + rng.uniform(-1.5, 1.5)
            speeds.append(round(v, 3))
            moving.append(not paused)
            steps.append(cadence * TICK / 60)
            kcal.append(kc)
            hrs.append(round(hr))
        w.speeds, w.moving, w.steps_per_tick, w.kcal_per_tick, w.hr = (
            speeds,
            moving,
            steps,
            kcal,
            hrs,
        )
        w.pause = pause and (start + pause[0] * TICK, start + pause[1] * TICK)
        w.end = start + ticks * TICK
        w.distance = sum(v * TICK for v, m in zip(speeds, moving, strict=True) if m) / 1000
        w.calories = sum(kcal)
        w.phone = (not w.indoor) and (not running or rng.random() < 0.5)
        return w

    def _plan_body_and_food(self, day: _Day) -> None:
        rng, d, kind = self.rng, day.d, day.kind
        # Withings scale at home, most mornings: kg, or lb on some days.
        day.weigh = None
        if kind in ("weekday", "weekend") and rng.random() < (0.85 if kind == "weekday" else 0.6):
            wake = next((nt.wake for nt in self.nights if day.s <= nt.wake < day.e), None)
            if wake is not None:
                kg = 63.0 - 1.2 * day.index / 365 + 0.35 * math.sin(day.index / 5)
                kg += rng.uniform(-0.3, 0.3)
                day.weigh = (
                    wake + rng.randint(8, 30) * 60,
                    round(kg, 2),
                    "lb" if rng.random() < 0.3 else "kg",
                    round(0.262 - 0.01 * day.index / 365 + rng.uniform(-0.006, 0.006), 3),
                )
        # Blood pressure, Sunday mornings at home.
        day.bp = None
        if kind == "weekend" and d.weekday() == 6:
            t = _wall(d, 8.2 + rng.uniform(0, 0.5), day.zone)
            day.bp = (t, rng.randint(111, 128), rng.randint(69, 82), rng.randint(58, 68))
        # Three meals a day: MyFitnessPal in Cal at home, YAZIO in kJ while away.
        meals = []
        source = FOOD_AWAY if day.zone == AWAY_TZ else FOOD
        for meal, hour, lo, hi in (
            ("Breakfast", 7.6, 320, 560),
            ("Lunch", 12.4, 520, 820),
            ("Dinner", 19.0, 600, 950),
        ):
            t = _wall(d, hour + rng.uniform(-0.4, 0.6), day.zone)
            if not day.s <= t < day.e:
                continue
            target = rng.uniform(lo, hi)
            protein = round(target * rng.uniform(0.15, 0.28) / 4, 1)
            fat = round(target * rng.uniform(0.25, 0.38) / 9, 1)
            carbs = round(max(5.0, (target - protein * 4 - fat * 9) / 4), 1)
            energy = round(protein * 4 + fat * 9 + carbs * 4, 1)
            meals.append(
                (
                    meal,
                    t - t % 60,
                    source,
                    energy,
                    protein,
                    carbs,
                    fat,
                    round(carbs * rng.uniform(0.08, 0.15), 1),  # fiber
                    round(carbs * rng.uniform(0.15, 0.35), 1),  # sugar
                    round(rng.uniform(300, 1100)),  # sodium, mg
                )
            )
        day.meals = meals

    def _plan_activity_summaries(self) -> None:
        """Active energy, exercise minutes and stand hours per local date, summed from
        exactly what the watch's records say."""
        sums: dict[str, list] = {}
        for day in self.days:
            for k in range(day.n):
                if day.worn[k]:
                    acc = sums.setdefault(self.local_day_text(day.s + k * SLOT), [0.0, 0, 0])
                    acc[0] += day.kcal[k]
                    acc[1] += day.exercise[k]
            for t, stood in self.stand_hours(day):
                if stood:
                    sums.setdefault(self.local_day_text(t), [0.0, 0, 0])[2] += 1
        self.summaries = sums

    def stand_hours(self, day: _Day):
        """(start, stood?) for each hour of the day the watch was worn and its owner awake."""
        out = []
        for g in range(0, day.n - 5, 6):
            ks = range(g, g + 6)
            if all(day.worn[k] and not day.asleep[k] for k in ks):
                out.append((day.s + g * SLOT, any(day.stand[k] for k in ks)))
        return out


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

_DTD = """<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth                   CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex                 CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBloodType                     CDATA #REQUIRED
  HKCharacteristicTypeIdentifierFitzpatrickSkinType           CDATA #REQUIRED
  HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse   CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type          CDATA #REQUIRED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute|WorkoutStatistics)*)>
<!ATTLIST Workout
  workoutActivityType   CDATA #REQUIRED
  duration              CDATA #IMPLIED
  durationUnit          CDATA #IMPLIED
  totalDistance         CDATA #IMPLIED
  totalDistanceUnit     CDATA #IMPLIED
  totalEnergyBurned     CDATA #IMPLIED
  totalEnergyBurnedUnit CDATA #IMPLIED
  sourceName            CDATA #REQUIRED
  sourceVersion         CDATA #IMPLIED
  device                CDATA #IMPLIED
  creationDate          CDATA #IMPLIED
  startDate             CDATA #REQUIRED
  endDate               CDATA #REQUIRED
>
<!ELEMENT WorkoutEvent ((MetadataEntry)*)>
<!ATTLIST WorkoutEvent
  type                 CDATA #REQUIRED
  date                 CDATA #REQUIRED
  duration             CDATA #IMPLIED
  durationUnit         CDATA #IMPLIED
>
<!ELEMENT WorkoutStatistics EMPTY>
<!ATTLIST WorkoutStatistics
  type                 CDATA #REQUIRED
  startDate            CDATA #REQUIRED
  endDate              CDATA #REQUIRED
  average              CDATA #IMPLIED
  minimum              CDATA #IMPLIED
  maximum              CDATA #IMPLIED
  sum                  CDATA #IMPLIED
  unit                 CDATA #IMPLIED
>
<!ELEMENT WorkoutRoute ((MetadataEntry|FileReference)*)>
<!ATTLIST WorkoutRoute
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT FileReference EMPTY>
<!ATTLIST FileReference
  path CDATA #REQUIRED
>
<!ELEMENT ActivitySummary EMPTY>
<!ATTLIST ActivitySummary
  dateComponents           CDATA #IMPLIED
  activeEnergyBurned       CDATA #IMPLIED
  activeEnergyBurnedGoal   CDATA #IMPLIED
  activeEnergyBurnedUnit   CDATA #IMPLIED
  appleMoveTime            CDATA #IMPLIED
  appleMoveTimeGoal        CDATA #IMPLIED
  appleExerciseTime        CDATA #IMPLIED
  appleExerciseTimeGoal    CDATA #IMPLIED
  appleStandHours          CDATA #IMPLIED
  appleStandHoursGoal      CDATA #IMPLIED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm  CDATA #REQUIRED
  time CDATA #REQUIRED
>
<!ELEMENT ClinicalRecord EMPTY>
<!ATTLIST ClinicalRecord
  type              CDATA #REQUIRED
  identifier        CDATA #REQUIRED
  sourceName        CDATA #REQUIRED
  sourceURL         CDATA #REQUIRED
  fhirVersion       CDATA #REQUIRED
  receivedDate      CDATA #REQUIRED
  resourceFilePath  CDATA #REQUIRED
>
]>
"""

_GPX_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="Apple Health Export" '
    'xmlns="http://www.topografix.com/GPX/1/1" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 '
    'http://www.topografix.com/GPX/1/1/gpx.xsd">\n'
)


def _meta(key: str, value: str, indent: str = "  ") -> str:
    return f'{indent}<MetadataEntry key="{_q(key)}" value="{_q(value)}"/>\n'


_HOURS12 = [(f"{(h % 12) or 12}", " AM" if h < 12 else " PM") for h in range(24)]


def _clock12(seconds: float) -> str:
    """'7:04:03.88 AM' for seconds after local midnight (as in HRV beat lists)."""
    cs = int(seconds * 100) % 8640000
    sec, c = divmod(cs, 100)
    hour, am_pm = _HOURS12[sec // 3600]
    return f"{hour}{_HMS[sec][2:]}.{c:02d}{am_pm}"


class _Writer:
    """Streams export.xml from a plan, counting what it writes."""

    def __init__(self, world: _World, stream, routes: bool):
        self.w, self.stream, self.routes = world, stream, routes
        self.buf: list[str] = []
        self.bytes = 0
        self.records: dict[str, int] = {}
        self.sources: dict[str, int] = {}
        self.correlations: dict[str, int] = {}
        self.nested: dict[str, int] = {}
        self.workouts: dict[str, int] = {}
        self.summaries = 0
        self.duplicates = 0
        self.route_files: list[tuple[str, _Workout]] = []

    # -- plumbing --------------------------------------------------------------------------

    def flush(self) -> None:
        if self.buf:
            data = "".join(self.buf).encode()
            self.buf.clear()
            self.bytes += len(data)
            self.stream.write(data)

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.w.seed}:{name}")  # noqa: S311 - a simulation

    def count(self, rtype: str, source: _Source, n: int, dups: int = 0) -> None:
        if n:
            self.records[rtype] = self.records.get(rtype, 0) + n
            self.sources[source.name] = self.sources.get(source.name, 0) + n
        self.duplicates += dups

    @staticmethod
    def head(rtype: str, attrs: str, unit: str | None) -> str:
        unit_attr = f' unit="{_q(unit)}"' if unit is not None else ""
        return f' <Record type="{rtype}"{attrs}{unit_attr} creationDate="'

    def simple(self, rtype, source, unit, items, dup_p=0.0, rng=None, children=None) -> None:
        """Records from (day, creation, start, end, value[, children]) tuples."""
        fmt, add = self.w.fmt, self.buf.append
        n = dups = 0
        last = head = None
        for item in items:
            day, c, a, b, v = item[:5]
            kids = item[5] if len(item) > 5 else children
            if day is not last:
                last, head = day, self.head(rtype, day.attrs[source.key], unit)
            body = f'{head}{fmt(c)}" startDate="{fmt(a)}" endDate="{fmt(b)}" value="{v}"'
            line = f"{body}>\n{kids} </Record>\n" if kids else f"{body}/>\n"
            add(line)
            n += 1
            if dup_p and rng.random() < dup_p:
                add(line)
                n += 1
                dups += 1
            if len(self.buf) > FLUSH_AT:
                self.flush()
        self.count(rtype, source, n, dups)

    # -- the document ----------------------------------------------------------------------

    def write(self) -> None:
        w = self.w
        add = self.buf.append
        add('<?xml version="1.0" encoding="UTF-8"?>\n')
        add(_DTD)
        add('<HealthData locale="en_US">\n')
        add(f' <ExportDate value="{w.fmt(w.export_time)}"/>\n')
        add(
            ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1985-04-12"'
            ' HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"'
            ' HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet"'
            ' HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet"'
            ' HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>\n'
        )
        for part in (
            self.height,
            self.body,
            self.heart_rate,
            self.oxygen_saturation,
            self.blood_pressure_records,
            self.respiratory_rate,
            self.steps_and_distance,
            self.basal_energy,
            self.active_energy,
            self.flights,
            self.dietary_records,
            self.exercise_time,
            self.resting_heart_rate,
            self.vo2max,
            self.audio_exposure,
            self.walking_speed,
            self.hrv,
            self.stand_time,
            self.sleep_goal,
            self.sleep,
            self.stand_hour,
            self.mindful,
            self.handwashing,
            self.correlations_part,
            self.workouts_part,
            self.activity_summaries,
        ):
            part()
            self.flush()
        add("</HealthData>\n")
        self.flush()

    # -- record types ----------------------------------------------------------------------

    def height(self) -> None:
        day = self.w.days[0]
        t = day.s + 9 * 3600 + 1234
        kids = _meta("HKWasUserEntered", "1")
        self.simple(f"{Q}Height", HEALTH, "cm", [(day, t, t, t, "168", kids)])

    def body(self) -> None:
        days = [d for d in self.w.days if d.weigh]
        rng = self.rng("body")
        # BMI, body fat and weight: Withings writes them together each morning.
        self.simple(
            f"{Q}BodyMassIndex",
            SCALE,
            "count",
            [
                (d, d.weigh[0] + 40, d.weigh[0], d.weigh[0], f"{d.weigh[1] / 1.68**2:.2f}")
                for d in days
            ],
        )
        self.simple(
            f"{Q}BodyFatPercentage",
            SCALE,
            "%",
            [(d, d.weigh[0] + 40, d.weigh[0], d.weigh[0], f"{d.weigh[3]:g}") for d in days],
        )
        add, fmt = self.buf.append, self.w.fmt
        n = dups = 0
        rtype = f"{Q}BodyMass"
        for d in days:
            t, kg, unit, _fat = d.weigh
            value = f"{kg * 2.20462262:.1f}" if unit == "lb" else f"{kg:g}"
            stamp = fmt(t)
            line = (
                f'{self.head(rtype, d.attrs["scale"], unit)}{fmt(t + 40)}" '
                f'startDate="{stamp}" endDate="{stamp}" value="{value}"/>\n'
            )
            add(line)
            n += 1
            if rng.random() < 0.04:  # the scale app re-syncs a weigh-in now and then
                add(line)
                n += 1
                dups += 1
        self.count(rtype, SCALE, n, dups)
        # One manual entry on the hotel scale, from the Health app.
        trip_days = [d for d in self.w.days if d.kind == "trip"]
        if trip_days:
            d = trip_days[len(trip_days) // 2]
            t = d.s + int(8.1 * 3600)
            kids = _meta("HKWasUserEntered", "1")
            self.simple(rtype, HEALTH, "kg", [(d, t + 5, t, t, "63.4", kids)])

    def heart_rate(self) -> None:
        w = self.w
        fmt, add = w.fmt, self.buf.append
        rng = self.rng("HeartRate")
        rnd = rng.random
        step = w.hr_every * 60
        jitter = max(1, min(20, step // 4))
        rtype = f"{Q}HeartRate"
        ctx = '">\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="'
        n = dups = 0
        for day in w.days:
            head = self.head(rtype, day.attrs["watch"], "count/min")
            s, e = day.s, day.e
            worn, target, steps = day.worn, day.hr_target, day.steps
            workouts = day.workouts
            wi = 0
            next_w = workouts[0].start if workouts else e + 1
            t = s + int(rnd() * step)
            v = target[0] or day.rhr
            while t < e:
                if t >= next_w:
                    wk = workouts[wi]
                    tt = wk.start
                    for bpm in wk.hr:
                        stamp = fmt(tt)
                        add(
                            f'{head}{fmt(tt + 4)}" startDate="{stamp}" endDate="{stamp}" '
                            f'value="{bpm}"/>\n'
                        )
                        tt += TICK
                    n += len(wk.hr)
                    v = wk.hr[-1]
                    t = wk.end + int(rnd() * step) + 1
                    wi += 1
                    next_w = workouts[wi].start if wi < len(workouts) else e + 1
                    continue
                k = (t - s) // SLOT
                if worn[k]:
                    v += (target[k] - v) * 0.35 + (rnd() - 0.5) * 5
                    tt = t + int(rnd() * jitter)
                    stamp = fmt(tt)
                    line = (
                        f'{head}{fmt(tt + 30 + int(rnd() * 400))}" startDate="{stamp}" '
                        f'endDate="{stamp}" value="{int(v + 0.5)}{ctx}'
                        f'{"2" if steps[k] > 250 else "1"}"/>\n </Record>\n'
                    )
                    add(line)
                    n += 1
                    if rnd() < DUPLICATE_P:
                        add(line)
                        n += 1
                        dups += 1
                t += step
            if len(self.buf) > FLUSH_AT:
                self.flush()
        self.count(rtype, WATCH, n, dups)
        # The blood-pressure monitor measures a pulse too.
        self.simple(
            rtype,
            BP_MONITOR,
            "count/min",
            [(d, d.bp[0] + 3, d.bp[0], d.bp[0], str(d.bp[3])) for d in w.days if d.bp],
        )

    def oxygen_saturation(self) -> None:
        rng = self.rng("spo2")
        items = []
        for day in self.w.days:
            slots = [k for k in range(day.n) if day.asleep[k] and day.worn[k]]
            picks = sorted(rng.sample(slots, min(len(slots), rng.randint(4, 8))))
            for k in picks:
                t = day.s + k * SLOT + rng.randint(0, 500)
                items.append(
                    (day, t + 90, t, t, f"{rng.choice((94, 95, 96, 96, 97, 97, 98, 99)) / 100:g}")
                )
        self.simple(f"{Q}OxygenSaturation", WATCH, "%", items)

    def _bp_children(self, day: _Day, indent: str) -> tuple[str, str]:
        t, systolic, diastolic, _pulse = day.bp
        fmt = self.w.fmt
        stamp, created = fmt(t), fmt(t + 3)
        attrs = day.attrs["bp"]
        out = []
        for kind, value in (("Diastolic", diastolic), ("Systolic", systolic)):
            out.append(
                f'{indent}<Record type="{Q}BloodPressure{kind}"{attrs} unit="mmHg" '
                f'creationDate="{created}" startDate="{stamp}" endDate="{stamp}" '
                f'value="{value}"/>\n'
            )
        return out[0], out[1]

    def blood_pressure_records(self) -> None:
        days = [d for d in self.w.days if d.bp]
        for i, kind in ((0, "Diastolic"), (1, "Systolic")):
            for d in days:
                self.buf.append(self._bp_children(d, " ")[i])
            self.count(f"{Q}BloodPressure{kind}", BP_MONITOR, len(days))

    def respiratory_rate(self) -> None:
        rng = self.rng("resp")
        items = []
        for day in self.w.days:
            k = 0
            while k < day.n:
                if day.asleep[k] and day.worn[k]:
                    t = day.s + k * SLOT + rng.randint(0, 300)
                    value = f"{rng.uniform(12.5, 16.5):.1f}".rstrip("0").rstrip(".")
                    items.append((day, t + 600, t, t + rng.randint(60, 300), value))
                    k += rng.randint(2, 4)
                else:
                    k += 1
        self.simple(f"{Q}RespiratoryRate", WATCH, "count/min", items)

    def _intervals(self, source: _Source):
        """(day, k, start, end, creation) of each step sample, identical for the step and
        the distance records of a source (the same random draws)."""
        rnd = self.rng(f"intervals:{source.key}").random
        out = []
        for day in self.w.days:
            if source is PHONE:
                counts = day.phone_steps
                for k in range(day.n):
                    if counts[k]:
                        a = day.s + k * SLOT + int(rnd() * 91)
                        b = day.s + (k + 1) * SLOT - int(rnd() * 41)
                        out.append((day, k, a, b, b + 1 + int(rnd() * 900), 1.0))
            else:
                for k in range(day.n):
                    total = (day.steps[k] + day.wsteps[k]) if day.worn[k] else 0
                    if not total:
                        continue
                    a = day.s + k * SLOT + int(rnd() * 31)
                    b = day.s + (k + 1) * SLOT - int(rnd() * 31)
                    created = b + 5 + int(rnd() * 296)
                    if total > 400:  # busy slots come in two samples
                        mid = a + (b - a) // 2
                        share = 0.35 + rnd() * 0.3
                        out.append((day, k, a, mid, created, share))
                        out.append((day, k, mid, b, created, 1.0 - share))
                    else:
                        out.append((day, k, a, b, created, 1.0))
        return out

    def steps_and_distance(self) -> None:
        for rtype, unit in ((f"{Q}StepCount", "count"), (f"{Q}DistanceWalkingRunning", "km")):
            for source in (PHONE, WATCH):
                rng = self.rng(f"dup:{rtype}:{source.key}")
                items = []
                for day, k, a, b, c, share in self._intervals(source):
                    if source is PHONE:
                        st = day.phone_steps[k]
                        dist = st * 0.00071
                    else:
                        st = day.steps[k] + day.wsteps[k]
                        dist = day.steps[k] * 0.00073 + day.wdist[k]
                    if rtype.endswith("StepCount"):
                        value = str(max(1, round(st * share)))
                    else:
                        value = f"{dist * share:.5g}"
                    items.append((day, c, a, b, value))
                self.simple(rtype, source, unit, items, DUPLICATE_P, rng)

    def basal_energy(self) -> None:
        rng = self.rng("basal")
        items = []
        for day in self.w.days:
            for k in range(0, day.n - 2, 3):
                if day.worn[k] and day.worn[k + 2]:
                    a = day.s + k * SLOT
                    kcal = (26.0 if day.asleep[k] else 32.0) + rng.uniform(-1.5, 1.5)
                    items.append(
                        (day, a + 1805 + int(rng.random() * 596), a, a + 1800, f"{kcal:.3f}")
                    )
        self.simple(f"{Q}BasalEnergyBurned", WATCH, "kcal", items, DUPLICATE_P, rng)

    def active_energy(self) -> None:
        rng = self.rng("active")
        items = []
        for day in self.w.days:
            for k in range(day.n):
                if day.worn[k] and day.kcal[k] > 0:
                    a = day.s + k * SLOT
                    items.append(
                        (day, a + SLOT + rng.randint(5, 300), a, a + SLOT, str(day.kcal[k]))
                    )
        self.simple(f"{Q}ActiveEnergyBurned", WATCH, "kcal", items, DUPLICATE_P, rng)

    def flights(self) -> None:
        rng = self.rng("flights")
        items = []
        for day in self.w.days:
            p = 0.25 if day.kind == "trip" else 0.12
            for k in range(day.n):
                if day.phone_steps[k] > 200 and rng.random() < p:
                    a = day.s + k * SLOT + rng.randint(0, 300)
                    b = a + rng.randint(20, 120)
                    items.append((day, b + rng.randint(5, 600), a, b, str(rng.randint(1, 3))))
        self.simple(f"{Q}FlightsClimbed", PHONE, "count", items)

    def dietary_records(self) -> None:
        for rtype, unit, _i in self._dietary_fields():
            for source in (FOOD, FOOD_AWAY):
                n = 0
                for day in self.w.days:
                    for meal in day.meals:
                        if meal[2] is source:
                            self.buf.append(self._dietary_line(day, meal, rtype, unit, _i, " "))
                            n += 1
                self.count(rtype, source, n)

    @staticmethod
    def _dietary_fields():
        return (
            (f"{Q}DietaryFatTotal", "g", 6),
            (f"{Q}DietaryEnergyConsumed", None, 3),
            (f"{Q}DietaryCarbohydrates", "g", 5),
            (f"{Q}DietaryProtein", "g", 4),
            (f"{Q}DietaryFiber", "g", 7),
            (f"{Q}DietarySugar", "g", 8),
            (f"{Q}DietarySodium", "mg", 9),
        )

    def _dietary_line(self, day, meal, rtype, unit, i, indent) -> str:
        fmt = self.w.fmt
        t, source = meal[1], meal[2]
        value = meal[i]
        if unit is None:  # energy: Cal at home, kJ from the European app
            unit, value = ("kJ", round(value * 4.184, 1)) if source is FOOD_AWAY else ("Cal", value)
        stamp = fmt(t)
        return (
            f'{indent}<Record type="{rtype}"{day.attrs[source.key]} unit="{unit}" '
            f'creationDate="{fmt(t + 1800)}" startDate="{stamp}" endDate="{stamp}" '
            f'value="{value:g}"/>\n'
        )

    def exercise_time(self) -> None:
        rng = self.rng("exercise")
        items = []
        for day in self.w.days:
            for k in range(day.n):
                if day.worn[k]:
                    for m in range(day.exercise[k]):
                        a = day.s + k * SLOT + m * 60
                        items.append((day, a + 61 + int(rng.random() * 120), a, a + 60, "1"))
        self.simple(f"{Q}AppleExerciseTime", WATCH, "min", items)

    def resting_heart_rate(self) -> None:
        rng = self.rng("rhr")
        items = []
        for day in self.w.days:
            if day.e - day.s < 20 * 3600:
                continue
            a = day.s + rng.randint(60, 900)
            b = day.e - rng.randint(2 * 3600, 3 * 3600)
            items.append((day, b + 30, a, b, str(round(day.rhr))))
        self.simple(f"{Q}RestingHeartRate", WATCH, "count/min", items)

    def vo2max(self) -> None:
        items = []
        for day in self.w.days:
            for wk in day.workouts:
                if wk.activity == "Running":
                    value = f"{44.0 + 1.5 * day.index / 365 + (wk.distance % 1) * 0.8:.2f}"
                    kids = _meta("HKVO2MaxTestType", "2")
                    items.append((day, wk.end + 60, wk.end, wk.end, value, kids))
        self.simple(f"{Q}VO2Max", WATCH, "mL/min·kg", items)

    def audio_exposure(self) -> None:
        rng = self.rng("audio")
        env, phones = [], []
        for day in self.w.days:
            for k in range(0, day.n - 2, 3):
                if all(day.worn[j] and not day.asleep[j] for j in (k, k + 1, k + 2)):
                    a = day.s + k * SLOT
                    loud = min(22.0, (day.steps[k] + day.wsteps[k]) / 60)
                    value = f"{rng.uniform(48, 60) + loud:.4g}"
                    env.append((day, a + 1800 + rng.randint(5, 600), a, a + 1800, value))
            if day.kind == "weekday":
                for hour in (7.9, 17.8):
                    a = _wall(day.d, hour + rng.uniform(0, 0.3), day.zone)
                    b = a + rng.randint(15, 35) * 60
                    phones.append((day, b + 60, a, b, f"{rng.uniform(61, 74):.4g}"))
        self.simple(f"{Q}EnvironmentalAudioExposure", WATCH, "dBASPL", env)
        self.simple(f"{Q}HeadphoneAudioExposure", PHONE, "dBASPL", phones)

    def walking_speed(self) -> None:
        rng = self.rng("walking_speed")
        items = []
        for day in self.w.days:
            for k in range(day.n):
                if day.phone_steps[k] > 500 and rng.random() < 0.3:
                    a = day.s + k * SLOT + rng.randint(0, 400)
                    b = a + rng.randint(20, 90)
                    items.append((day, b + 20, a, b, f"{rng.uniform(4.3, 5.6):.3g}"))
        self.simple(f"{Q}WalkingSpeed", PHONE, "km/hr", items)

    def hrv(self) -> None:
        w = self.w
        rng = self.rng("hrv")
        items = []
        for day in w.days:
            busy = set()
            for wk in day.workouts:
                busy.update(range((wk.start - day.s) // SLOT, (wk.end - day.s) // SLOT + 1))
            slots = [k for k in range(day.n) if day.worn[k] and k not in busy]
            for k in sorted(rng.sample(slots, min(len(slots), rng.randint(3, 6)))):
                t = day.s + k * SLOT + rng.randint(0, 400)
                asleep = day.asleep[k]
                sdnn = rng.uniform(48, 78) if asleep else rng.uniform(28, 55)
                if day.kind in ("trip", "arrive", "return"):
                    sdnn -= 7
                bpm = day.hr_target[k]
                beat = t + w.offset_at(t) - (t + w.offset_at(t)) // 86400 * 86400 + rng.random()
                lines = ["  <HeartRateVariabilityMetadataList>\n"]
                for _ in range(int(bpm)):
                    b = bpm + rng.uniform(-sdnn / 9, sdnn / 9)
                    lines.append(
                        f'   <InstantaneousBeatsPerMinute bpm="{round(b)}" '
                        f'time="{_clock12(beat)}"/>\n'
                    )
                    beat += 60 / b
                lines.append("  </HeartRateVariabilityMetadataList>\n")
                items.append((day, t + 65, t, t + 60, f"{sdnn:.5g}", "".join(lines)))
        self.simple(f"{Q}HeartRateVariabilitySDNN", WATCH, "ms", items)

    def stand_time(self) -> None:
        rng = self.rng("stand_time")
        items = []
        for day in self.w.days:
            for k in range(day.n):
                if day.stand[k] and day.worn[k]:
                    a = day.s + k * SLOT + int(rng.random() * 121)
                    b = a + day.stand[k] * 60
                    items.append((day, b + 5 + int(rng.random() * 396), a, b, str(day.stand[k])))
        self.simple(f"{Q}AppleStandTime", WATCH, "min", items)

    def sleep_goal(self) -> None:
        day = self.w.days[0]
        t = day.s + 8 * 3600 + 77
        self.simple("HKDataTypeSleepDurationGoal", HEALTH, "hr", [(day, t, t, t, "8")])

    def sleep(self) -> None:
        w = self.w
        in_bed, stages, app = [], [], []
        for night in w.nights:
            day = self._day_of(night.bed)
            a, b = max(night.bed, w.first_s), min(night.wake, w.last_e)
            if night.style == "app":
                app.append((day, b + 1200, a, b, f"{_SV}InBed"))
                app.extend((day, b + 1200, x, y, v) for x, y, v in night.cycles)
            else:
                in_bed.append((day, b + 60, a, b, f"{_SV}InBed"))
                stages.extend((day, b + 600, x, y, v) for x, y, v in night.cycles)
        self.simple(SLEEP, PHONE, None, in_bed)
        self.simple(SLEEP, WATCH, None, stages)
        self.simple(SLEEP, SLEEP_APP, None, app)

    def _day_of(self, t: int) -> _Day:
        days = self.w.days
        return days[max(0, bisect_right(self.w.day_starts, t) - 1)]

    def stand_hour(self) -> None:
        items = []
        for day in self.w.days:
            for a, stood in self.w.stand_hours(day):
                value = "HKCategoryValueAppleStandHour" + ("Stood" if stood else "Idle")
                items.append((day, a + 3600 + 45, a, a + 3600, value))
        self.simple(f"{C}AppleStandHour", WATCH, None, items)

    def mindful(self) -> None:
        rng = self.rng("mindful")
        watch, app = [], []
        for day in self.w.days:
            wd = day.d.weekday()
            if wd in (0, 2, 4) and rng.random() < 0.7:
                a = _wall(day.d, 21.4 + rng.uniform(0, 0.4), day.zone)
                b = a + rng.randint(1, 3) * 60
                if day.s <= a and b < day.e:
                    watch.append((day, b + 3, a, b, NOT_APPLICABLE))
            if day.kind == "weekday" and rng.random() < 0.3:
                a = _wall(day.d, 7.1 + rng.uniform(0, 0.2), day.zone)
                b = a + rng.randint(600, 660)
                app.append((day, b + 2, a, b, NOT_APPLICABLE))
        self.simple(f"{C}MindfulSession", WATCH, None, watch)
        self.simple(f"{C}MindfulSession", MEDITATION, None, app)

    def handwashing(self) -> None:
        rng = self.rng("handwashing")
        items = []
        for day in self.w.days:
            slots = [k for k in range(day.n) if day.worn[k] and not day.asleep[k]]
            for k in sorted(rng.sample(slots, min(len(slots), rng.randint(2, 6)))):
                a = day.s + k * SLOT + rng.randint(0, 500)
                b = a + rng.randint(20, 45)
                items.append((day, b + 1, a, b, NOT_APPLICABLE))
        self.simple(f"{C}HandwashingEvent", WATCH, None, items)

    # -- correlations, workouts, summaries -------------------------------------------------

    def correlations_part(self) -> None:
        fmt, add = self.w.fmt, self.buf.append
        bp_type, food_type = (
            "HKCorrelationTypeIdentifierBloodPressure",
            "HKCorrelationTypeIdentifierFood",
        )
        for day in self.w.days:
            if day.bp:
                t = day.bp[0]
                stamp = fmt(t)
                dia, sys_ = self._bp_children(day, "  ")
                add(
                    f' <Correlation type="{bp_type}"{day.attrs["bp"]} creationDate="{fmt(t + 3)}" '
                    f'startDate="{stamp}" endDate="{stamp}">\n{dia}{sys_} </Correlation>\n'
                )
                self._count_correlation(
                    bp_type, (f"{Q}BloodPressureDiastolic", f"{Q}BloodPressureSystolic")
                )
            for meal in day.meals:
                t, source = meal[1], meal[2]
                stamp = fmt(t)
                kids = [_meta("meal", meal[0])]
                kids += [
                    self._dietary_line(day, meal, r, u, i, "  ")
                    for r, u, i in self._dietary_fields()
                ]
                add(
                    f' <Correlation type="{food_type}"{day.attrs[source.key]} '
                    f'creationDate="{fmt(t + 1800)}" startDate="{stamp}" endDate="{stamp}">\n'
                    f"{''.join(kids)} </Correlation>\n"
                )
                self._count_correlation(food_type, [r for r, _u, _i in self._dietary_fields()])

    def _count_correlation(self, ctype: str, children) -> None:
        self.correlations[ctype] = self.correlations.get(ctype, 0) + 1
        for r in children:
            self.nested[r] = self.nested.get(r, 0) + 1

    def workouts_part(self) -> None:
        w = self.w
        fmt, add = w.fmt, self.buf.append
        rng = self.rng("workouts")
        names: set[str] = set()
        for day in w.days:
            for wk in day.workouts:
                activity = f"HKWorkoutActivityType{wk.activity}"
                paused = (wk.pause[1] - wk.pause[0]) if wk.pause else 0
                duration = (wk.end - wk.start - paused) / 60
                start, end = fmt(wk.start), fmt(wk.end)
                attrs = day.attrs["watch"]
                parts = [
                    f' <Workout workoutActivityType="{activity}" duration="{duration:.10g}" '
                    f'durationUnit="min"{attrs} creationDate="{fmt(wk.end + rng.randint(5, 40))}" '
                    f'startDate="{start}" endDate="{end}">\n'
                ]
                zone = day.zone.key
                parts.append(_meta("HKIndoorWorkout", "1" if wk.indoor else "0"))
                parts.append(_meta("HKTimeZone", zone))
                if not wk.indoor:
                    parts.append(_meta("HKWeatherTemperature", f"{rng.uniform(45, 66):.1f} degF"))
                    parts.append(_meta("HKWeatherHumidity", f"{rng.randint(45, 92) * 100} %"))
                    parts.append(_meta("HKElevationAscended", f"{rng.randint(800, 6000)} cm"))
                mets = wk.calories / 63.0 / (duration / 60) if duration else 0
                parts.append(_meta("HKAverageMETs", f"{mets:.5g} kcal/hr·kg"))
                # Events: a pause, and a segment per full kilometre.
                events = []
                if wk.pause:
                    events.append((wk.pause[0], "HKWorkoutEventTypePause", None))
                    events.append((wk.pause[1], "HKWorkoutEventTypeResume", None))
                if not wk.indoor:
                    covered, split_start, t = 0.0, wk.start, wk.start
                    for v, moving in zip(wk.speeds, wk.moving, strict=True):
                        t += TICK
                        if moving:
                            covered += v * TICK
                            if covered >= 1000:
                                covered -= 1000
                                events.append(
                                    (split_start, "HKWorkoutEventTypeSegment", t - split_start)
                                )
                                split_start = t
                for at, etype, length in sorted(events, key=lambda e: e[0]):
                    extra = f' duration="{length / 60:.10g}" durationUnit="min"' if length else ""
                    parts.append(f'  <WorkoutEvent type="{etype}" date="{fmt(at)}"{extra}/>\n')
                # Statistics, from exactly what the records of the workout say.
                stat = f'  <WorkoutStatistics type="{Q}%s" startDate="{start}" endDate="{end}" '
                parts.append(
                    stat % "ActiveEnergyBurned" + f'sum="{wk.calories:.6g}" unit="kcal"/>\n'
                )
                basal = (wk.end - wk.start) / 60 * 1.07
                parts.append(stat % "BasalEnergyBurned" + f'sum="{basal:.6g}" unit="kcal"/>\n')
                if not wk.indoor:
                    parts.append(
                        stat % "DistanceWalkingRunning" + f'sum="{wk.distance:.6g}" unit="km"/>\n'
                    )
                    parts.append(
                        stat % "StepCount"
                        + f'sum="{round(sum(wk.steps_per_tick))}" unit="count"/>\n'
                    )
                avg = sum(wk.hr) / len(wk.hr)
                parts.append(
                    stat
                    % "HeartRate"
                    + f'average="{avg:.6g}" minimum="{min(wk.hr)}" maximum="{max(wk.hr)}" '
                    'unit="count/min"/>\n'
                )
                if wk.route and self.routes:
                    name = self._route_name(wk, names)
                    self.route_files.append((name, wk))
                    parts.append(
                        f'  <WorkoutRoute{attrs} creationDate="{fmt(wk.end + 60)}" '
                        f'startDate="{start}" endDate="{end}">\n'
                        + _meta("HKMetadataKeySyncVersion", "2", "   ")
                        + _meta("HKMetadataKeySyncIdentifier", wk.uuid, "   ")
                        + f'   <FileReference path="/{ROUTES_DIR}/{name}"/>\n'
                        "  </WorkoutRoute>\n"
                    )
                parts.append(" </Workout>\n")
                add("".join(parts))
                self.workouts[activity] = self.workouts.get(activity, 0) + 1

    def _route_name(self, wk: _Workout, taken: set[str]) -> str:
        local = wk.start + self.w.offset_at(wk.start)
        hours, minutes = divmod(local % 86400 // 60, 60)
        stamp = (
            f"{self.w.local_day_text(wk.start)}_{(hours % 12) or 12}.{minutes:02d}"
            f"{'am' if hours < 12 else 'pm'}"
        )
        name, i = f"route_{stamp}.gpx", 1
        while name in taken:
            i += 1
            name = f"route_{stamp}_{i}.gpx"
        taken.add(name)
        return name

    def activity_summaries(self) -> None:
        add = self.buf.append
        for day in self.w.days:
            key = day.d.isoformat()
            kcal, exercise, stand = self.w.summaries.get(key, (0.0, 0, 0))
            goal = 500 if day.index < 60 else 550
            add(
                f' <ActivitySummary dateComponents="{key}" activeEnergyBurned="{round(kcal, 3)}" '
                f'activeEnergyBurnedGoal="{goal}" activeEnergyBurnedUnit="Cal" '
                'appleMoveTime="0" appleMoveTimeGoal="0" '
                f'appleExerciseTime="{exercise}" appleExerciseTimeGoal="30" '
                f'appleStandHours="{stand}" appleStandHoursGoal="12"/>\n'
            )
            self.summaries += 1

    # -- routes ------------------------------------------------------------------------------

    def write_route(self, stream, name: str, wk: _Workout) -> None:
        """A GPX 1.1 track: a loop from home (or the hotel), one point every ROUTE_STEP
        seconds while moving, positions integrated from the workout's speeds."""
        w = self.w
        utc = w.utc
        rng = random.Random(f"{w.seed}:route:{wk.uuid}")  # noqa: S311 - a simulation
        lat, lon = AWAY_GPS if wk.day.zone == AWAY_TZ else HOME_GPS
        lat += rng.uniform(-0.004, 0.004)
        lon += rng.uniform(-0.004, 0.004)
        heading = rng.uniform(0, 2 * math.pi)
        turn = 2 * math.pi / max(1, wk.end - wk.start) * ROUTE_STEP
        ele0 = rng.uniform(10, 60)
        local = wk.start + w.offset_at(wk.start)
        hours, minutes = divmod(local % 86400 // 60, 60)
        title = (
            f"Route {w.local_day_text(wk.start)} {(hours % 12) or 12}:{minutes:02d}"
            f"{'am' if hours < 12 else 'pm'}"
        )
        out = [
            _GPX_HEAD,
            f" <metadata>\n  <time>{utc(wk.end)}</time>\n </metadata>\n",
            f" <trk>\n  <name>{title}</name>\n  <trkseg>\n",
        ]
        cos_lat = math.cos(math.radians(lat))
        rnd = rng.random
        accuracy = [
            f"<hAcc>{rng.uniform(1.5, 6):.6f}</hAcc><vAcc>{rng.uniform(1.2, 4):.6f}</vAcc>"
            for _ in range(37)
        ]
        deg_lat, deg_lon = ROUTE_STEP / 111_320, ROUTE_STEP / (111_320 * cos_lat)
        speeds, moving, start = wk.speeds, wk.moving, wk.start
        for i in range(0, wk.end - wk.start, ROUTE_STEP):
            j = i // TICK
            if not moving[j]:
                continue
            v = speeds[j]
            heading += turn + (rnd() - 0.5) * 0.1
            lat += v * deg_lat * math.cos(heading)
            lon += v * deg_lon * math.sin(heading)
            out.append(
                f'   <trkpt lon="{lon:.6f}" lat="{lat:.6f}">'
                f"<ele>{ele0 + 8 * math.sin(i / 300) + rnd() * 0.4:.6f}</ele>"
                f"<time>{utc(start + i)}</time><extensions><speed>{v:.6f}</speed>"
                f"<course>{math.degrees(heading) % 360:.6f}</course>{accuracy[i % 37]}"
                "</extensions></trkpt>\n"
            )
        out.append("  </trkseg>\n </trk>\n</gpx>\n")
        stream.write("".join(out).encode())

    # -- the counts --------------------------------------------------------------------------

    def result(self) -> dict:
        total_records = sum(self.records.values())
        total_workouts = sum(self.workouts.values())
        total_correlations = sum(self.correlations.values())
        return {
            "records": dict(sorted(self.records.items())),
            "correlations": dict(sorted(self.correlations.items())),
            "correlation_records": dict(sorted(self.nested.items())),
            "workouts": dict(sorted(self.workouts.items())),
            "activity_summaries": self.summaries,
            "routes": len(self.route_files),
            "sources": dict(sorted(self.sources.items())),
            "duplicates": self.duplicates,
            "unknown_types": [t for t in UNKNOWN_TYPES if t in self.records],
            "total_records": total_records,
            "total_elements": total_records + total_correlations + total_workouts + self.summaries,
            "xml_bytes": self.bytes,
            "start": self.w.start.isoformat(),
            "end": self.w.end.isoformat(),
            "trip": [d.isoformat() for d in self.w.trip] if self.w.trip else None,
        }


def _zip_info(name: str, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.compress_level = ZIP_LEVEL
    info.external_attr = 0o644 << 16
    return info


def generate_export(
    path,
    *,
    seed: int = 1,
    days: int = 30,
    end: date = date(2024, 3, 31),
    watch_hr_every_minutes: int = 5,
    zip: bool = True,
    routes: bool = True,
) -> dict:
    """Write a simulated Apple Health export of `days` days ending with `end` to `path`.

    `zip=True`: an export.zip with apple_health_export/export.xml and, with `routes`, the
    GPX files under apple_health_export/workout-routes/. `zip=False`: a bare export.xml
    at `path`, its route files (with `routes`) in a workout-routes/ folder beside it, as
    an unpacked export has them. The watch samples heart rate every
    `watch_hr_every_minutes` minutes (every 5 s during workouts).

    Returns the counts of what was written:
      records               top-level <Record> elements per type (duplicates and the
                            top-level copies of correlation children included)
      correlations          <Correlation> elements per type
      correlation_records   <Record> elements nested in correlations, per type
      workouts              <Workout> elements per workoutActivityType
      activity_summaries    <ActivitySummary> elements
      routes                GPX route files (each referenced by one FileReference)
      sources               top-level records per sourceName
      duplicates            records written twice (each counted twice in records)
      unknown_types         types written that HealthHub may not map
      total_records, total_elements (top-level Record, Correlation, Workout,
      ActivitySummary), xml_bytes, start, end, trip (first and last day in Berlin).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if watch_hr_every_minutes < 1:
        raise ValueError("watch_hr_every_minutes must be at least 1")
    world = _World(seed, days, end, watch_hr_every_minutes)
    path = Path(path)
    stamp = datetime.fromtimestamp(world.export_time, world.zone(end + timedelta(days=1)))
    if zip:
        with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
            with archive.open(_zip_info(MEMBER_XML, stamp), "w", force_zip64=True) as member:
                writer = _Writer(world, member, routes)
                writer.write()
            for name, wk in writer.route_files:
                info = _zip_info(f"{EXPORT_DIR}/{ROUTES_DIR}/{name}", stamp)
                with archive.open(info, "w") as member:
                    writer.write_route(member, name, wk)
    else:
        with open(path, "wb") as fh:
            writer = _Writer(world, fh, routes)
            writer.write()
        if writer.route_files:
            folder = path.parent / ROUTES_DIR
            folder.mkdir(exist_ok=True)
            for name, wk in writer.route_files:
                with open(folder / name, "wb") as fh:
                    writer.write_route(fh, name, wk)
    return writer.result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m imports.apple_health.generator",
        description="Write a simulated, deterministic Apple Health export.",
    )
    parser.add_argument("out", help="export.zip to write (export.xml with --xml)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hr-every", type=int, default=5, help="minutes between HR samples")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2024, 3, 31))
    parser.add_argument("--xml", action="store_true", help="a bare export.xml, not a zip")
    parser.add_argument("--no-routes", action="store_true", help="no workout routes")
    args = parser.parse_args(argv)
    began = _time.perf_counter()
    counts = generate_export(
        args.out,
        seed=args.seed,
        days=args.days,
        end=args.end,
        watch_hr_every_minutes=args.hr_every,
        zip=not args.xml,
        routes=not args.no_routes,
    )
    elapsed = _time.perf_counter() - began
    sys.stdout.write(json.dumps(counts, indent=2, ensure_ascii=False) + "\n")
    size = Path(args.out).stat().st_size
    sys.stderr.write(
        f"{counts['total_records']} records, {counts['total_elements']} elements in "
        f"{elapsed:.1f}s ({counts['total_records'] / elapsed:,.0f} records/s); "
        f"XML {counts['xml_bytes'] / 1e6:.1f} MB, file {size / 1e6:.1f} MB\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
