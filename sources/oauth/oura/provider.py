from sources.oauth.base import HealthHubOAuth2Provider
from sources.oauth.oura.views import OuraOAuth2Adapter


class OuraProvider(HealthHubOAuth2Provider):
    id = "oura"
    name = "Oura"
    oauth2_adapter_class = OuraOAuth2Adapter


provider_classes = [OuraProvider]
