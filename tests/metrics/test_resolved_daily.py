"""Resolved daily values, kept up to date by ingestion and recomputed on priority change."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from metrics.catalog import BY_KEY, Category
from metrics.models import DataSource, ResolvedDaily, Sample
from metrics.schemas import SampleIn, SourceRef
from metrics.services import samples_ingest
from preferences.models import RecomputeRun
from preferences.selectors import source_order_for
from preferences.services import priority_reset, priority_set

pytestmark = pytest.mark.django_db

WATCH = SourceRef("apple_health", "Apple Watch", "Watch7,2")
PHONE = SourceRef("apple_health", "iPhone", "iPhone15,2")
SCALE = SourceRef("withings", "Body+", "WBS05")
RELAYED_SCALE = SourceRef("apple_health", "Withings", "")
DAY = datetime(2026, 4, 7, 0, 0, tzinfo=UTC)


def at(hour, minute=0):
    return DAY + timedelta(hours=hour, minutes=minute)


def steps(source, start, end, value):
    return SampleIn("steps", start, end, value, "count", source, 0)


def resolved(user, metric="steps", day="2026-04-07"):
    return ResolvedDaily.objects.get(user=user, metric=BY_KEY[metric].id, day=day)


def source_id(ref, user=None):
    sources = DataSource.objects.filter(kind=ref.kind, origin=ref.origin)
    return (sources.filter(user=user) if user else sources).get().id


@pytest.fixture
def steps_day(user):
    samples_ingest(
        user=user,
        records=[
            steps(WATCH, at(8), at(9), 4000),  # the phone overlaps it fully
            steps(WATCH, at(12), at(13), 3000),  # the phone overlaps half of its own sample
            steps(PHONE, at(8), at(9), 3500),
            steps(PHONE, at(12, 30), at(13, 30), 2000),
            steps(PHONE, at(18), at(19), 1500),  # the watch was charging: a gap
        ],
    )
    return user


def test_watch_and_phone_steps_merge_by_time_span(steps_day):
    r = resolved(steps_day)
    assert r.value == pytest.approx(4000 + 3000 + 1000 + 1500)
    watch, phone = str(source_id(WATCH)), str(source_id(PHONE))
    assert r.provenance["contributions"] == pytest.approx({watch: 7000, phone: 2500})
    assert r.provenance["set_aside"] == pytest.approx({phone: 4500})
    # Provenance adds up: what counted is the value; counted + set aside is everything.
    assert sum(r.provenance["contributions"].values()) == pytest.approx(r.value)
    stored = sum(Sample.objects.values_list("value", flat=True))
    assert r.value + sum(r.provenance["set_aside"].values()) == pytest.approx(stored)


def test_a_duplicate_delivered_twice_counts_once(steps_day):
    samples_ingest(user=steps_day, records=[steps(WATCH, at(8), at(9), 4000)])
    assert resolved(steps_day).value == pytest.approx(9500)


def test_new_data_updates_the_resolved_day_on_ingestion(steps_day):
    samples_ingest(user=steps_day, records=[steps(WATCH, at(18), at(18, 30), 900)])
    # The watch now covers 18:00-18:30: half of the phone's 1500 is set aside.
    assert resolved(steps_day).value == pytest.approx(7000 + 1000 + 900 + 750)


def test_putting_the_phone_first_recomputes_and_changes_no_sample(
    steps_day, django_capture_on_commit_callbacks
):
    before = list(Sample.objects.order_by("start").values_list("value", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        run = priority_set(
            user=steps_day,
            category=Category.ACTIVITY,
            data_source_ids=[source_id(PHONE), source_id(WATCH)],
        )
    run.refresh_from_db()
    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert run.done == run.total > 0
    # Phone first: 3500 + 2000 + 1500 from the phone, the watch's 12:00-12:30 half.
    assert resolved(steps_day).value == pytest.approx(3500 + 2000 + 1500 + 1500)
    assert list(Sample.objects.order_by("start").values_list("value", flat=True)) == before
    with django_capture_on_commit_callbacks(execute=True):
        priority_reset(user=steps_day, category=Category.ACTIVITY)
    assert resolved(steps_day).value == pytest.approx(9500)


def test_discrete_values_take_the_best_source_by_default(user):
    samples_ingest(
        user=user,
        records=[
            SampleIn("body_mass", at(7), at(7), 72.0, "kg", SCALE, 0),
            SampleIn("body_mass", at(7), at(7), 72.0, "kg", RELAYED_SCALE, 0),
            SampleIn("body_mass", at(7, 5), at(7, 5), 160.0, "lb", PHONE, 0),
        ],
    )
    order = source_order_for(user=user, category=Category.BODY)
    assert [s.origin for s in order] == ["Body+", "Withings", "iPhone"]
    r = resolved(user, "body_mass")
    assert r.value == 72.0
    assert r.provenance["chosen"] == source_id(SCALE)
    assert r.provenance["set_aside"] == pytest.approx(
        {str(source_id(RELAYED_SCALE)): 72.0, str(source_id(PHONE)): 72.5747792}
    )


def test_a_metric_override_beats_the_category_order(user, django_capture_on_commit_callbacks):
    samples_ingest(
        user=user,
        records=[
            SampleIn("body_mass", at(7), at(7), 72.0, "kg", SCALE, 0),
            SampleIn("body_mass", at(7), at(7), 71.0, "kg", PHONE, 0),
            SampleIn("body_fat_percentage", at(7), at(7), 19.0, "%", SCALE, 0),
            SampleIn("body_fat_percentage", at(7), at(7), 21.0, "%", PHONE, 0),
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = priority_set(
            user=user,
            category=Category.BODY,
            metric_key="body_mass",
            data_source_ids=[source_id(PHONE), source_id(SCALE)],
        )
    assert run.metrics == [BY_KEY["body_mass"].id]  # exactly the affected metric
    assert resolved(user, "body_mass").value == 71.0
    assert resolved(user, "body_fat_percentage").value == 19.0  # the category default
    # A later category order does not touch the overridden metric.
    with django_capture_on_commit_callbacks(execute=True):
        run = priority_set(
            user=user, category=Category.BODY, data_source_ids=[source_id(PHONE), source_id(SCALE)]
        )
    assert BY_KEY["body_mass"].id not in run.metrics
    assert resolved(user, "body_fat_percentage").value == 21.0
    assert resolved(user, "body_mass").value == 71.0


def test_orders_only_accept_the_users_own_distinct_sources(steps_day, other_user):
    samples_ingest(user=other_user, records=[steps(WATCH, at(8), at(9), 10)])
    theirs = DataSource.objects.get(user=other_user).id
    mine = source_id(WATCH, steps_day)
    with pytest.raises(ValidationError, match="Unknown data sources"):
        priority_set(user=steps_day, category=Category.ACTIVITY, data_source_ids=[mine, theirs])
    with pytest.raises(ValidationError, match="Unknown data sources"):
        priority_set(user=steps_day, category=Category.ACTIVITY, data_source_ids=[999_999])
    with pytest.raises(ValidationError, match="appears twice"):
        priority_set(user=steps_day, category=Category.ACTIVITY, data_source_ids=[mine, mine])
    with pytest.raises(ValidationError, match="not a metric of"):
        priority_set(
            user=steps_day,
            category=Category.ACTIVITY,
            metric_key="body_mass",
            data_source_ids=[mine],
        )


def test_a_new_source_joins_a_custom_order_at_its_default_position(user):
    samples_ingest(
        user=user,
        records=[
            steps(PHONE, at(8), at(9), 100),
            steps(SourceRef("manual", "Manual"), at(10), at(11), 5),
        ],
    )
    priority_set(
        user=user,
        category=Category.ACTIVITY,
        data_source_ids=[source_id(PHONE), DataSource.objects.get(kind="manual").id],
    )
    samples_ingest(user=user, records=[steps(WATCH, at(8), at(9), 120)])
    order = [s.origin for s in source_order_for(user=user, category=Category.ACTIVITY)]
    # The user put the phone first; the watch (a worn device) joins before the first
    # placed source it ranks above by default: the phone stays where the user put it
    # only relative to the sources the user placed.
    assert order == ["Apple Watch", "iPhone", "Manual"]
