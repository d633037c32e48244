from sources.oauth.base import HealthHubOAuth2Provider
from sources.oauth.withings.views import WithingsOAuth2Adapter


class WithingsProvider(HealthHubOAuth2Provider):
    id = "withings"
    name = "Withings"
    oauth2_adapter_class = WithingsOAuth2Adapter


provider_classes = [WithingsProvider]
