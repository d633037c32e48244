"""The dashboard and the comparison page in Chromium: charts drawn from the vendored
uPlot under the CSP, provenance shown under each number."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.services import demo_history_load
from tests.browser.conftest import browser_login
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    user = UserFactory(email="alice@example.org")
    today = timezone.localdate()
    demo_history_load(user=user, first=today - timedelta(days=4), last=today - timedelta(days=1))
    return user


def test_the_dashboard_draws_charts_and_explains_each_number(page, alice):
    browser_login(page, alice.email, PASSWORD)
    steps = page.locator("section", has=page.get_by_role("heading", name="Steps"))
    expect(steps.locator(".provenance")).to_contain_text("Apple Watch (Apple Health)")
    expect(steps.locator(".provenance")).to_contain_text("(gaps only)")
    expect(steps.locator("canvas")).to_have_count(1)
    expect(page.get_by_role("heading", name="Recent nights")).to_be_visible()
    assert page.csp_violations == []


def test_the_comparison_page_draws_both_sources(page, alice):
    browser_login(page, alice.email, PASSWORD)
    page.goto("/priorities/compare/?metric=steps&days=30")
    expect(
        page.get_by_role("heading", name="Agreement with Apple Watch (Apple Health)")
    ).to_be_visible()
    expect(page.locator(".chart canvas")).to_have_count(1)
    expect(page.locator(".u-legend")).to_contain_text("iPhone (Apple Health)")
    assert page.csp_violations == []
