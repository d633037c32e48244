from django.urls import path

from preferences.api import views

urlpatterns = [
    path("priorities/", views.PrioritiesApi.as_view(), name="priorities"),
    path("priorities/runs/<int:run_id>/", views.RecomputeRunApi.as_view(), name="priorities-run"),
    path(
        "priorities/<str:category>/",
        views.PriorityCategoryApi.as_view(),
        name="priorities-category",
    ),
    path("resolved/daily/", views.ResolvedDailyApi.as_view(), name="resolved-daily"),
    path("resolved/series/", views.ResolvedSeriesApi.as_view(), name="resolved-series"),
    path(
        "sleep-sessions/<int:session_id>/duplicates/",
        views.SleepDuplicatesApi.as_view(),
        name="sleep-session-duplicates",
    ),
    path(
        "workouts/<int:workout_id>/duplicates/",
        views.WorkoutDuplicatesApi.as_view(),
        name="workout-duplicates",
    ),
]
