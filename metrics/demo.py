"""Deterministic, realistic multi-source demo history (no I/O: it only yields records).

One person, living in Los Angeles, with:
- an Apple Watch and an iPhone (through Apple Health) that both count steps and distance,
  overlapping whenever the phone is in a pocket while the watch is worn; the watch also
  records heart rate, active energy and workouts (runs, rides);
- an Oura ring and a WHOOP strap that both score every night's sleep (with stages) and
  report readiness / recovery, resting heart rate and HRV;
- a Withings scale (weight, body fat) most mornings; Strava copies of the runs;
- a MyFitnessPal food log (three meals a day);
- weekly rhythms (longer sleep and more steps at weekends), DST changes, and a ten-day
  trip to Berlin every year (offsets from UTC-8/-7 to UTC+1/+2 and back).

Each day's values depend only on (seed, date), so any range of days gives the same values
for the days it shares with another range: loading again is an idempotent no-op.
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from metrics.schemas import SampleIn, SleepSessionIn, SourceRef, StageIn, WorkoutIn

HOME = ZoneInfo("America/Los_Angeles")
TRIP = ZoneInfo("Europe/Berlin")

WATCH = SourceRef("apple_health", "Apple Watch", "Watch7,2")
PHONE = SourceRef("apple_health", "iPhone", "iPhone15,2")
OURA = SourceRef("oura", "Oura Ring", "Gen3")
WHOOP = SourceRef("whoop", "WHOOP", "4.0")
SCALE = SourceRef("withings", "Body+", "WBS05")
STRAVA = SourceRef("strava", "Strava", "")
FOOD = SourceRef("myfitnesspal", "MyFitnessPal", "")


@dataclass(frozen=True)
class DemoDay:
    day: date
    tz: ZoneInfo
    rng: random.Random

    def at(self, hour: float) -> datetime:
        """The UTC instant `hour` elapsed hours after this day's local midnight (negative:
        before it). Elapsed time, so it never falls into a DST gap or runs backwards."""
        midnight = datetime.combine(self.day, time(), self.tz).astimezone(UTC)
        return midnight + timedelta(hours=hour)

    def offset(self, moment: datetime) -> int:
        return int(moment.astimezone(self.tz).utcoffset().total_seconds() // 60)

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5


def _where(day: date) -> ZoneInfo:
    trip_start = date(day.year, 9, 12)
    return TRIP if trip_start <= day < trip_start + timedelta(days=10) else HOME


def demo_day(day: date, seed: int, purpose: str) -> DemoDay:
    rng = random.Random(f"{seed}:{purpose}:{day.isoformat()}")  # noqa: S311 (demo data)
    return DemoDay(day, _where(day), rng)


def days_between(first: date, last: date) -> Iterator[date]:
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


# --- samples ---------------------------------------------------------------------------


def day_samples(d: DemoDay, *, hr_every_minutes: int = 5) -> Iterator[SampleIn]:
    rng = d.rng
    wake = 7.0 + (1.0 if d.weekend else 0) + rng.uniform(-0.4, 0.4)
    bed = 23.0 + rng.uniform(-0.5, 0.5)
    activity = 1.3 if d.weekend else 1.0
    watch_off = (18.5, 19.5)  # the watch charges in the evening; the phone keeps counting

    # Steps and distance in 15-minute chunks from wake to bed.
    hour = wake
    while hour < bed:
        start, end = d.at(hour), d.at(hour + 0.25)
        offset = d.offset(start)
        base = max(0.0, rng.gauss(150, 80)) * activity
        if 12 <= hour < 13 or 17.5 <= hour < 18:
            base *= 2.5  # lunch and after-work walks
        steps = round(base)
        in_pocket = rng.random() < 0.55
        watch_worn = not watch_off[0] <= hour < watch_off[1]
        if watch_worn and steps:
            yield SampleIn("steps", start, end, steps, "count", WATCH, offset)
            yield SampleIn(
                "distance_walking_running", start, end, round(steps * 0.76, 1), "m", WATCH, offset
            )
            yield SampleIn(
                "active_energy", start, end, round(steps * 0.045, 2), "kcal", WATCH, offset
            )
        if (in_pocket or not watch_worn) and steps:
            # The phone undercounts a little and sees only part of the watch's steps.
            phone_steps = round(steps * rng.uniform(0.7, 0.95))
            if phone_steps:
                yield SampleIn("steps", start, end, phone_steps, "count", PHONE, offset)
                yield SampleIn(
                    "distance_walking_running",
                    start,
                    end,
                    round(phone_steps * 0.0004724, 4),
                    "mi",
                    PHONE,
                    offset,
                )
        hour += 0.25
    # Flights climbed (phone), a few times a day.
    for _ in range(rng.randint(2, 8)):
        start = d.at(rng.uniform(wake, bed))
        yield SampleIn(
            "flights_climbed",
            start,
            start + timedelta(minutes=1),
            1,
            "count",
            PHONE,
            d.offset(start),
        )
    # Heart rate from the watch while worn (awake and asleep).
    resting = 58 + 4 * math.sin(d.day.toordinal() / 9) + rng.uniform(-1, 1)
    minute = 0
    while minute < 24 * 60:
        hour = minute / 60
        if not watch_off[0] <= hour < watch_off[1]:
            moment = d.at(hour)
            asleep = hour < wake or hour >= bed
            bpm = resting + (-6 if asleep else 14 + 10 * rng.random())
            if 17.5 <= hour < 18.25 and d.day.weekday() in (1, 3, 5):
                bpm += 70  # the run
            yield SampleIn(
                "heart_rate",
                moment,
                moment,
                round(bpm + rng.gauss(0, 2), 1),
                "count/min",
                WATCH,
                d.offset(moment),
            )
        minute += hr_every_minutes
    # Basal energy: one value per hour from the watch.
    for h in range(24):
        start = d.at(h)
        yield SampleIn(
            "basal_energy",
            start,
            d.at(h + 1),
            round(rng.uniform(68, 74), 1),
            "kcal",
            WATCH,
            d.offset(start),
        )
    # Morning weigh-in on the scale (kg), most days; the scale reports in pounds weekly
    # to the phone too (relayed through Apple Health).
    if rng.random() < 0.8:
        moment = d.at(wake + 0.2)
        kg = 74.5 + 1.2 * math.sin(d.day.toordinal() / 40) + rng.gauss(0, 0.25)
        yield SampleIn("body_mass", moment, moment, round(kg, 2), "kg", SCALE, d.offset(moment))
        yield SampleIn(
            "body_fat_percentage",
            moment,
            moment,
            round(19 + rng.gauss(0, 0.4), 1),
            "%",
            SCALE,
            d.offset(moment),
        )
        if d.day.weekday() == 0:
            yield SampleIn(
                "body_mass",
                moment,
                moment,
                round(kg / 0.45359237, 1),
                "lb",
                PHONE,
                d.offset(moment),
            )
    # Food: three meals.
    for meal_hour, share in ((8.0, 0.25), (12.5, 0.35), (19.5, 0.4)):
        moment = d.at(meal_hour + rng.uniform(-0.5, 0.5))
        kcal = rng.gauss(2300, 250) * share
        offset = d.offset(moment)
        yield SampleIn("dietary_energy", moment, moment, round(kcal), "kcal", FOOD, offset)
        yield SampleIn("protein", moment, moment, round(kcal * 0.25 / 4, 1), "g", FOOD, offset)
        yield SampleIn(
            "carbohydrates", moment, moment, round(kcal * 0.45 / 4, 1), "g", FOOD, offset
        )
        yield SampleIn("fat", moment, moment, round(kcal * 0.30 / 9, 1), "g", FOOD, offset)
    # Daily scores and overnight physiology from the ring and the strap.
    morning = d.at(wake)
    offset = d.offset(morning)
    readiness = max(30, min(99, round(rng.gauss(78, 8))))
    yield SampleIn("readiness_score", morning, morning, readiness, "{score}", OURA, offset)
    yield SampleIn(
        "recovery_score",
        morning,
        morning,
        max(5, min(99, round(readiness + rng.gauss(-5, 10)))),
        "%",
        WHOOP,
        offset,
    )
    yield SampleIn(
        "strain", morning, morning, round(rng.uniform(6, 17), 1), "{score}", WHOOP, offset
    )
    for source, metric, value in (
        (OURA, "resting_heart_rate", resting - 3),
        (WHOOP, "resting_heart_rate", resting - 2),
        (OURA, "hrv_rmssd", 48 + rng.gauss(0, 6)),
        (WHOOP, "hrv_rmssd", 52 + rng.gauss(0, 6)),
        (OURA, "skin_temperature_deviation", rng.gauss(0, 0.2)),
    ):
        yield SampleIn(
            metric,
            morning,
            morning,
            round(value, 1),
            "Cel" if metric.startswith("skin") else ("ms" if "hrv" in metric else "/min"),
            source,
            offset,
        )


# --- sleep and workouts ------------------------------------------------------------------


def night_sleep(d: DemoDay) -> list[SleepSessionIn]:
    """The night that ends on the morning of d.day, as the ring and the strap saw it."""
    rng = d.rng
    bed = -1.0 + rng.uniform(-0.5, 0.5)  # hours relative to this day's midnight
    length = (8.4 if d.weekend else 7.4) + rng.uniform(-0.6, 0.6)
    sessions = []
    for source, shift in ((OURA, 0.0), (WHOOP, rng.uniform(-0.15, 0.15))):
        start_hour = bed + shift
        stages: list[StageIn] = []
        hour = start_hour + 0.2  # latency
        stages.append(StageIn("awake", d.at(start_hour), d.at(hour)))
        cycle = 0
        while hour < start_hour + length - 0.1:
            for stage, minutes in (
                ("light", 25),
                ("deep", 35 - 8 * cycle),
                ("light", 15),
                ("rem", 15 + 6 * cycle),
            ):
                minutes = max(5, minutes + rng.randint(-5, 5))
                end = min(hour + minutes / 60, start_hour + length)
                if end <= hour:
                    break
                stages.append(StageIn(stage, d.at(hour), d.at(end)))
                hour = end
            cycle += 1
        start, end = d.at(start_hour), d.at(start_hour + length)
        sessions.append(
            SleepSessionIn(
                source=source,
                start=start,
                end=end,
                stages=tuple(stages),
                utc_offset=d.offset(end),
                score=max(40, min(99, round(rng.gauss(80, 7)))),
                latency_minutes=12.0,
            )
        )
    return sessions


def day_workouts(d: DemoDay) -> list[WorkoutIn]:
    rng = d.rng
    workouts = []
    if d.day.weekday() in (1, 3, 5):
        start, end = d.at(17.5), d.at(18.25 + rng.uniform(0, 0.1))
        km = round(rng.uniform(6.5, 9.5), 2)
        for source in (WATCH, STRAVA):
            workouts.append(
                WorkoutIn(
                    source=source,
                    activity_type="running",
                    start=start,
                    end=end,
                    utc_offset=d.offset(start),
                    distance_m=km * 1000,
                    energy_kcal=round(km * 68),
                    heart_rate_avg=round(rng.uniform(145, 158)),
                    heart_rate_max=round(rng.uniform(170, 182)),
                    elevation_gain_m=round(rng.uniform(20, 90)),
                )
            )
    if d.day.weekday() == 6:
        start, end = d.at(10), d.at(11.5)
        workouts.append(
            WorkoutIn(
                source=WATCH,
                activity_type="cycling",
                start=start,
                end=end,
                utc_offset=d.offset(start),
                distance_m=round(rng.uniform(25, 45)) * 1000,
                energy_kcal=round(rng.uniform(600, 900)),
                heart_rate_avg=132,
                heart_rate_max=165,
            )
        )
    return workouts


@dataclass
class DemoHistory:
    first: date
    last: date
    seed: int = 7
    hr_every_minutes: int = 5

    def days(self, purpose: str) -> Iterator[DemoDay]:
        for day in days_between(self.first, self.last):
            yield demo_day(day, self.seed, purpose)

    def samples(self) -> Iterator[SampleIn]:
        for d in self.days("samples"):
            yield from day_samples(d, hr_every_minutes=self.hr_every_minutes)

    def sleep_sessions(self) -> Iterator[SleepSessionIn]:
        for d in self.days("sleep"):
            yield from night_sleep(d)

    def workouts(self) -> Iterator[WorkoutIn]:
        for d in self.days("workouts"):
            yield from day_workouts(d)
