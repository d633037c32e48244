"""Shared pieces of the WHOOP tests: the provider, a started fake wired into settings, the
recorded payloads and a completed OAuth grant."""

from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from sources.providers import get
from sources.providers.base import TokenSet
from tests.fakes.whoop import FakeWhoop, fixture

WHOOP = get("whoop")
MEMBER = 10129  # the user id in the recorded payloads


def payload(name: str):
    return fixture(f"{name}.json")


def started_fake(settings, **options):
    """A running fake WHOOP with HEALTHHUB_PROVIDERS["whoop"] pointing at it (in a fixture:
    `yield from started_fake(settings)`)."""
    with FakeWhoop(**options) as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "whoop": server.settings_for(),
        }
        yield server


def authorize_url(fake: FakeWhoop, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": fake.client_id,
        "redirect_uri": next(iter(fake.redirect_uris)),
        "state": "a-state-of-16-ch",
        "scope": " ".join(WHOOP.scopes),
        **overrides,
    }
    return f"{fake.base_url}/oauth/oauth2/auth?{urlencode(params)}"


def exchange(fake: FakeWhoop, code: str, **overrides) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": next(iter(fake.redirect_uris)),
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        **overrides,
    }
    return requests.post(f"{fake.base_url}/oauth/oauth2/token", data=form, timeout=10)


def connect(fake: FakeWhoop, user_id: int = MEMBER) -> TokenSet:
    """Authorize + code exchange as the allauth adapter does: the parsed token pair."""
    fake.add_member(user_id)
    callback = fake.approve(authorize_url(fake), user_id=user_id)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    response = exchange(fake, code)
    assert response.status_code == 200, response.text
    return WHOOP.parse_token_response(response.json())
