"""Everything under /api/v1/: each app's API views, registered in one place."""

from django.urls import include, path

from accounts.api.views import MeApi
from imports.api import views as imports_api
from metrics.api import views as metrics_api

urlpatterns = [
    path("me/", MeApi.as_view(), name="me"),
    path("metrics/", metrics_api.MetricListApi.as_view(), name="metrics"),
    path("data-sources/", metrics_api.DataSourceListApi.as_view(), name="data_sources"),
    path(
        "data-sources/<int:id>/",
        metrics_api.DataSourceDetailApi.as_view(),
        name="data_source",
    ),
    path("samples/", metrics_api.SampleListApi.as_view(), name="samples"),
    path("series/", metrics_api.SeriesApi.as_view(), name="series"),
    path("sleep-sessions/", metrics_api.SleepSessionListApi.as_view(), name="sleep_sessions"),
    path(
        "sleep-sessions/<int:id>/",
        metrics_api.SleepSessionDetailApi.as_view(),
        name="sleep_session",
    ),
    path("workouts/", metrics_api.WorkoutListApi.as_view(), name="workouts"),
    path("workouts/<int:id>/", metrics_api.WorkoutDetailApi.as_view(), name="workout"),
    path("daily-summaries/", metrics_api.DailySummaryListApi.as_view(), name="daily_summaries"),
    path("", include("preferences.api.urls")),
    path("", include("sources.api.urls")),
    path("imports/", imports_api.ImportListApi.as_view(), name="imports"),
    path("imports/<int:job_id>/", imports_api.ImportDetailApi.as_view(), name="import"),
]
