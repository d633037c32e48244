"""The Sources page in Chromium: a connection's state, "Sync now", and the live status."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sources import providers
from sources.models import Connection, SyncCursor
from tests.browser.conftest import browser_login
from tests.factories import PASSWORD, UserFactory
from tests.sources.engine_provider import FakePulse, install
from tests.sources.ui.helpers import hold_claim, make_connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pulse(settings):
    saved = dict(providers.REGISTRY)
    for slug in list(providers.REGISTRY):  # left by other tests, without settings now
        if slug not in settings.HEALTHHUB_PROVIDERS:
            del providers.REGISTRY[slug]
    now = timezone.now()
    with FakePulse(now - timedelta(days=30), now - timedelta(minutes=5)) as fake:
        install(settings, fake)
        yield fake
    providers.REGISTRY.clear()
    providers.REGISTRY.update({k: v for k, v in saved.items() if k != "pulse"})


@pytest.fixture
def alice(transactional_db):
    return UserFactory(email="alice@example.org")


def test_see_a_connection_and_sync_it_now(page, alice, pulse):
    connection = make_connection(alice)
    SyncCursor.objects.create(
        connection=connection,
        data_type="heartrate",
        oldest_synced=timezone.now() - timedelta(days=15),
    )
    browser_login(page, alice.email, PASSWORD)
    page.goto("/sources/")
    card = page.get_by_role("region", name="Pulse")
    expect(card.locator(".js-status")).to_have_text("active")
    expect(card.locator(".js-backfill-text")).to_have_text("25% synced")
    expect(card).to_contain_text("No syncs yet.")

    card.get_by_role("button", name="Sync now").click()

    expect(page.get_by_text("Sync of Pulse started.")).to_be_visible()
    card = page.get_by_role("region", name="Pulse")
    runs = card.get_by_role("table")
    expect(runs).to_contain_text("Sync now")
    expect(runs).to_contain_text("Succeeded")
    expect(runs).to_contain_text(re.compile(r"heartrate: \d+ samples"))
    expect(runs).to_contain_text(re.compile(r"resting: \d+ samples"))
    expect(card.locator(".js-backfill-text")).to_have_text("complete")
    assert pulse.calls_to("/v1/data")
    assert page.csp_violations == []


def test_the_status_refreshes_without_a_reload_when_a_sync_ends(page, alice, pulse):
    connection = make_connection(alice)
    hold_claim(connection)
    browser_login(page, alice.email, PASSWORD)
    page.goto("/sources/")
    status = page.get_by_role("region", name="Pulse").locator(".js-status")
    expect(status).to_have_text("syncing now")
    # The run ends (as the engine releases its claim): the page's script notices.
    Connection.objects.filter(id=connection.id).update(sync_claim="", sync_claimed_at=None)
    expect(status).to_have_text("active", timeout=15_000)
    assert page.csp_violations == []
