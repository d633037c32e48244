"""Driving allauth's connect flow from the test client, as a browser would."""

from urllib.parse import parse_qs, urlsplit

from django.conf import settings


def start_connect(client, slug: str, extra: str = ""):
    """POST the Connect button; the response redirects to the provider's authorize page."""
    return client.post(f"/accounts/{slug}/login/?process=connect{extra}")


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def follow_callback(client, callback_url: str):
    """The provider redirected the browser to our callback (SITE_URL + path)."""
    assert callback_url.startswith(settings.SITE_URL.rstrip("/") + "/")
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def connect(client, fake, slug: str):
    """The whole dance: Connect -> authorize page -> approve -> callback."""
    response = start_connect(client, slug)
    assert response.status_code == 302, response.content
    authorize_url = response["Location"]
    return follow_callback(client, fake.approve(authorize_url)), authorize_url


def messages_of(response) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]
