import re
from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.catalog import BY_KEY
from metrics.models import DataSource, ResolvedDaily
from metrics.schemas import SampleIn, SourceRef
from metrics.services import samples_ingest
from preferences.models import RecomputeRun, SourcePriority

pytestmark = pytest.mark.django_db
WATCH = SourceRef("apple_health", "Apple Watch", "Watch7,2")
PHONE = SourceRef("apple_health", "iPhone", "iPhone15,2")


@pytest.fixture
def two_sources(user):
    """Yesterday (UTC): the watch 1000 steps 10:00-11:00, the phone 600 over the same hour
    and 400 more in the evening the watch missed."""
    day = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    samples_ingest(
        user=user,
        records=[
            SampleIn(
                "steps",
                day + timedelta(hours=10),
                day + timedelta(hours=11),
                1000,
                "count",
                WATCH,
                0,
            ),
            SampleIn(
                "steps",
                day + timedelta(hours=10),
                day + timedelta(hours=11),
                600,
                "count",
                PHONE,
                0,
            ),
            SampleIn(
                "steps",
                day + timedelta(hours=20),
                day + timedelta(hours=21),
                400,
                "count",
                PHONE,
                0,
            ),
        ],
    )
    watch = DataSource.objects.get(user=user, origin="Apple Watch")
    phone = DataSource.objects.get(user=user, origin="iPhone")
    return watch, phone


def listed_order(content: bytes) -> list[str]:
    return re.findall(r'<span class="source-name">([^<]+)</span>', content.decode())


def test_the_index_shows_each_category_with_its_order(user_client, two_sources):
    page = user_client.get("/priorities/")
    assert page.status_code == 200
    assert b"Activity" in page.content
    assert page.content.index(b"Apple Watch (Apple Health)") < page.content.index(
        b"iPhone (Apple Health)"
    )


def test_moving_a_source_up_reorders_and_previews_without_saving(user_client, two_sources):
    watch, phone = two_sources
    response = user_client.post(
        "/priorities/activity/", {"order": [watch.id, phone.id], "move": f"{phone.id}:up"}
    )
    assert response.status_code == 200
    assert listed_order(response.content) == ["iPhone (Apple Health)", "Apple Watch (Apple Health)"]
    preview = response.context["preview"][0]
    assert preview["metric"].key == "steps"
    assert preview["average_now"] == 1400  # watch first: 1000 + the phone's evening 400
    assert preview["average_proposed"] == 1000  # phone first: 600 + 400
    assert not SourcePriority.objects.exists()


def test_saving_an_order_stores_it_and_recomputes(
    user_client, user, two_sources, django_capture_on_commit_callbacks
):
    watch, phone = two_sources
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(
            "/priorities/activity/", {"order": [phone.id, watch.id], "action": "save"}
        )
    assert response.status_code == 302
    assert list(SourcePriority.objects.order_by("rank").values_list("data_source", flat=True)) == [
        phone.id,
        watch.id,
    ]
    run = RecomputeRun.objects.get()
    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert user_client.get(f"/priorities/runs/{run.id}/").json()["percent"] == 100
    value = ResolvedDaily.objects.get(user=user, metric=BY_KEY["steps"].id).value
    assert value == 1000


def test_someone_elses_source_in_the_form_is_refused(user_client, two_sources, other_user):
    samples_ingest(
        user=other_user,
        records=[
            SampleIn(
                "steps",
                timezone.now() - timedelta(days=1),
                timezone.now() - timedelta(days=1),
                5,
                "count",
                WATCH,
                0,
            )
        ],
    )
    theirs = DataSource.objects.get(user=other_user).id
    watch, _ = two_sources
    response = user_client.post(
        "/priorities/activity/", {"order": [theirs, watch.id], "action": "save"}, follow=True
    )
    assert b"could not be read" in response.content
    assert not SourcePriority.objects.exists()


def test_run_status_is_owner_only(user_client, other_user):
    run = RecomputeRun.objects.create(user=other_user, metrics=[1], total=1)
    assert user_client.get(f"/priorities/runs/{run.id}/").status_code == 404


def test_unknown_category_or_metric_is_404(user_client):
    assert user_client.get("/priorities/astrology/").status_code == 404
    assert user_client.get("/priorities/activity/?metric=body_mass").status_code == 404


def test_compare_shows_agreement_between_sources(user_client, two_sources):
    watch, phone = two_sources
    page = user_client.get(
        f"/priorities/compare/?metric=steps&source={watch.id}&source={phone.id}&days=30"
    )
    assert page.status_code == 200
    (stat,) = page.context["stats"]
    assert stat["days"] == 1
    assert stat["mean_difference"] == 0  # 1000 vs 600 + 400
    assert stat["mean_absolute_difference"] == 0
    assert b"Agreement with Apple Watch (Apple Health)" in page.content
