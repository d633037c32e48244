"""allauth's social-account adapter for HealthHub: providers are *connected*, never used
to sign in or sign up.

- Apps come from settings.HEALTHHUB_PROVIDERS (client id and secret from the
  environment, read at request time); a provider without both is not offered, and no
  SocialApp row is ever consulted for our providers (no secrets in the database).
- A callback reaches `pre_social_login` only after allauth checked `state` (minted for
  this provider, in this browser session) and the code was exchanged. There the flow
  stops: a signed-in user's connect becomes our encrypted Connection, anything else is
  refused; either way an ImmediateHttpResponse ends it before allauth would log anyone
  in, create a user, or save a SocialAccount or SocialToken.
"""

import structlog
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import AuthError, AuthProcess
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from sources import providers
from sources.oauth.base import registry_provider

log = structlog.get_logger(__name__)

REFUSALS = {
    "only_connect": (
        "HealthHub does not sign in with {name}. Sign in to HealthHub, then connect "
        "{name} from the Sources page."
    ),
    "linked_elsewhere": (
        "This {name} account is already connected to another HealthHub user. Disconnect "
        "it there first, or connect a different {name} account."
    ),
    "cancelled": "Connecting {name} was cancelled; nothing was changed.",
    "failed": "Connecting {name} did not work. Please try again from the Sources page.",
    "expired": (
        "That {name} connection attempt expired or was not started from this browser. "
        "Please start again from the Sources page."
    ),
}


def _name(slug: str) -> str:
    provider = providers.REGISTRY.get(slug)
    return provider.name if provider else slug.title()


def refuse(request, slug: str, reason: str) -> HttpResponseRedirect:
    messages.error(request, REFUSALS[reason].format(name=_name(slug)))
    return HttpResponseRedirect(reverse("sources:index"))


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None) -> list[SocialApp]:
        apps = []
        for slug, config in settings.HEALTHHUB_PROVIDERS.items():
            module = registry_provider(slug)
            if module is None or (provider and provider != slug):
                continue
            if client_id and client_id != config["CLIENT_ID"]:
                continue
            apps.append(
                SocialApp(
                    provider=slug,
                    name=module.name,
                    client_id=config["CLIENT_ID"],
                    secret=config["CLIENT_SECRET"],
                )
            )
        return apps

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        return False

    def pre_social_login(self, request, sociallogin) -> None:
        from sources.services.connections import (
            AccountLinkedElsewhere,
            connection_save_from_oauth,
        )

        slug = sociallogin.account.provider
        state = sociallogin.state or {}
        tokens = getattr(sociallogin, "healthhub_tokens", None)
        if (
            registry_provider(slug) is None
            or tokens is None
            or state.get("process") != AuthProcess.CONNECT
            or not request.user.is_authenticated
        ):
            log.warning("oauth_connect_refused", provider=slug, reason="not_a_connect")
            raise ImmediateHttpResponse(refuse(request, slug, "only_connect"))
        try:
            connection = connection_save_from_oauth(
                user=request.user,
                provider_slug=slug,
                token=tokens,
                provider_user_id=sociallogin.account.uid,
            )
        except AccountLinkedElsewhere:
            log.warning("oauth_connect_refused", provider=slug, reason="linked_elsewhere")
            raise ImmediateHttpResponse(refuse(request, slug, "linked_elsewhere")) from None
        log.info("oauth_connected", provider=slug, connection=connection.id)
        messages.success(request, f"{_name(slug)} is connected.")
        raise ImmediateHttpResponse(HttpResponseRedirect(reverse("sources:index")))

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        """Every failed callback (cancelled, bad or foreign state, refused code) ends on
        the Sources page with a plain message; the log gets the kind, never details that
        could hold a code or a token."""
        slug = getattr(provider, "id", "")
        if error == AuthError.CANCELLED:
            reason = "cancelled"
        elif exception is None and extra_context and "state_id" in extra_context:
            reason = "expired"
        else:
            reason = "failed"
        log.warning(
            "oauth_connect_failed",
            provider=slug,
            reason=reason,
            error=type(exception).__name__ if exception else str(error or ""),
        )
        raise ImmediateHttpResponse(refuse(request, slug, reason))

    def get_connect_redirect_url(self, request, socialaccount) -> str:
        return reverse("sources:index")
