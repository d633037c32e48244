"""The read API for the unified health data: thin views over metrics.selectors.

Every query is scoped to request.user; another user's ids (in the path or in the
data_source parameter) answer 404 in the standard error format."""

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import selectors
from metrics.api.serializers import (
    DailySummaryQuerySerializer,
    DailySummarySerializer,
    DataSourceSerializer,
    MetricSerializer,
    SampleQuerySerializer,
    SampleSerializer,
    SeriesQuerySerializer,
    SeriesSerializer,
    SleepSessionDetailSerializer,
    SleepSessionQuerySerializer,
    SleepSessionSerializer,
    WorkoutDetailSerializer,
    WorkoutQuerySerializer,
    WorkoutSerializer,
    sample_item,
)
from metrics.catalog import METRICS, get_metric
from metrics.models import DataSource, SleepSession, Workout

DATA_SOURCE_NOT_FOUND = "Data source not found."


def _query(serializer_class, request) -> dict:
    serializer = serializer_class(
        data=request.query_params, context={"timezone": request.user.timezone}
    )
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _check_data_source(request, data_source_id: int | None) -> None:
    if data_source_id is not None:
        try:
            selectors.data_source_ids_for_user(user=request.user, data_source_id=data_source_id)
        except DataSource.DoesNotExist:
            raise NotFound(DATA_SOURCE_NOT_FOUND) from None


def _id_parameter(description: str) -> OpenApiParameter:
    return OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=description)


class SamplePagination(CursorPagination):
    # Ties on start (several sources, or several intervals starting together) are ordered
    # by source and end, so the cursor's offset always points into a stable order.
    ordering = ("start", "data_source_id", "end")
    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 10_000


