"""The web UI in a real Chromium: login, navigation, MFA enrolment, tokens, API docs."""

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from tests.browser.conftest import browser_login
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(transactional_db):
    return UserFactory(email="alice@example.org", display_name="Alice")


def test_login_shows_the_dashboard_with_the_navigation(page, alice):
    browser_login(page, alice.email, PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Dashboard", "Sources", "Imports", "Priorities", "API", "Account"):
        expect(nav.get_by_role("link", name=label, exact=True).last).to_be_attached()
    expect(nav.locator(".nav-bar a[aria-current=page]")).to_have_text("Dashboard")
    # Keyboard users: the first Tab lands on the skip link.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    assert page.csp_violations == []


def test_a_narrow_screen_gets_a_menu_button(page, alice):
    page.set_viewport_size({"width": 375, "height": 740})
    browser_login(page, alice.email, PASSWORD)
    expect(page.locator(".nav-bar")).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    page.locator(".nav-menu").get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()


def test_wrong_password_shows_an_error(page, alice):
    browser_login(page, alice.email, "wrong-password")
    expect(page.get_by_text("not correct")).to_be_visible()


def test_enrol_an_authenticator_app_and_see_recovery_codes(page, alice):
    browser_login(page, alice.email, PASSWORD)
    page.goto("/account/")
    page.get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("link", name="Activate").first.click()
    # allauth asks for the password again before a security change.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    secret = page.get_by_label("Authenticator secret").input_value()
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    page.get_by_label("Authenticator code").fill(code)
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text(re.compile("Recovery Codes", re.I)).first).to_be_visible()
    assert page.csp_violations == []


def test_create_a_token_once_then_revoke_it(page, alice):
    browser_login(page, alice.email, PASSWORD)
    page.goto("/account/")
    page.locator("#id_name").fill("home assistant")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Create token").click()
    # allauth asks for the password again, then completes the interrupted request.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    token = page.locator("#new-token").inner_text()
    assert re.fullmatch(r"hh_[0-9a-f]{8}_[\w-]{43}", token)
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Revoke token"))).to_have_count(1)
    page.get_by_role("button", name="Revoke token home assistant").click()
    expect(page.get_by_text("revoked", exact=True)).to_be_visible()


def test_api_docs_render_from_vendored_assets_under_the_csp(page):
    page.goto("/api/docs/")
    expect(page.get_by_text("HealthHub API").first).to_be_visible(timeout=15000)
    expect(page.get_by_text("/api/v1/me/").first).to_be_visible()
    assert page.csp_violations == []
