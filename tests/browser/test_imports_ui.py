"""Uploading an Apple Health export in Chromium and reading its report."""

import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import browser_login
from tests.factories import PASSWORD, UserFactory
from tests.imports.test_apple_health_import import BODY
from tests.imports.test_apple_health_parser import export

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_an_export_and_see_its_report(page, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    alice = UserFactory(email="alice@example.org")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("apple_health_export/export.xml", export(BODY))
    browser_login(page, alice.email, PASSWORD)
    page.goto("/imports/")
    page.get_by_label("export.zip or export.xml").set_input_files(str(archive))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("heading", name="Report")).to_be_visible()
    expect(page.locator("#import-status")).to_have_text("succeeded")
    expect(page.locator("#report-body")).to_contain_text("4 new")
    assert page.csp_violations == []
