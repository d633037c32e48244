"""The merge rules on hand-computed cases (times in minutes for readability)."""

import pytest

from metrics.resolution import collapse_duplicates, merge_cumulative, pick_best

WATCH, PHONE, SCALE = 1, 2, 3
M = 60.0  # one minute in seconds


def span(start_min, end_min, value):
    return (start_min * M, end_min * M, value)


def test_full_overlap_counts_only_the_better_source():
    result = merge_cumulative(
        [
            (WATCH, [span(0, 10, 1000)]),
            (PHONE, [span(0, 10, 800)]),
        ]
    )
    assert result.value == 1000
    assert result.contributions == {WATCH: 1000, PHONE: 0}
    assert result.set_aside == {WATCH: 0, PHONE: 800}


def test_partial_overlap_counts_the_lower_source_pro_rata_for_its_uncovered_part():
    # The phone's 0-20 sample is covered by the watch for 10 of its 20 minutes.
    result = merge_cumulative(
        [
            (WATCH, [span(0, 10, 1000)]),
            (PHONE, [span(0, 20, 600)]),
        ]
    )
    assert result.value == pytest.approx(1300)
    assert result.contributions[PHONE] == pytest.approx(300)
    assert result.set_aside[PHONE] == pytest.approx(300)


def test_gaps_are_filled_by_the_lower_source():
    # The watch is charging from 30 to 60: the phone's steps there count in full.
    result = merge_cumulative(
        [
            (WATCH, [span(0, 30, 3000), span(60, 90, 2500)]),
            (PHONE, [span(0, 30, 2000), span(30, 60, 1200), span(60, 90, 2100)]),
        ]
    )
    assert result.value == pytest.approx(3000 + 2500 + 1200)
    assert result.contributions == pytest.approx({WATCH: 5500, PHONE: 1200})
    assert result.set_aside == pytest.approx({WATCH: 0, PHONE: 4100})


def test_a_day_like_the_peer_bug_report():
    """An iPhone + Watch day: the watch worn all day except while charging; the phone in
    a pocket some of the time. The resolved total is the watch's steps plus the phone's
    steps where the watch saw nothing, and provenance adds up."""
    watch = [span(h * 60, h * 60 + 60, 934 if h != 12 else 936) for h in range(7, 19)]
    phone = [span(18 * 60, 20 * 60, 2869)]  # 18:00-20:00; the watch is off from 19:00
    phone += [span(8 * 60, 10 * 60, 3941 * 2)]  # in a pocket, fully overlapped by the watch
    result = merge_cumulative([(WATCH, watch), (PHONE, phone)])
    watch_total = sum(v for *_, v in watch)
    assert result.contributions[WATCH] == watch_total == 11210
    # 18:00-19:00 is covered by the watch, 19:00-20:00 is not: half the 2869 counts.
    assert result.contributions[PHONE] == pytest.approx(2869 / 2)
    assert result.value == pytest.approx(sum(result.contributions.values()))
    assert result.value + sum(result.set_aside.values()) == pytest.approx(
        watch_total + 2869 + 3941 * 2
    )


def test_a_sample_delivered_twice_counts_once():
    twice = [span(0, 10, 500), span(0, 10, 500)]
    assert merge_cumulative([(WATCH, [span(0, 10, 500)]), (PHONE, [span(0, 10, 500)])]).value == 500
    # Within one source the coverage is added after the source: exact duplicates are
    # prevented upstream by the natural key, so only distinct spans reach the merge.
    assert merge_cumulative([(WATCH, twice[:1])]).value == 500


def test_instantaneous_values_count_unless_a_better_source_covers_the_instant():
    result = merge_cumulative(
        [
            (WATCH, [span(0, 10, 100)]),
            (PHONE, [span(5, 5, 7), span(15, 15, 9)]),
        ]
    )
    assert result.contributions == {WATCH: 100, PHONE: 9}


def test_discrete_takes_the_best_source_with_data_and_lists_the_others():
    result = pick_best([(SCALE, None), (WATCH, 71.9), (PHONE, 72.4)])
    assert (result.value, result.chosen) == (71.9, WATCH)
    assert result.set_aside == {PHONE: 72.4}
    assert pick_best([(SCALE, None)]) is None


def test_overlapping_sessions_of_different_sources_collapse_to_the_best():
    ring, strap = 10, 11
    records = [
        (1, ring, 0.0, 8 * 3600.0),  # night 1, ring
        (2, strap, 0.25 * 3600, 8.1 * 3600),  # night 1, strap: same night
        (3, strap, 13 * 3600.0, 13.5 * 3600),  # a nap only the strap saw
        (4, ring, 24 * 3600.0, 31 * 3600.0),  # night 2, ring only
    ]
    events = collapse_duplicates(records, rank={ring: 0, strap: 1})
    assert events == [(1, [2]), (3, []), (4, [])]
    events = collapse_duplicates(records, rank={strap: 0, ring: 1})
    assert events[0] == (2, [1])


def test_records_of_one_source_never_collapse_together():
    events = collapse_duplicates([(1, 5, 0.0, 100.0), (2, 5, 10.0, 90.0)], rank={5: 0})
    assert events == [(1, []), (2, [])]
