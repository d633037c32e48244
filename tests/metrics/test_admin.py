from datetime import date

import pytest

from metrics.models import DataSource
from metrics.services import demo_history_load
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_admin_pages_for_health_data_answer_with_few_queries(
    staff_client, user, django_assert_max_num_queries
):
    demo_history_load(user=user, first=date(2026, 3, 1), last=date(2026, 3, 2))
    for url in (
        "/admin/metrics/datasource/",
        "/admin/metrics/dailyrollup/",
        "/admin/metrics/dailyrollup/?metric=1",
        "/admin/metrics/sleepsession/",
        "/admin/metrics/workout/",
        "/admin/imports/importjob/",
        "/admin/metrics/resolveddaily/",
        "/admin/preferences/sourcepriority/",
        "/admin/preferences/recomputerun/",
    ):
        with django_assert_max_num_queries(15):
            response = staff_client.get(url)
        assert response.status_code == 200, url


def test_the_latest_samples_of_a_source(staff_client, user):
    demo_history_load(user=user, first=date(2026, 3, 1), last=date(2026, 3, 1))
    source = DataSource.objects.get(user=user, origin="Apple Watch")
    response = staff_client.get(f"/admin/metrics/datasource/{source.id}/samples/?metric=20")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 200
    assert {row["metric"] for row in rows} == {"heart_rate"}
    assert rows[0]["start"] >= rows[-1]["start"]


def test_non_staff_cannot_see_the_admin(user_client):
    response = user_client.get("/admin/metrics/datasource/")
    assert response.status_code == 302
    assert user_client.get(response["Location"]).status_code == 403
