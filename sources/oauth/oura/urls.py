from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from sources.oauth.oura.provider import OuraProvider

urlpatterns = default_urlpatterns(OuraProvider)
