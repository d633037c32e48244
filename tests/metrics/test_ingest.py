from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from metrics.catalog import BY_KEY
from metrics.models import DailyRollup, DataSource, Sample
from metrics.schemas import SampleIn, SourceRef
from metrics.services import samples_ingest

pytestmark = pytest.mark.django_db

WATCH = SourceRef("apple_health", "Apple Watch", "Watch7,1")
PHONE = SourceRef("apple_health", "iPhone", "iPhone15,2")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def steps(start, minutes, value, source=WATCH, offset=0):
    return SampleIn(
        "steps", start, start + timedelta(minutes=minutes), value, "count", source, offset
    )


def rollup(source_ref, metric, day):
    source = DataSource.objects.get(kind=source_ref.kind, origin=source_ref.origin)
    return DailyRollup.objects.get(data_source=source, metric=BY_KEY[metric].id, day=day)


def test_first_ingest_creates_and_a_second_changes_nothing(user):
    records = [steps(T0 + timedelta(minutes=10 * i), 10, 100 + i) for i in range(50)]
    first = samples_ingest(user=user, records=records)
    assert (first.created, first.updated, first.unchanged, first.rejected) == (50, 0, 0, 0)
    again = samples_ingest(user=user, records=records)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 50)
    assert again.days_refreshed == 0
    assert Sample.objects.count() == 50


def test_a_changed_value_updates_the_row_and_its_rollup(user):
    samples_ingest(user=user, records=[steps(T0, 10, 100), steps(T0 + timedelta(hours=1), 10, 50)])
    assert rollup(WATCH, "steps", T0.date()).sum == 150
    result = samples_ingest(user=user, records=[steps(T0, 10, 120)])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert Sample.objects.get(start=T0).value == 120
    r = rollup(WATCH, "steps", T0.date())
    assert (r.sum, r.count, r.min, r.max, r.avg, r.last) == (170, 2, 50, 120, 85, 50)


def test_the_same_key_twice_in_a_batch_keeps_the_last(user):
    result = samples_ingest(user=user, records=[steps(T0, 10, 1), steps(T0, 10, 2)])
    assert result.created == 1
    assert Sample.objects.get().value == 2


def test_sources_are_kept_apart(user):
    samples_ingest(user=user, records=[steps(T0, 10, 100), steps(T0, 10, 80, PHONE)])
    assert Sample.objects.count() == 2
    assert DataSource.objects.filter(user=user).count() == 2
    assert rollup(PHONE, "steps", T0.date()).sum == 80


def test_units_are_converted_to_the_canonical_unit(user):
    samples_ingest(
        user=user,
        records=[
            SampleIn("body_mass", T0, T0, 154.0, "lb", WATCH, 0),
            SampleIn("body_temperature", T0, T0, 98.6, "degF", WATCH, 0),
            SampleIn("oxygen_saturation", T0, T0, 0.97, "1", WATCH, 0),
            SampleIn("blood_glucose", T0, T0, 5.5, "mmol/L", WATCH, 0),
            SampleIn("skin_temperature_deviation", T0, T0, -0.9, "degF", WATCH, 0),
        ],
    )
    values = {s.metric_key: s.value for s in Sample.objects.all()}
    assert values["body_mass"] == pytest.approx(69.853225, abs=1e-6)
    assert values["body_temperature"] == pytest.approx(37.0)
    assert values["oxygen_saturation"] == pytest.approx(97.0)
    assert values["blood_glucose"] == pytest.approx(99.0858)
    assert values["skin_temperature_deviation"] == pytest.approx(-0.5)


def test_bad_records_are_rejected_with_reasons_and_the_rest_is_kept(user):
    records = [
        steps(T0, 10, 100),
        SampleIn("heart_rate", T0, T0, 400, "count/min", WATCH, 0),
        SampleIn("heart_rate", T0, T0, 60, "furlongs", WATCH, 0),
        SampleIn("heart_rate", T0, T0, 60, "kg", WATCH, 0),
        SampleIn("steps", T0, T0 - timedelta(minutes=1), 10, "count", WATCH, 0),
        SampleIn("moon_phase", T0, T0, 1, "count", WATCH, 0),
        SampleIn(
            "heart_rate", T0.replace(tzinfo=None), T0.replace(tzinfo=None), 60, "/min", WATCH, 0
        ),
        SampleIn(
            "heart_rate", T0 + timedelta(days=3650), T0 + timedelta(days=3650), 60, "/min", WATCH, 0
        ),
        SampleIn("heart_rate", T0, T0, float("nan"), "/min", WATCH, 0),
        SampleIn("heart_rate", T0, T0, 61, "/min", WATCH, 24 * 60),
        steps(T0 + timedelta(hours=1), 10, 200),
    ]
    result = samples_ingest(user=user, records=records)
    assert result.created == 2
    assert result.rejected == 9
    assert dict(result.reasons) == {
        "out_of_range": 1,
        "unknown_unit": 1,
        "incompatible_unit": 1,
        "inverted_interval": 1,
        "unknown_metric": 1,
        "naive_datetime": 1,
        "future": 1,
        "not_a_number": 1,
        "bad_offset": 1,
    }
    by_index = {e["index"]: e for e in result.examples}
    assert by_index[1]["message"] == (
        "heart_rate: 400 /min is outside the plausible range [20, 250]"
    )
    assert "unknown unit 'furlongs'" in by_index[2]["message"]
    assert Sample.objects.count() == 2


def test_the_database_refuses_a_duplicate_natural_key(user):
    samples_ingest(user=user, records=[steps(T0, 10, 100)])
    source = DataSource.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as c:
        c.execute(
            'INSERT INTO metrics_sample (data_source_id, metric, start, "end", value, '
            "utc_offset) VALUES (%s, %s, %s, %s, 1, 0)",
            [source.id, BY_KEY["steps"].id, T0, T0 + timedelta(minutes=10)],
        )


def test_a_missing_offset_comes_from_the_users_home_time_zone(user):
    user.timezone = "America/Los_Angeles"
    user.save()
    late_evening = datetime(2026, 7, 1, 5, 30, tzinfo=UTC)  # 22:30 on June 30 in LA (PDT)
    samples_ingest(
        user=user,
        records=[
            SampleIn("steps", late_evening, late_evening + timedelta(minutes=5), 10, "count", WATCH)
        ],
    )
    sample = Sample.objects.get()
    assert sample.utc_offset == -420
    assert DailyRollup.objects.get().day.isoformat() == "2026-06-30"


def test_plain_tuples_in_sampleins_field_order_are_ingested_the_same(user):
    record = steps(T0, 10, 100)
    as_tuple = tuple(getattr(record, name) for name in SampleIn.__slots__)
    bad = ("steps", T0, T0 - timedelta(minutes=1), 5.0, "count", WATCH, 0)
    result = samples_ingest(user=user, records=[as_tuple, bad])
    assert (result.created, result.rejected) == (1, 1)
    assert result.reasons == {"inverted_interval": 1}
    again = samples_ingest(user=user, records=[record])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_resolve_false_leaves_the_resolved_values_to_the_caller(user):
    from metrics.models import ResolvedDaily
    from metrics.services import resolved_refresh

    result = samples_ingest(user=user, records=[steps(T0, 10, 100)], resolve=False)
    assert not ResolvedDaily.objects.filter(user=user).exists()
    resolved_refresh(user=user, pairs=result.touched)
    assert ResolvedDaily.objects.get(user=user, metric=BY_KEY["steps"].id).value == 100
