"""MFA through allauth's real pages: TOTP enrolment, login with a TOTP code and with a
recovery code (usable once), replay refusal, and the seeds encrypted at rest."""

import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value

from core import crypto
from tests.conftest import login, reauthenticate

pytestmark = pytest.mark.django_db


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def enrol_totp(client) -> str:
    reauthenticate(client)
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302, response.content
    return secret


def test_enrolling_totp_stores_the_seed_encrypted_and_creates_recovery_codes(user_client, user):
    secret = enrol_totp(user_client)
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert totp.data["secret"] != secret
    assert secret not in str(totp.data)
    assert crypto.decrypt(totp.data["secret"]) == secret
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    assert "seed" in codes.data
    assert len(RecoveryCodes(codes).get_unused_codes()) == 10


def test_enrolment_refuses_a_wrong_code(user_client, user):
    reauthenticate(user_client)
    user_client.get("/accounts/2fa/totp/activate/")
    response = user_client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert response.status_code == 200
    assert b"Incorrect code" in response.content
    assert not Authenticator.objects.filter(user=user).exists()


def test_login_needs_the_second_factor_and_accepts_a_totp_code(user_client, user):
    secret = enrol_totp(user_client)
    user_client.post("/accounts/logout/")
    with time_machine.travel(time.time() + 60, tick=True):
        response = login(user_client, user.email)
        assert response["Location"] == "/accounts/2fa/authenticate/"
        assert user_client.get("/").status_code == 302  # not logged in yet
        code = totp_code(secret)
        response = user_client.post("/accounts/2fa/authenticate/", {"code": code})
        assert response.status_code == 302
        assert user_client.get("/").status_code == 200

        # The same code cannot be replayed within its period, even in a fresh login.
        user_client.post("/accounts/logout/")
        login(user_client, user.email)
        response = user_client.post("/accounts/2fa/authenticate/", {"code": code})
        assert response.status_code == 200
        assert b"Incorrect code" in response.content
        assert user_client.get("/").status_code == 302


def test_a_recovery_code_logs_in_exactly_once(user_client, user):
    enrol_totp(user_client)
    codes = RecoveryCodes(
        Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    ).get_unused_codes()
    user_client.post("/accounts/logout/")

    login(user_client, user.email)
    response = user_client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response.status_code == 302
    assert user_client.get("/").status_code == 200
    user_client.post("/accounts/logout/")

    login(user_client, user.email)
    response = user_client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response.status_code == 200
    assert b"Incorrect code" in response.content
    assert user_client.get("/").status_code == 302
    remaining = RecoveryCodes(
        Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    ).get_unused_codes()
    assert codes[0] not in remaining
    assert len(remaining) == 9
