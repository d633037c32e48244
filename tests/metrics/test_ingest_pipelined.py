"""Outside a transaction, PostgreSQL batches are pipelined on a connection of their own:
the same results as the inline path, committed batch by batch."""

from datetime import UTC, datetime, timedelta

import pytest

from metrics.catalog import BY_KEY
from metrics.models import DailyRollup, ResolvedDaily, Sample
from metrics.schemas import SampleIn, SourceRef
from metrics.services import ingest, samples_ingest

pytestmark = pytest.mark.django_db(transaction=True)
WATCH = SourceRef("apple_health", "Apple Watch")
PHONE = SourceRef("apple_health", "iPhone", "iPhone15,2")
T0 = datetime(2026, 2, 1, tzinfo=UTC)


def steps(source, minute, value):
    start = T0 + timedelta(minutes=minute)
    return SampleIn("steps", start, start + timedelta(minutes=1), value, "count", source, 0)


def test_pipelined_batches_count_write_and_roll_up_like_the_inline_path(user):
    records = [steps(WATCH, m, 10) for m in range(0, 3000, 2)]  # 1500 over ~2 days
    first = samples_ingest(user=user, records=records, batch_size=400)
    assert (first.created, first.updated, first.unchanged) == (1500, 0, 0)
    assert Sample.objects.count() == 1500
    sums = dict(DailyRollup.objects.values_list("day", "sum"))
    assert sum(sums.values()) == 15000 and len(sums) == 3

    # Again, with one value changed, the phone overlapping and a few new minutes.
    changed = [*records, steps(WATCH, 0, 99), steps(PHONE, 2, 7), steps(WATCH, 3001, 5)]
    second = samples_ingest(user=user, records=changed, batch_size=400)
    # The original minute 0 is unchanged in its batch; its new value updates it later.
    assert (second.created, second.updated, second.unchanged) == (2, 1, 1500)
    assert Sample.objects.get(data_source__origin="Apple Watch", start=T0).value == 99
    watch_sums = DailyRollup.objects.filter(data_source__origin="Apple Watch")
    assert sum(watch_sums.values_list("sum", flat=True)) == 15000 - 10 + 99 + 5
    resolved = ResolvedDaily.objects.get(metric=BY_KEY["steps"].id, day=T0.date())
    assert resolved.provenance["set_aside"]  # the phone's overlapping minute


def test_a_concurrent_writer_of_the_same_rows_is_merged_not_lost(user, monkeypatch):
    samples_ingest(user=user, records=[steps(WATCH, m, 10) for m in range(100)])
    # Pretend the check saw nothing stored (as if another writer inserted the rows just
    # after it): the plain insert fails on the key and the batch is redone with ON CONFLICT.
    monkeypatch.setattr(ingest, "_compare_with_stored", lambda cursor, rows: "new")
    result = samples_ingest(
        user=user, records=[steps(WATCH, m, 20 if m < 10 else 10) for m in range(120)]
    )
    assert (result.created, result.updated, result.unchanged) == (20, 10, 90)
    assert Sample.objects.count() == 120
    assert sum(DailyRollup.objects.values_list("sum", flat=True)) == 110 * 10 + 10 * 20
