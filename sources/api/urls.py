from django.urls import path

from sources.api import views

urlpatterns = [
    path("connections/", views.ConnectionListApi.as_view(), name="connections"),
    path("connections/<int:id>/", views.ConnectionDetailApi.as_view(), name="connection"),
    path("connections/<int:id>/sync/", views.ConnectionSyncApi.as_view(), name="connection-sync"),
    path(
        "connections/<int:id>/runs/",
        views.ConnectionRunListApi.as_view(),
        name="connection-runs",
    ),
]
