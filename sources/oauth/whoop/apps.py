from django.apps import AppConfig


class WhoopOAuthConfig(AppConfig):
    name = "sources.oauth.whoop"
    label = "oauth_whoop"
    verbose_name = "Whoop OAuth (allauth provider)"
