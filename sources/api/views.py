"""The user's provider connections: their state, "sync now", and their sync runs.

Owner-scoped: another user's connection id answers 404 in the standard error format.
Nothing here reads or returns a token."""

import math

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import error_body
from sources import selectors
from sources.api.serializers import (
    ConnectionSerializer,
    SyncAcceptedSerializer,
    SyncRequestSerializer,
    SyncRunSerializer,
)
from sources.models import Connection

CONNECTION_NOT_FOUND = "Connection not found."
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="A connection id.")
ERROR = OpenApiResponse(description='`{"error": {"code", "message", "details", "request_id"}}`')


def _connection(request, connection_id: int) -> Connection:
    try:
        return selectors.connection_get(user=request.user, connection_id=connection_id)
    except Connection.DoesNotExist:
        raise NotFound(CONNECTION_NOT_FOUND) from None


class RunPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ConnectionListApi(APIView):
    """Your provider connections with their sync state (disconnected ones included)."""

    @extend_schema(responses=ConnectionSerializer(many=True), operation_id="connections_list")
    def get(self, request):
        now = timezone.now()
        states = [
            selectors.connection_state(connection=connection, now=now, runs=0)
            for connection in selectors.connections_for_user(user=request.user)
        ]
        return Response(ConnectionSerializer(states, many=True).data)


class ConnectionDetailApi(APIView):
    @extend_schema(
        parameters=[ID],
        responses={200: ConnectionSerializer, 404: ERROR},
        operation_id="connections_retrieve",
    )
    def get(self, request, id: int):
        state = selectors.connection_state(connection=_connection(request, id), runs=0)
        return Response(ConnectionSerializer(state).data)


def _refused(refusal: selectors.SyncRefusal) -> Response:
    details = None
    headers = {}
    http_status = status.HTTP_409_CONFLICT
    if refusal.retry_at is not None:
        seconds = max(math.ceil((refusal.retry_at - timezone.now()).total_seconds()), 1)
        details = {"retry_after": refusal.retry_at.isoformat(), "retry_after_seconds": seconds}
        headers["Retry-After"] = str(seconds)
        http_status = status.HTTP_423_LOCKED
    body = error_body(code=refusal.code, message=refusal.message, details=details)
    return Response(body, status=http_status, headers=headers)


class ConnectionSyncApi(APIView):
    """Start a sync now (needs a read-write token). 202 with the run; 409 while one runs or
    while the connection needs reconnecting; 423 with `retry_after` while the provider's
    rate limit holds it."""

    @extend_schema(
        parameters=[ID],
        request=SyncRequestSerializer,
        responses={
            202: SyncAcceptedSerializer,
            400: ERROR,
            404: ERROR,
            409: ERROR,
            423: ERROR,
        },
        operation_id="connections_sync",
    )
    def post(self, request, id: int):
        from sources.services.sync import sync_request

        connection = _connection(request, id)
        params = SyncRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data_types = tuple(dict.fromkeys(params.validated_data["data_types"]))
        provider = selectors.provider_or_none(connection.provider)
        known = {item.name for item in provider.data_types} if provider else set()
        unknown = [name for name in data_types if name not in known]
        if unknown:
            raise serializers.ValidationError(
                {"data_types": [f"Unknown data type(s): {', '.join(sorted(unknown))}."]}
            )
        refusal = selectors.sync_refusal(connection=connection)
        if refusal is not None:
            return _refused(refusal)
        run = sync_request(connection=connection, trigger="manual", data_types=data_types)
        if run is None:
            connection.refresh_from_db()
            return _refused(
                selectors.sync_refusal(connection=connection)
                or selectors.SyncRefusal(
                    "sync_running",
                    f"{selectors.provider_name(connection.provider)} is already syncing.",
                )
            )
        body = {"run_id": run.id, "connection": connection.id, "status": run.status}
        return Response(SyncAcceptedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class ConnectionRunListApi(GenericAPIView):
    """A connection's sync runs, newest first, cursor-paginated (follow `next`)."""

    pagination_class = RunPagination
    serializer_class = SyncRunSerializer

    @extend_schema(
        parameters=[ID],
        responses={200: SyncRunSerializer(many=True), 404: ERROR},
        operation_id="connections_runs_list",
    )
    def get(self, request, id: int):
        connection = _connection(request, id)
        runs = selectors.sync_runs_for_connection(connection=connection).select_related(
            "connection"
        )
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(SyncRunSerializer(page, many=True).data)
