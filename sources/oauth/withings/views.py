"""Withings' token endpoint is not standard OAuth2: POST to /v2/oauth2 with
action=requesttoken; the answer is a `{status, body}` envelope where errors arrive with
HTTP 200 and a non-zero status; scopes are comma-separated; the account id (`userid`)
comes in the token body. The code lives 30 seconds, so it is exchanged in the callback
request itself (allauth does), never deferred to a task."""

from allauth.socialaccount.providers.oauth2.client import OAuth2Error

from sources.oauth.base import (
    HealthHubOAuth2Adapter,
    HealthHubOAuth2Client,
    callback_view,
    login_view,
)


class WithingsOAuth2Client(HealthHubOAuth2Client):
    extra_token_params = {"action": "requesttoken"}

    def check_token_payload(self, payload: dict) -> None:
        status = payload.get("status")
        if status != 0:
            # Only the numeric status: the envelope's error text may echo the request.
            raise OAuth2Error(f"Withings refused the authorization code (status {status})")
        body = payload.get("body")
        if not isinstance(body, dict) or "access_token" not in body:
            raise OAuth2Error("Withings' token answer has no access token")


class WithingsOAuth2Adapter(HealthHubOAuth2Adapter):
    provider_id = "withings"
    client_class = WithingsOAuth2Client

    def provider_user_id_from_response(self, data, tokens) -> str:
        if tokens.provider_user_id:
            return str(tokens.provider_user_id)
        userid = (data.get("body") or {}).get("userid")
        if userid in (None, ""):
            raise OAuth2Error("Withings did not name the connected account")
        return str(userid)


oauth2_login = login_view(WithingsOAuth2Adapter)
oauth2_callback = callback_view(WithingsOAuth2Adapter)
