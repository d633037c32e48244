from sources.oauth.base import HealthHubOAuth2Adapter, callback_view, login_view


class WhoopOAuth2Adapter(HealthHubOAuth2Adapter):
    provider_id = "whoop"
    profile_path = "/v2/user/profile/basic"
    profile_id_key = "user_id"


oauth2_login = login_view(WhoopOAuth2Adapter)
oauth2_callback = callback_view(WhoopOAuth2Adapter)
