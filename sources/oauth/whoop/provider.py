from sources.oauth.base import HealthHubOAuth2Provider
from sources.oauth.whoop.views import WhoopOAuth2Adapter


class WhoopProvider(HealthHubOAuth2Provider):
    id = "whoop"
    name = "WHOOP"
    oauth2_adapter_class = WhoopOAuth2Adapter
    # Without `offline` WHOOP issues no refresh token. allauth's state ids are 16
    # characters (statekit.STATE_ID_LENGTH), above WHOOP's minimum of 8.
    extra_scopes = ("offline",)


provider_classes = [WhoopProvider]
