"""A stand-in provider module and its fake authorization server, for testing the OAuth
connect flow and the token service on their own (the real modules have their own tests).

`use_dummy(monkeypatch, settings, slug, fake)` puts a DummyProvider in the registry under
one of the allauth provider slugs (oura, whoop, withings) and points that provider's
settings at the fake. The fake speaks standard OAuth2, or Withings' `{status, body}`
envelope with `envelope=True`: authorize (checks client, exact redirect URI, state length,
PKCE challenge), `approve(authorize_url) -> callback_url`, a token endpoint with expiry
and single-use rotating refresh tokens (counting refreshes), revoke, profile endpoints
and a data endpoint that refuses unknown or expired access tokens.
"""

import base64
import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from sources.errors import AuthRevoked, ProviderError
from sources.providers import REGISTRY
from sources.providers.base import Provider, TokenSet
from tests.fakes.base import FakeProvider, FakeRequest, FakeResponse

CLIENT_ID = "dummy-client"
CLIENT_SECRET = "dummy-client-secret-3f9a"


class DummyProvider(Provider):
    def __init__(self, slug: str, *, scopes=("daily", "personal"), delimiter=" ", pkce=False):
        self.slug = slug
        self.name = f"Dummy {slug.title()}"
        self.scopes = tuple(scopes)
        self.scope_delimiter = delimiter
        self.pkce = pkce
        self.envelope = slug == "withings"

    def parse_token_response(self, data: dict) -> TokenSet:
        if self.envelope:
            if data.get("status") != 0:
                if data.get("status") == 503:
                    raise AuthRevoked("invalid refresh token")
                raise ProviderError(f"status {data.get('status')}")
            data = data["body"]
        if "error" in data:
            if data["error"] == "invalid_grant":
                raise AuthRevoked("invalid_grant")
            raise ProviderError(data["error"])
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token", ""),
            expires_at=datetime.now(UTC) + timedelta(seconds=int(data["expires_in"])),
            scopes=tuple(s for s in data.get("scope", "").split(self.scope_delimiter) if s),
            provider_user_id=str(data.get("userid", "")),
        )

    def refresh(self, http, refresh_token: str) -> TokenSet:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.config["CLIENT_ID"],
            "client_secret": self.config["CLIENT_SECRET"],
        }
        if self.envelope:
            form["action"] = "requesttoken"
        response = http.request("POST", self.config["TOKEN_URL"], data=form)
        return self.parse_token_response(http.json(response))

    def revoke(self, http, access_token: str, refresh_token: str, provider_user_id="") -> bool:
        response = http.request("POST", self.config["REVOKE_URL"], data={"token": access_token})
        return response.status_code == 200

    def unsubscribe(self, http, access_token, callback_url, subscriptions) -> None:
        for item in subscriptions:
            http.request("DELETE", self.url(f"/subscriptions/{item['id']}"), token=access_token)

    def get_data(self, http, access_token: str) -> dict:
        return http.json(http.request("GET", self.url("/v2/data"), token=access_token))


