from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:job_id>/", views.job_detail, name="job"),
    path("<int:job_id>/status/", views.job_status, name="status"),
    path("<int:job_id>/cancel/", views.job_cancel, name="cancel"),
]
