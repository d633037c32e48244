"""No provider token, client secret or TOTP seed in plaintext in a dump of the database,
after a real connect through the OAuth flow and a TOTP enrollment."""

import os
import shutil
import subprocess

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection as db_connection

from sources.models import Connection
from tests.conftest import login
from tests.factories import UserFactory
from tests.sources.dummy_provider import CLIENT_SECRET, DummyFake, use_dummy
from tests.sources.oauth_helpers import connect

TOTP_SEED = "JBSWY3DPEHPK3PXPKRSXG5DFON2GK3TB"

pytestmark = pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed")


def pg_dump() -> str:
    db = db_connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    command = ["pg_dump", "--data-only", "--no-owner", "-d", db["NAME"]]
    for flag, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
        if db.get(key):
            command += [flag, str(db[key])]
    return subprocess.run(command, env=env, capture_output=True, check=True, text=True).stdout


def test_a_database_dump_holds_no_secret_in_plaintext(
    transactional_db, client, monkeypatch, settings
):
    user = UserFactory()
    assert login(client, user.email).status_code == 302
    TOTP.activate(user, TOTP_SEED)
    with DummyFake() as fake:
        use_dummy(monkeypatch, settings, "oura", fake)
        connect(client, fake, "oura")
        access, refresh = fake.issued[0]

    dump = pg_dump()

    assert Connection.objects.get(user=user).access_token == access  # it is in there...
    assert "acct-1" in dump  # ...and the dump has the connection's row
    for secret in (access, refresh, CLIENT_SECRET, TOTP_SEED):
        assert secret not in dump
