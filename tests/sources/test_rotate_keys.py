"""manage.py rotate_encryption_keys: add the new key in front, rotate, drop the old key."""

from datetime import timedelta
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.utils import timezone

from sources.models import Connection
from tests.factories import UserFactory

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def secrets_under(settings, key: str, count: int = 3) -> tuple[list[Connection], list[str]]:
    settings.FIELD_ENCRYPTION_KEYS = [key]
    connections = []
    for n in range(count):
        connection = Connection(
            user=UserFactory(),
            provider="oura",
            provider_user_id=f"acct-{n}",
            token_expires_at=timezone.now() + timedelta(hours=1),
        )
        connection.access_token = f"access-{n}-9d8c7b"
        connection.refresh_token = f"refresh-{n}-1a2b3c"
        connection.save()
        connections.append(connection)
    user = connections[0].user
    TOTP.activate(user, TOTP_SEED)
    codes = RecoveryCodes.activate(user).generate_codes()
    return connections, codes


def rotate() -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "2", stdout=out)
    return out.getvalue()


def test_rotation_moves_every_secret_to_the_new_key(db, settings):
    connections, codes = secrets_under(settings, OLD)
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]  # step 1: the new key in front

    output = rotate()

    assert "Re-encrypted 3 connection(s) and 2 MFA authenticator(s)" in output
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # step 3: the old key dropped
    only_new = Fernet(NEW.encode())
    for n, before in enumerate(connections):
        after = Connection.objects.get(pk=before.pk)
        assert after.access_token == f"access-{n}-9d8c7b"
        assert after.refresh_token == f"refresh-{n}-1a2b3c"
        only_new.decrypt(after.access_token_encrypted.encode())
        with pytest.raises(InvalidToken):
            Fernet(OLD.encode()).decrypt(after.refresh_token_encrypted.encode())
    user = connections[0].user
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert only_new.decrypt(totp.data["secret"].encode()).decode() == TOTP_SEED
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    assert RecoveryCodes(recovery).generate_codes() == codes


def test_running_it_again_changes_nothing_that_matters(db, settings):
    secrets_under(settings, OLD, count=1)
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    rotate()

    output = rotate()

    assert "Re-encrypted 1 connection(s)" in output
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert Connection.objects.get().access_token == "access-0-9d8c7b"


def test_a_secret_no_key_can_read_stops_it(db, settings):
    secrets_under(settings, OLD, count=1)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key dropped too early

    with pytest.raises(CommandError, match="cannot be decrypted"):
        rotate()

    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    assert Connection.objects.get().access_token == "access-0-9d8c7b"
