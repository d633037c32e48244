from django.apps import AppConfig


class WithingsOAuthConfig(AppConfig):
    name = "sources.oauth.withings"
    label = "oauth_withings"
    verbose_name = "Withings OAuth (allauth provider)"