class DummyFake(FakeProvider):
    def __init__(self, *, envelope: bool = False, user_id: str = "acct-1", min_state: int = 0):
        super().__init__()
        self.envelope = envelope
        self.user_id = user_id
        self.min_state = min_state
        self.expires_in = 3600
        self.refresh_delay = 0.0  # seconds the refresh grant takes (widens races)
        self.codes: dict[str, dict] = {}
        self.access: dict[str, float] = {}  # token -> expiry (epoch)
        self.refresh_tokens: dict[str, bool] = {}  # token -> still valid
        self.refreshes = 0
        self.invalid_grants = 0
        self.issued: list[tuple[str, str]] = []
        self.revoked: list[str] = []
        self.route("GET", "/oauth/authorize", self._authorize)
        self.route("POST", "/oauth/token", self._token)
        self.route("POST", "/oauth/revoke", self._revoke)
        self.route("GET", "/v2/usercollection/personal_info", self._profile("id"))
        self.route("GET", "/v2/user/profile/basic", self._profile("user_id"))
        self.route("GET", "/v2/data", self._data)
        self.route("DELETE", "/subscriptions/*", lambda r: FakeResponse(204, b""))

    # --- what tests point settings at --------------------------------------------------
    def settings(self) -> dict:
        return {
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "AUTHORIZE_URL": f"{self.base_url}/oauth/authorize",
            "TOKEN_URL": f"{self.base_url}/oauth/token",
            "REVOKE_URL": f"{self.base_url}/oauth/revoke",
            "API_BASE": self.base_url,
        }

    # --- the user's consent --------------------------------------------------------------
    def approve(self, authorize_url: str, *, scope: str | None = None) -> str:
        """The user says yes: a one-time code bound to the client, redirect URI and PKCE
        challenge; returns the callback URL the browser is sent to."""
        query = {k: v[-1] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {
                "client_id": query["client_id"],
                "redirect_uri": query["redirect_uri"],
                "scope": query.get("scope", "") if scope is None else scope,
                "challenge": query.get("code_challenge"),
            }
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        return f"{query['redirect_uri']}?{urlencode(params)}"

    def issue(self, *, expires_in: int | None = None) -> tuple[str, str]:
        """A fresh pair (as if a code or refresh token had been exchanged)."""
        access, refresh = f"at-{secrets.token_hex(12)}", f"rt-{secrets.token_hex(12)}"
        with self.lock:
            lifetime = self.expires_in if expires_in is None else expires_in
            self.access[access] = self.clock() + lifetime
            self.refresh_tokens[refresh] = True
            self.issued.append((access, refresh))
        return access, refresh

    # --- handlers ------------------------------------------------------------------------
    def _answer(self, body: dict, *, error: str = "", status: int = 400) -> FakeResponse:
        if self.envelope:
            # Withings: HTTP 200 whatever happened, the status inside.
            if error:
                return FakeResponse(200, {"status": 503 if error == "invalid_grant" else 601})
            return FakeResponse(200, {"status": 0, "body": body})
        if error:
            return FakeResponse(status, {"error": error})
        return FakeResponse(200, body)

    def _authorize(self, request: FakeRequest) -> FakeResponse:
        state = request.query.get("state", "")
        if len(state) < self.min_state:
            return FakeResponse(400, {"error": "invalid_state"})
        return FakeResponse(200, "<h1>Allow HealthHub?</h1>")

    def _pair_body(self, scope: str) -> dict:
        access, refresh = self.issue()
        body = {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
            "scope": scope,
        }
        if self.envelope:
            body["userid"] = int(self.user_id) if self.user_id.isdigit() else self.user_id
        return body

    def _token(self, request: FakeRequest) -> FakeResponse:
        form = request.form
        if self.envelope and form.get("action") != "requesttoken":
            return FakeResponse(200, {"status": 2554})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return self._answer({}, error="invalid_client", status=401)
        if form.get("grant_type") == "authorization_code":
            with self.lock:
                grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return self._answer({}, error="invalid_grant")
            if grant["challenge"]:
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                    return self._answer({}, error="invalid_grant")
            return self._answer(self._pair_body(grant["scope"]))
        if form.get("grant_type") == "refresh_token":
            if self.refresh_delay:
                time.sleep(self.refresh_delay)
            with self.lock:
                self.refreshes += 1
                token = form.get("refresh_token", "")
                if not self.refresh_tokens.get(token):
                    self.invalid_grants += 1
                    return self._answer({}, error="invalid_grant")
                self.refresh_tokens[token] = False  # single use
            return self._answer(self._pair_body("daily personal"))
        return self._answer({}, error="unsupported_grant_type")

    def _valid(self, request: FakeRequest) -> bool:
        with self.lock:
            expiry = self.access.get(request.bearer)
        return expiry is not None and expiry > self.clock()

    def _profile(self, key: str):
        def handler(request: FakeRequest) -> FakeResponse:
            if not self._valid(request):
                return FakeResponse(401, {"error": "unauthorized"})
            return FakeResponse(200, {key: self.user_id, "age": 41, "weight": 71.5})

        return handler

    def _data(self, request: FakeRequest) -> FakeResponse:
        if not self._valid(request):
            return FakeResponse(401, {"error": "unauthorized"})
        return FakeResponse(200, {"data": [1, 2, 3]})

    def _revoke(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            token = request.form.get("token", "")
            self.revoked.append(token)
            self.access.pop(token, None)
        return FakeResponse(200, {})


def use_dummy(monkeypatch, settings, slug: str, fake: DummyFake, **provider_kwargs):
    """Register a DummyProvider as `slug` (undone after the test) pointing at `fake`."""
    if slug == "withings":
        provider_kwargs.setdefault("delimiter", ",")
        provider_kwargs.setdefault("scopes", ("user.metrics", "user.activity"))
    provider = DummyProvider(slug, **provider_kwargs)
    monkeypatch.setitem(REGISTRY, slug, provider)
    settings.HEALTHHUB_PROVIDERS = {**settings.HEALTHHUB_PROVIDERS, slug: fake.settings()}
    return provider
