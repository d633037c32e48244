from django.urls import path

from preferences import views

app_name = "preferences"

urlpatterns = [
    path("", views.index, name="index"),
    path("runs/<int:run_id>/", views.run_status, name="run_status"),
    path("compare/", views.compare, name="compare"),
    path("<str:category>/", views.category_edit, name="category"),
]
