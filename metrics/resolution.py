"""How overlapping sources become one number (pure functions: no database, no Django).

- Cumulative metrics (steps, distance, energy, nutrients...) merge by time span, as Apple
  Health does: walk the sources from highest to lowest priority; each sample counts only
  for the part of its interval that no higher-priority source already covers (pro rata by
  time within the sample); lower-priority sources fill the spans nobody better covered.
  An instantaneous sample (start == end) counts unless a better source covers its instant.
- Discrete metrics (heart rate, weight...): per bucket, the best source with data.
- Daily scores (readiness, sleep score...): per day, the best source that has one.
- Nightly sleep durations: the best source's night (they summarise a session each).
- Sleep sessions and workouts: records of different sources that overlap by more than half
  of the shorter one are one event; the best source's record stands for it.

Every result carries its provenance: what each source contributed and what was set aside.
"""

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

# A sample for merging: (start, end, value), times as POSIX seconds.
Span = tuple[float, float, float]


@dataclass
class Resolved:
    value: float
    contributions: dict[int, float] = field(default_factory=dict)  # source id -> counted
    set_aside: dict[int, float] = field(default_factory=dict)  # source id -> not counted
    chosen: int | None = None  # discrete/score: the source whose value was taken

    def provenance(self) -> dict:
        return {
            "chosen": self.chosen,
            "contributions": {str(k): round(v, 6) for k, v in self.contributions.items()},
            "set_aside": {str(k): round(v, 6) for k, v in self.set_aside.items() if v},
        }


class Coverage:
    """A union of disjoint half-open intervals, kept sorted."""

    def __init__(self):
        self.starts: list[float] = []
        self.ends: list[float] = []

    def covered_length(self, start: float, end: float) -> float:
        total = 0.0
        i = bisect_left(self.ends, start + 1e-12)  # the first interval ending after start
        while i < len(self.starts) and self.starts[i] < end:
            total += max(0.0, min(end, self.ends[i]) - max(start, self.starts[i]))
            i += 1
        return total

    def covers_instant(self, moment: float) -> bool:
        i = bisect_left(self.ends, moment + 1e-12)
        return i < len(self.starts) and self.starts[i] <= moment

    def add_all(self, spans: Sequence[Span]) -> None:
        intervals = [(s, e) for s, e, _ in spans if e > s]
        if not intervals:
            return
        merged: list[list[float]] = []
        for s, e in sorted([*zip(self.starts, self.ends, strict=True), *intervals]):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]


def merge_cumulative(by_source: Sequence[tuple[int, Sequence[Span]]]) -> Resolved:
    """by_source: (source id, its spans) from the highest priority to the lowest."""
    coverage = Coverage()
    result = Resolved(value=0.0)
    for source_id, spans in by_source:
        counted = aside = 0.0
        for start, end, value in spans:
            if end > start:
                uncovered = (end - start) - coverage.covered_length(start, end)
                share = value * max(0.0, uncovered) / (end - start)
            else:
                share = 0.0 if coverage.covers_instant(start) else value
            counted += share
            aside += value - share
        result.contributions[source_id] = counted
        result.set_aside[source_id] = aside
        result.value += counted
        coverage.add_all(spans)
    return result


def pick_best(by_source: Sequence[tuple[int, float | None]]) -> Resolved | None:
    """Discrete and score metrics: the first source (in priority order) with a value; the
    others are listed as set aside (alternatives)."""
    chosen = None
    for source_id, value in by_source:
        if value is not None:
            chosen = (source_id, value)
            break
    if chosen is None:
        return None
    result = Resolved(value=chosen[1], chosen=chosen[0], contributions={chosen[0]: chosen[1]})
    result.set_aside = {s: v for s, v in by_source if v is not None and s != chosen[0]}
    return result


def overlap_fraction(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The overlap of two intervals as a fraction of the shorter one."""
    shorter = min(a[1] - a[0], b[1] - b[0])
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    if shorter <= 0:
        return 1.0 if overlap >= 0 else 0.0
    return max(0.0, overlap) / shorter


def collapse_duplicates(
    records: Sequence[tuple[int, int, float, float]],
    rank: dict[int, int],
    threshold: float = 0.5,
) -> list[tuple[int, list[int]]]:
    """records: (record id, source id, start, end). Records of different sources that
    overlap by more than `threshold` of the shorter one are one event. Returns, per event,
    (the best source's record id, the ids of its duplicates), in time order."""
    events: list[list[tuple[int, int, float, float]]] = []
    for record in sorted(records, key=lambda r: r[2]):
        for event in events[-3:]:  # events overlapping this one are among the latest
            if any(
                other[1] != record[1] and overlap_fraction(other[2:], record[2:]) > threshold
                for other in event
            ):
                event.append(record)
                break
        else:
            events.append([record])
    result = []
    for event in events:
        best = min(event, key=lambda r: (rank.get(r[1], 10**6), r[1], r[2]))
        result.append((best[0], [r[0] for r in event if r[0] != best[0]]))
    return result
