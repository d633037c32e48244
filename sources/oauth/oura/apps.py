from django.apps import AppConfig


class OuraOAuthConfig(AppConfig):
    name = "sources.oauth.oura"
    label = "oauth_oura"
    verbose_name = "Oura OAuth (allauth provider)"
