import subprocess
import sys

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db


def test_pages_carry_the_security_headers(user_client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = user_client.get("/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "no-store" in response["Cache-Control"]


def test_plain_http_is_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_api_responses_are_never_cached(user_client):
    response = user_client.get("/api/v1/me/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_session_and_csrf_cookies_are_secure_in_production():
    assert django_settings.SESSION_COOKIE_SECURE is True
    assert django_settings.CSRF_COOKIE_SECURE is True
    assert django_settings.SESSION_COOKIE_HTTPONLY is True


def _import_settings(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={"PATH": "/usr/bin:/bin", "ENV_FILE": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(django_settings.BASE_DIR),
    )


def test_secret_key_is_required_whenever_debug_is_off():
    result = _import_settings(
        {
            "DJANGO_SETTINGS_MODULE": "healthhub.settings",
            "DEBUG": "0",
            "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZpZWxkLWtleS0wMDAwMDAwMDAwMDA=",
        }
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required whenever DEBUG is off" in result.stderr


def test_encryption_keys_are_required_whenever_debug_is_off():
    result = _import_settings(
        {
            "DJANGO_SETTINGS_MODULE": "healthhub.settings",
            "DEBUG": "0",
            "SECRET_KEY": "x" * 60,
        }
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is required" in result.stderr
