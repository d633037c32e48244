from rest_framework import permissions

from accounts.models import PersonalAccessToken


class TokenScopeAllows(permissions.BasePermission):
    """A read-only personal access token may only use safe methods."""

    message = "This token is read-only."

    def has_permission(self, request, view):
        token = request.auth
        if isinstance(token, PersonalAccessToken) and not token.can_write:
            return request.method in permissions.SAFE_METHODS
        return True
