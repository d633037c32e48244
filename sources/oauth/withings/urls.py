from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from sources.oauth.withings.provider import WithingsProvider

urlpatterns = default_urlpatterns(WithingsProvider)
