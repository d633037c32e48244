import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import PersonalAccessToken, User

TOKEN_PREFIX = "hh_"  # noqa: S105 (a public marker, not a secret)
# Update last_used_at at most this often, so API calls do not each write a row.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    # The secret has 256 bits of entropy: a plain SHA-256 is enough (no slow KDF needed).
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedToken:
    token: PersonalAccessToken
    raw: str  # shown to the user once, never stored


def access_token_create(
    *, user: User, name: str, scope: str, expires_at: datetime | None = None
) -> CreatedToken:
    while True:
        prefix = secrets.token_hex(4)
        if not PersonalAccessToken.objects.filter(prefix=prefix).exists():
            break
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = PersonalAccessToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        token_hash=token_hash(raw),
        scope=scope,
        expires_at=expires_at,
    )
    return CreatedToken(token=token, raw=raw)


def access_token_revoke(*, user: User, token_id: int) -> PersonalAccessToken:
    token = PersonalAccessToken.objects.get(user=user, id=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def access_token_touch(*, token: PersonalAccessToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        PersonalAccessToken.objects.filter(id=token.id).update(last_used_at=now)
        token.last_used_at = now


def user_update(*, user: User, display_name: str, timezone: str) -> User:
    user.display_name = display_name
    user.timezone = timezone
    user.full_clean(validate_unique=False)
    user.save(update_fields=["display_name", "timezone"])
    return user
