from sources.oauth.base import HealthHubOAuth2Adapter, callback_view, login_view


class OuraOAuth2Adapter(HealthHubOAuth2Adapter):
    provider_id = "oura"
    # Any token can read its owner's personal_info; its `id` names the account.
    profile_path = "/v2/usercollection/personal_info"
    profile_id_key = "id"


oauth2_login = login_view(OuraOAuth2Adapter)
oauth2_callback = callback_view(OuraOAuth2Adapter)
