"""OAuth "connect" for providers allauth does not ship (Oura, WHOOP, Withings).

One small allauth provider package per provider (`sources/oauth/<slug>/`), all built on
`sources.oauth.base`; the adapter (`sources.oauth.adapter`) makes every flow a *connect*
of the signed-in user that ends in our own encrypted `Connection`, never a login, a new
user, a SocialAccount or a SocialToken.
"""

from django.urls import reverse


def connect_url(slug: str) -> str:
    """Where the Sources page POSTs to start connecting `slug` (process=connect)."""
    return reverse(f"{slug}_login") + "?process=connect"


def callback_url(slug: str) -> str:
    """The exact redirect URI to register at the provider: SITE_URL + the callback path."""
    from django.conf import settings

    return settings.SITE_URL.rstrip("/") + reverse(f"{slug}_callback")
