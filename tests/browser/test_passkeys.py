"""Passkeys (WebAuthn) end to end, with Chromium's virtual authenticator standing in for a
security key or a phone."""

import re

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from tests.browser.conftest import browser_login
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp


def test_add_a_passkey_then_sign_in_with_it(page, authenticator, settings):
    # The live server is plain http://localhost; production requires https.
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    alice = UserFactory(email="alice@example.org")
    browser_login(page, alice.email, PASSWORD)
    page.goto("/accounts/2fa/webauthn/add/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_label("Name").fill("virtual key")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add").click()
    # allauth follows up with the recovery codes, generated with the first authenticator.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.WEBAUTHN).exists()

    page.goto("/account/")
    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert page.csp_violations == []
