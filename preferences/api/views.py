"""Priorities and resolved values over the API: read and replace a category's order,
resolved daily values and series (with provenance on request), and the duplicates of a
sleep session or workout."""

from collections import defaultdict
from datetime import date, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.catalog import BY_KEY, Aggregation, Category
from metrics.models import DataSource, SleepSession, Workout
from preferences.api.serializers import (
    DuplicatesSerializer,
    PriorityOrderInputSerializer,
    PriorityOrderSerializer,
    RecomputeRunSerializer,
    ResolvedDailySerializer,
    ResolvedQuerySerializer,
    ResolvedSeriesSerializer,
)
from preferences.models import RecomputeRun
from preferences.selectors import (
    duplicates_of,
    has_custom_order,
    resolved_daily_for_user,
    sleep_events,
    source_order_for,
    workout_events,
)
from preferences.services import priority_reset, priority_set

METRIC_PARAM = OpenApiParameter("metric", str, description="A metric key of the category.")


def _category(value: str) -> Category:
    try:
        return Category(value)
    except ValueError as exc:
        raise Http404 from exc


def _order_payload(user, category: Category, metric_key: str | None) -> dict:
    if metric_key is not None and (
        metric_key not in BY_KEY or BY_KEY[metric_key].category != category
    ):
        raise serializers.ValidationError({"metric": f"Not a metric of {category}."})
    order = source_order_for(user=user, category=category, metric_key=metric_key)
    return {
        "category": category.value,
        "metric": metric_key,
        "custom": has_custom_order(user=user, category=category, metric_key=metric_key),
        "order": order,
    }


class PrioritiesApi(APIView):
    @extend_schema(responses=PriorityOrderSerializer(many=True), operation_id="priorities_list")
    def get(self, request):
        payload = [_order_payload(request.user, c, None) for c in Category]
        return Response(PriorityOrderSerializer([p for p in payload if p["order"]], many=True).data)


class PriorityCategoryApi(APIView):
    @extend_schema(
        parameters=[METRIC_PARAM],
        responses=PriorityOrderSerializer,
        operation_id="priorities_retrieve",
    )
    def get(self, request, category: str):
        payload = _order_payload(
            request.user, _category(category), request.query_params.get("metric")
        )
        return Response(PriorityOrderSerializer(payload).data)

    @extend_schema(
        request=PriorityOrderInputSerializer,
        responses={202: RecomputeRunSerializer},
        operation_id="priorities_replace",
    )
    def put(self, request, category: str):
        category = _category(category)
        data = PriorityOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = priority_set(
                user=request.user,
                category=category,
                data_source_ids=data.validated_data["data_sources"],
                metric_key=data.validated_data.get("metric"),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"data_sources": exc.messages}) from exc
        return Response(RecomputeRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[METRIC_PARAM],
        responses={202: RecomputeRunSerializer},
        operation_id="priorities_reset",
    )
    def delete(self, request, category: str):
        category = _category(category)
        metric_key = request.query_params.get("metric")
        _order_payload(request.user, category, metric_key)  # validates the metric
        run = priority_reset(user=request.user, category=category, metric_key=metric_key)
        return Response(RecomputeRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RecomputeRunApi(APIView):
    @extend_schema(responses=RecomputeRunSerializer, operation_id="priorities_run_retrieve")
    def get(self, request, run_id: int):
        run = get_object_or_404(RecomputeRun, id=run_id, user=request.user)
        return Response(RecomputeRunSerializer(run).data)


def _resolved_query(request) -> dict:
    query = ResolvedQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class ResolvedDailyApi(APIView):
    @extend_schema(
        parameters=[ResolvedQuerySerializer],
        responses=ResolvedDailySerializer,
        operation_id="resolved_daily",
    )
    def get(self, request):
        q = _resolved_query(request)
        metric = BY_KEY[q["metric"]]
        rows = resolved_daily_for_user(
            user=request.user, metric_key=metric.key, start=q["start"], end=q["end"]
        )
        if q["provenance"]:
            days = [
                {"day": d.isoformat(), "value": v, "provenance": p}
                for d, v, p in rows.values_list("day", "value", "provenance")
            ]
        else:
            days = [{"day": d.isoformat(), "value": v} for d, v in rows.values_list("day", "value")]
        sources = {}
        if q["provenance"]:
            sources = {str(s.id): s.label for s in DataSource.objects.filter(user=request.user)}
        return Response(
            {"metric": metric.key, "unit": metric.unit, "sources": sources, "days": days}
        )


def _bucket(day: date, resolution: str) -> date:
    if resolution == "week":
        return day - timedelta(days=day.weekday())
    if resolution == "month":
        return day.replace(day=1)
    return day


class ResolvedSeriesApi(APIView):
    @extend_schema(
        parameters=[ResolvedQuerySerializer],
        responses=ResolvedSeriesSerializer,
        operation_id="resolved_series",
    )
    def get(self, request):
        q = _resolved_query(request)
        metric = BY_KEY[q["metric"]]
        rows = resolved_daily_for_user(
            user=request.user, metric_key=metric.key, start=q["start"], end=q["end"]
        ).values_list("day", "value")
        buckets: dict[date, list[float]] = defaultdict(list)
        for day, value in rows:
            buckets[_bucket(day, q["resolution"])].append(value)
        if metric.aggregation is Aggregation.CUMULATIVE:
            combine = sum  # a week's steps are the sum of its days
        elif metric.aggregation is Aggregation.DISCRETE:

            def combine(values):
                return sum(values) / len(values)
        else:

            def combine(values):
                return values[-1]

        points = [[day.isoformat(), combine(values)] for day, values in sorted(buckets.items())]
        return Response(
            {
                "metric": metric.key,
                "unit": metric.unit,
                "resolution": q["resolution"],
                "points": points,
            }
        )


def _duplicates_response(request, model, events_for, record_id: int):
    record = get_object_or_404(model, id=record_id, data_source__user=request.user)
    best, others = duplicates_of(
        event_list=events_for(user=request.user, start=record.start, end=record.end),
        record_id=record.id,
    )
    return Response(DuplicatesSerializer({"best": best or record, "duplicates": others}).data)


class SleepDuplicatesApi(APIView):
    @extend_schema(responses=DuplicatesSerializer, operation_id="sleep_session_duplicates")
    def get(self, request, session_id: int):
        return _duplicates_response(request, SleepSession, sleep_events, session_id)


class WorkoutDuplicatesApi(APIView):
    @extend_schema(responses=DuplicatesSerializer, operation_id="workout_duplicates")
    def get(self, request, workout_id: int):
        return _duplicates_response(request, Workout, workout_events, workout_id)
