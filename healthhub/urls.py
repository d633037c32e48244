from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views as core_views
from metrics import views as metrics_views
from sources import webhooks as sources_webhooks

# The admin login goes through allauth's login: the same rate limits and MFA apply.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "HealthHub administration"

urlpatterns = [
    path("", metrics_views.dashboard, name="dashboard"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("sources/", include("sources.urls")),
    path("webhooks/<slug:slug>/", sources_webhooks.receive, name="webhook"),
    path("imports/", include("imports.urls")),
    path("priorities/", include("preferences.urls")),
    path("api/v1/", include("healthhub.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/docs/",
        # Swagger UI (vendored via drf-spectacular-sidecar) injects <style> elements;
        # only this page relaxes style-src, scripts stay 'self'.
        csp_override({**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema")
        ),
        name="api_docs",
    ),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
