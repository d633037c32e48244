from rest_framework import authentication, exceptions

from accounts.selectors import access_token_for_raw
from accounts.services import access_token_touch


class PersonalAccessTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer hh_<prefix>_<secret>`; request.auth is the token row."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        token = access_token_for_raw(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        access_token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
