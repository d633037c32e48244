from django.urls import path

from sources import views

app_name = "sources"

urlpatterns = [
    path("", views.index, name="index"),
    path("status/", views.status, name="status"),
    path("<int:connection_id>/sync/", views.sync_now, name="sync"),
    path("<int:connection_id>/disconnect/", views.disconnect, name="disconnect"),
]