class NewestFirstPagination(CursorPagination):
    ordering = ("-start", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class MetricListApi(APIView):
    """The metric catalog: every kind of value HealthHub stores."""

    @extend_schema(responses=MetricSerializer(many=True), operation_id="metrics_list")
    def get(self, request):
        return Response(MetricSerializer(METRICS, many=True).data)


class DataSourceListApi(APIView):
    """Your data sources: a provider or import kind and the device or app inside it."""

    @extend_schema(responses=DataSourceSerializer(many=True), operation_id="data_sources_list")
    def get(self, request):
        sources = selectors.data_sources_for_user(user=request.user)
        return Response(DataSourceSerializer(sources, many=True).data)


class DataSourceDetailApi(APIView):
    @extend_schema(
        parameters=[_id_parameter("A data source id.")],
        responses=DataSourceSerializer,
        operation_id="data_sources_retrieve",
    )
    def get(self, request, id: int):
        try:
            source = selectors.data_source_get(user=request.user, data_source_id=id)
        except DataSource.DoesNotExist:
            raise NotFound(DATA_SOURCE_NOT_FOUND) from None
        return Response(DataSourceSerializer(source).data)


class SampleListApi(GenericAPIView):
    """Raw samples of one metric, oldest first, cursor-paginated (follow `next`)."""

    pagination_class = SamplePagination
    serializer_class = SampleSerializer

    @extend_schema(
        parameters=[SampleQuerySerializer],
        responses=SampleSerializer(many=True),
        operation_id="samples_list",
    )
    def get(self, request):
        params = _query(SampleQuerySerializer, request)
        metric = get_metric(params["metric"])
        try:
            samples = selectors.samples_for_user(
                user=request.user,
                metric=metric,
                data_source_id=params.get("data_source"),
                start=params.get("start"),
                end=params.get("end"),
            )
        except DataSource.DoesNotExist:
            raise NotFound(DATA_SOURCE_NOT_FOUND) from None
        page = self.paginate_queryset(samples)
        return self.get_paginated_response(
            [sample_item(row, metric.key, metric.unit) for row in page]
        )


class SeriesApi(APIView):
    """One metric as a time series, one series per data source. day, week and month are
    read from the daily rollups; raw and hour from the samples."""

    @extend_schema(
        parameters=[SeriesQuerySerializer],
        responses=SeriesSerializer,
        operation_id="series_retrieve",
    )
    def get(self, request):
        params = _query(SeriesQuerySerializer, request)
        metric = get_metric(params["metric"])
        resolution = params["resolution"]
        aggregation = params.get("aggregation") or selectors.default_aggregation(metric)
        scope = {
            "user": request.user,
            "metric": metric,
            "data_source_id": params.get("data_source"),
        }
        try:
            if resolution == "raw":
                series_json = selectors.raw_series_json_for_user(
                    **scope, start=params.get("start"), end=params.get("end")
                )
            elif resolution == "hour":
                series = selectors.series_from_samples_for_user(
                    **scope,
                    resolution=resolution,
                    aggregation=aggregation,
                    start=params.get("start"),
                    end=params.get("end"),
                )
            else:
                series = selectors.series_from_rollups_for_user(
                    **scope,
                    resolution=resolution,
                    aggregation=aggregation,
                    first=params.get("start"),
                    last=params.get("end"),
                )
        except DataSource.DoesNotExist:
            raise NotFound(DATA_SOURCE_NOT_FOUND) from None
        head = {"metric": metric.key, "unit": metric.unit, "resolution": resolution}
        if resolution == "raw":
            # PostgreSQL built the points' JSON: pass it through without parsing it again.
            head["aggregation"] = None
            start = json.dumps(head, separators=(",", ":"))[:-1].encode()
            body = b"".join([start, b',"series":', series_json, b"}"])
            return HttpResponse(body, content_type="application/json")
        head["aggregation"] = aggregation
        head["series"] = [{"data_source": s.data_source_id, "points": s.points} for s in series]
        return Response(head)


class SleepSessionListApi(GenericAPIView):
    """Your sleep sessions, newest first, cursor-paginated (follow `next`)."""

    pagination_class = NewestFirstPagination
    serializer_class = SleepSessionSerializer

    @extend_schema(
        parameters=[SleepSessionQuerySerializer],
        responses=SleepSessionSerializer(many=True),
        operation_id="sleep_sessions_list",
    )
    def get(self, request):
        params = _query(SleepSessionQuerySerializer, request)
        _check_data_source(request, params.get("data_source"))
        sessions = selectors.sleep_sessions_for_user(
            user=request.user,
            data_source_id=params.get("data_source"),
            start=params.get("start"),
            end=params.get("end"),
        )
        page = self.paginate_queryset(sessions)
        return self.get_paginated_response(SleepSessionSerializer(page, many=True).data)


class SleepSessionDetailApi(APIView):
    @extend_schema(
        parameters=[_id_parameter("A sleep session id.")],
        responses=SleepSessionDetailSerializer,
        operation_id="sleep_sessions_retrieve",
    )
    def get(self, request, id: int):
        try:
            session = selectors.sleep_session_get(user=request.user, session_id=id)
        except SleepSession.DoesNotExist:
            raise NotFound("Sleep session not found.") from None
        return Response(SleepSessionDetailSerializer(session).data)


class WorkoutListApi(GenericAPIView):
    """Your workouts, newest first, cursor-paginated (follow `next`); without routes."""

    pagination_class = NewestFirstPagination
    serializer_class = WorkoutSerializer

    @extend_schema(
        parameters=[WorkoutQuerySerializer],
        responses=WorkoutSerializer(many=True),
        operation_id="workouts_list",
    )
    def get(self, request):
        params = _query(WorkoutQuerySerializer, request)
        _check_data_source(request, params.get("data_source"))
        workouts = selectors.workouts_for_user(
            user=request.user,
            data_source_id=params.get("data_source"),
            activity_type=params.get("activity_type"),
            start=params.get("start"),
            end=params.get("end"),
        )
        page = self.paginate_queryset(workouts)
        return self.get_paginated_response(WorkoutSerializer(page, many=True).data)


class WorkoutDetailApi(APIView):
    @extend_schema(
        parameters=[_id_parameter("A workout id.")],
        responses=WorkoutDetailSerializer,
        operation_id="workouts_retrieve",
    )
    def get(self, request, id: int):
        try:
            workout = selectors.workout_get(user=request.user, workout_id=id)
        except Workout.DoesNotExist:
            raise NotFound("Workout not found.") from None
        return Response(WorkoutDetailSerializer(workout).data)


class DailySummaryListApi(APIView):
    """Per local day, each metric's value per data source, from the daily rollups. Lists
    the days of the range that have values, oldest first."""

    @extend_schema(
        parameters=[DailySummaryQuerySerializer],
        responses=DailySummarySerializer(many=True),
        operation_id="daily_summaries_list",
    )
    def get(self, request):
        params = _query(DailySummaryQuerySerializer, request)
        metric = params.get("metric")
        days = selectors.daily_summaries_for_user(
            user=request.user,
            first=params["start"],
            last=params["end"],
            metric=get_metric(metric) if metric else None,
        )
        for day in days:
            day["day"] = day["day"].isoformat()
        return Response(days)
