"""Re-encrypt every secret stored at rest under the first key of FIELD_ENCRYPTION_KEYS.

The procedure (README, "Rotating the encryption key"): put a new key in front of
FIELD_ENCRYPTION_KEYS (every key still decrypts), restart, run this command, then drop the
old key. MultiFernet.rotate decrypts with whichever key fits and encrypts with the first,
so running it again is harmless. Rows are handled in batches, each in its own transaction,
locked while rewritten so a concurrent token refresh is not overwritten.
"""

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core import crypto
from sources.models import Connection

BATCH = 500


def _rotate(value: str) -> str:
    return crypto.fernet().rotate(value.encode()).decode() if value else value


def _rotate_authenticator(data: dict) -> dict:
    """allauth MFA: TOTP `secret`, recovery codes `seed` and `migrated_codes` are
    encrypted by accounts.adapters.MFAAdapter; WebAuthn credentials are public keys."""
    data = dict(data)
    for key in ("secret", "seed"):
        if isinstance(data.get(key), str):
            data[key] = _rotate(data[key])
    if isinstance(data.get("migrated_codes"), list):
        data["migrated_codes"] = [_rotate(code) for code in data["migrated_codes"]]
    return data


class Command(BaseCommand):
    help = "Re-encrypt provider tokens and MFA secrets with the first FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH)

    def handle(self, *args, batch_size: int, **options):
        crypto.fernet()  # fails closed on a missing or invalid key
        try:
            connections = self._rotate_model(
                Connection.objects.all(),
                batch_size,
                lambda row: {
                    "access_token_encrypted": _rotate(row.access_token_encrypted),
                    "refresh_token_encrypted": _rotate(row.refresh_token_encrypted),
                },
            )
            authenticators = self._rotate_model(
                Authenticator.objects.filter(
                    type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
                ),
                batch_size,
                lambda row: {"data": _rotate_authenticator(row.data)},
            )
        except crypto.InvalidToken as exc:
            raise CommandError(
                "A stored secret cannot be decrypted with any key of FIELD_ENCRYPTION_KEYS: "
                "put back the key it was written with (after the new one) and run again."
            ) from exc
        self.stdout.write(
            f"Re-encrypted {connections} connection(s) and {authenticators} MFA "
            "authenticator(s) under the first key."
        )

    def _rotate_model(self, queryset, batch_size: int, new_values) -> int:
        done = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(
                    queryset.select_for_update().filter(pk__gt=last_pk).order_by("pk")[:batch_size]
                )
                if not rows:
                    return done
                for row in rows:
                    values = new_values(row)
                    queryset.model.objects.filter(pk=row.pk).update(**values)
                done += len(rows)
                last_pk = rows[-1].pk
            self.stdout.write(f"  {queryset.model._meta.verbose_name_plural}: {done}")
