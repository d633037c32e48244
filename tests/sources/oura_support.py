"""Shared pieces of the Oura tests: the provider, a started fake wired into settings, and
the recorded payloads."""

import json
from pathlib import Path

from sources.providers import get
from tests.fakes.oura import FakeOura

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "oura"


def payload(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


OURA = get("oura")


def started_fake(settings, **options):
    """A running fake Oura, with HEALTHHUB_PROVIDERS["oura"] pointing at it (use in a
    fixture: `yield from started_fake(settings)`)."""
    with FakeOura(**options) as server:
        settings.HEALTHHUB_PROVIDERS = {
            **settings.HEALTHHUB_PROVIDERS,
            "oura": server.provider_settings(),
        }
        yield server


def connect(fake: FakeOura, user_id: str = "oura-user-1", scopes: tuple[str, ...] | None = None):
    """Run the authorize + code exchange against the fake: the token response."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    import requests

    redirect = next(iter(fake.redirect_uris))
    authorize = (
        fake.base_url
        + "/oauth/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": fake.client_id,
                "redirect_uri": redirect,
                "state": "s" * 16,
                "scope": "daily heartrate workout spo2Daily stress heart_health personal",
            }
        )
    )
    callback = fake.approve(authorize, user_id=user_id, scopes=scopes)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    response = requests.post(
        fake.base_url + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
        },
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()
