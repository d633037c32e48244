from django.db.models import QuerySet

from accounts.models import PersonalAccessToken, User
from accounts.services import TOKEN_PREFIX, token_hash


def access_tokens_for_user(*, user: User) -> QuerySet[PersonalAccessToken]:
    return PersonalAccessToken.objects.filter(user=user).order_by("-created_at")


def access_token_for_raw(raw: str) -> PersonalAccessToken | None:
    """The active token matching a raw `hh_<prefix>_<secret>` string, or None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    try:
        token = PersonalAccessToken.objects.select_related("user").get(
            token_hash=token_hash(raw), revoked_at__isnull=True
        )
    except PersonalAccessToken.DoesNotExist:
        return None
    if token.is_expired or not token.user.is_active:
        return None
    return token
