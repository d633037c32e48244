"""Reordering sources in Chromium: drag and drop, and the keyboard's Up/Down buttons."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.schemas import SampleIn, SourceRef
from metrics.services import samples_ingest
from preferences.models import SourcePriority
from tests.browser.conftest import browser_login
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    user = UserFactory(email="alice@example.org")
    start = timezone.now() - timedelta(days=1)
    samples_ingest(
        user=user,
        records=[
            SampleIn(
                "steps",
                start,
                start + timedelta(hours=1),
                1000,
                "count",
                SourceRef("apple_health", "Apple Watch"),
                0,
            ),
            SampleIn(
                "steps",
                start,
                start + timedelta(hours=1),
                800,
                "count",
                SourceRef("apple_health", "iPhone", "iPhone15,2"),
                0,
            ),
        ],
    )
    return user


def names(page):
    return page.locator("#source-order .source-name").all_inner_texts()


def test_drag_the_phone_above_the_watch_and_save(page, alice):
    browser_login(page, alice.email, PASSWORD)
    page.goto("/priorities/activity/")
    assert names(page) == ["Apple Watch (Apple Health)", "iPhone (Apple Health)"]
    page.locator("#source-order li").nth(1).drag_to(page.locator("#source-order li").nth(0))
    assert names(page) == ["iPhone (Apple Health)", "Apple Watch (Apple Health)"]
    page.get_by_role("button", name="Save order").click()
    expect(page.get_by_text("Order saved.")).to_be_visible()
    saved = list(
        SourcePriority.objects.order_by("rank").values_list("data_source__origin", flat=True)
    )
    assert saved == ["iPhone", "Apple Watch"]
    assert page.csp_violations == []


def test_reorder_with_the_keyboard_and_preview(page, alice):
    browser_login(page, alice.email, PASSWORD)
    page.goto("/priorities/activity/")
    page.get_by_role("button", name="Move iPhone (Apple Health) up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Preview: the last 30 days")).to_be_visible()
    assert names(page) == ["iPhone (Apple Health)", "Apple Watch (Apple Health)"]
    expect(page.get_by_text("Daily average 1,000 now, 800 with this order")).to_be_visible()
    assert not SourcePriority.objects.exists()
