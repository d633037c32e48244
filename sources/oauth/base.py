"""What the Oura, WHOOP and Withings allauth providers share.

allauth runs the dance (authorize redirect with `state` from its statekit, bound to the
provider it was minted for; PKCE verifier kept in that state; callback). Everything
provider-specific comes from our provider registry (scopes, delimiter, PKCE, token
parsing) and from settings.HEALTHHUB_PROVIDERS, read at request time (URLs, client id and
secret). The code is exchanged through our HTTP seam and its errors never carry a token
or a response body. The profile call that names the provider's account goes through the
same seam.
"""

from allauth.account.utils import get_request_param
from allauth.socialaccount.models import SocialToken
from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.client import OAuth2Client, OAuth2Error
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider
from allauth.socialaccount.providers.oauth2.utils import generate_code_challenge
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2Adapter,
    OAuth2CallbackView,
    OAuth2LoginView,
)
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import reverse
from django.utils.http import urlencode

from sources import providers
from sources.errors import ProviderError
from sources.http import ProviderHTTP
from sources.providers.base import Provider, TokenSet


def registry_provider(slug: str) -> Provider | None:
    """Our provider module for `slug` if it is registered and has credentials."""
    provider = providers.REGISTRY.get(slug)
    if provider is None or slug not in settings.HEALTHHUB_PROVIDERS or not provider.configured:
        return None
    return provider


def _require(slug: str) -> Provider:
    provider = registry_provider(slug)
    if provider is None:
        raise Http404(f"{slug} is not offered on this server")
    return provider


