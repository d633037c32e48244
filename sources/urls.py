from django.urls import path

from sources import views

app_name = "sources"

urlpatterns = [
    path("", views.index, name="index"),
]