class HealthHubOAuth2Client(OAuth2Client):
    """allauth's client with the token exchange going through sources.http.ProviderHTTP.

    `extra_token_params` are added to the token request (Withings' action=requesttoken);
    `check_token_payload` turns provider-specific error shapes into OAuth2Error."""

    extra_token_params: dict[str, str] = {}

    def __init__(self, *args, provider: Provider, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider

    def get_redirect_url(self, authorization_url, scope, extra_params) -> str:
        # allauth joins a set(); keep the declared order (reviewable, stable URLs).
        params = {
            self.client_id_parameter: self.consumer_key,
            "redirect_uri": self.callback_url,
            "scope": self.scope_delimiter.join(dict.fromkeys(scope)),
            "response_type": "code",
        }
        if self.state:
            params["state"] = self.state
        params.update(extra_params)
        return f"{authorization_url}?{urlencode(params)}"

    def get_access_token(self, code, pkce_code_verifier=None, extra_data=None):
        data = {
            **self.extra_token_params,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.callback_url,
            "client_id": self.consumer_key,
            "client_secret": self.consumer_secret,
        }
        if pkce_code_verifier:
            data["code_verifier"] = pkce_code_verifier
        if extra_data:
            data.update(extra_data)
        http = self.provider.http()
        try:
            response = http.request("POST", self.access_token_url, data=data)
            if response.status_code not in (200, 201):
                raise OAuth2Error(
                    f"{self.provider.name} refused the authorization code "
                    f"(HTTP {response.status_code}{_error_code(response)})"
                )
            payload = http.json(response)
        except ProviderError as exc:  # the seam's messages hold no token or query string
            raise OAuth2Error(str(exc)) from exc
        if not isinstance(payload, dict):
            raise OAuth2Error(f"{self.provider.name}'s token endpoint answered no object")
        self.check_token_payload(payload)
        return payload

    def check_token_payload(self, payload: dict) -> None:
        if "access_token" not in payload:
            raise OAuth2Error(f"{self.provider.name}'s token endpoint answered no access token")


def _error_code(response) -> str:
    """The OAuth `error` code if the body has one (a short, token-free identifier)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if isinstance(error, str) and error.replace("_", "").isalnum() and len(error) <= 40:
        return f", {error}"
    return ""


class HealthHubOAuth2Adapter(OAuth2Adapter):
    """Subclasses set `provider_id` and either `profile_path` + `profile_id_key` (a GET
    with the new token that names the provider's account) or override
    `provider_user_id_from_response`."""

    client_class = HealthHubOAuth2Client
    profile_path = ""
    profile_id_key = "id"

    @property
    def provider(self) -> Provider:
        return _require(self.provider_id)

    @property
    def access_token_url(self) -> str:  # type: ignore[override]
        return self.provider.config["TOKEN_URL"]

    @property
    def authorize_url(self) -> str:
        return self.provider.config["AUTHORIZE_URL"]

    @property
    def scope_delimiter(self) -> str:  # type: ignore[override]
        return self.provider.scope_delimiter

    def get_callback_url(self, request, app) -> str:
        # Exactly the URI registered at the provider, whatever Host the request came on.
        return settings.SITE_URL.rstrip("/") + reverse(f"{self.provider_id}_callback")

    def get_client(self, request, app):
        return self.client_class(
            request,
            app.client_id,
            app.secret,
            "POST",
            self.access_token_url,
            self.get_callback_url(request, app),
            scope_delimiter=self.scope_delimiter,
            provider=self.provider,
        )

    def parse_token(self, data) -> SocialToken:
        """Our provider module parses the token response; the SocialToken allauth wants
        is only carried through this request, never saved (SOCIALACCOUNT_STORE_TOKENS
        is False and the adapter stops the flow before any save)."""
        try:
            tokens = self.provider.parse_token_response(data)
        except ProviderError as exc:
            raise OAuth2Error(f"{self.provider.name}: {exc}") from exc
        token = SocialToken(
            token=tokens.access_token,
            token_secret=tokens.refresh_token,
            expires_at=tokens.expires_at,
        )
        token.healthhub_tokens = tokens
        return token

    def provider_user_id_from_response(self, data: dict, tokens: TokenSet) -> str:
        if tokens.provider_user_id:
            return str(tokens.provider_user_id)
        if not self.profile_path:
            raise OAuth2Error(f"{self.provider.name} did not name the connected account")
        http: ProviderHTTP = self.provider.http()
        try:
            response = http.request(
                "GET", self.provider.url(self.profile_path), token=tokens.access_token
            )
            if response.status_code != 200:
                raise OAuth2Error(
                    f"{self.provider.name}'s profile answered HTTP {response.status_code}"
                )
            profile = http.json(response)
        except ProviderError as exc:
            raise OAuth2Error(str(exc)) from exc
        value = profile.get(self.profile_id_key) if isinstance(profile, dict) else None
        if value in (None, ""):
            raise OAuth2Error(f"{self.provider.name}'s profile has no account id")
        return str(value)

    def complete_login(self, request, app, token, **kwargs):
        tokens: TokenSet = token.healthhub_tokens
        uid = self.provider_user_id_from_response(kwargs.get("response") or {}, tokens)
        # Only the id: profiles carry personal data (Oura's has weight and height).
        provider = self.get_provider()
        login = provider.sociallogin_from_response(request, {"id": uid})
        login.healthhub_tokens = TokenSet(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            # RFC 6749 §5.1: a response without `scope` granted what was requested.
            scopes=tokens.scopes or tuple(provider.get_scope()),
            provider_user_id=uid,
        )
        return login


class HealthHubAccount(ProviderAccount):
    def to_str(self) -> str:
        return f"{self.account.get_provider().name} account {self.account.uid}"


class HealthHubOAuth2Provider(OAuth2Provider):
    """Scopes and PKCE come from our provider module, never from the request."""

    account_class = HealthHubAccount
    # Scopes the OAuth flow needs beyond the provider module's data scopes.
    extra_scopes: tuple[str, ...] = ()

    @property
    def module(self) -> Provider:
        return _require(self.id)

    def get_default_scope(self) -> list[str]:
        return list(dict.fromkeys([*self.module.scopes, *self.extra_scopes]))

    def get_scope(self) -> list[str]:
        return self.get_default_scope()

    def get_scope_from_request(self, request) -> list[str]:
        # allauth would append ?scope=...; the requested scopes are a reviewed constant.
        return self.get_scope()

    def get_auth_params_from_request(self, request, action) -> dict:
        # Likewise no ?auth_params=... from the browser.
        return self.get_auth_params()

    def get_pkce_params(self) -> dict:
        return generate_code_challenge() if self.module.pkce else {}

    def extract_uid(self, data) -> str:
        return str(data["id"])

    def extract_common_fields(self, data) -> dict:
        return {}


def login_view(adapter_class):
    """allauth's login view, offered only for a configured provider, to a signed-in user,
    for process=connect (HealthHub never signs anyone in with a provider)."""
    inner = OAuth2LoginView.adapter_view(adapter_class)
    slug = adapter_class.provider_id

    def view(request, *args, **kwargs):
        _require(slug)
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("sources:index"))
        if request.method == "POST" and get_request_param(request, "process") != "connect":
            from sources.oauth.adapter import refuse

            return refuse(request, slug, "only_connect")
        return inner(request, *args, **kwargs)

    return view


def callback_view(adapter_class):
    """allauth's callback view; no code is exchanged for an anonymous visitor."""
    inner = OAuth2CallbackView.adapter_view(adapter_class)
    slug = adapter_class.provider_id

    def view(request, *args, **kwargs):
        _require(slug)
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("sources:index"))
        return inner(request, *args, **kwargs)

    return view
