from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.api import is_api_request, json_error
from core.selectors import latest_worker_heartbeat
from healthhub.celery import app as celery_app


@require_GET
@never_cache
def healthz(request):
    """Liveness: the process answers. No I/O."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        connection.close()
        return f"database unreachable: {type(exc).__name__}"
    return None


def _check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {type(exc).__name__}"
    return None


def _check_worker() -> str | None:
    try:
        last_seen = latest_worker_heartbeat()
    except Exception as exc:
        return f"cannot read worker heartbeat: {type(exc).__name__}"
    if last_seen is None:
        return "no worker has reported a heartbeat"
    age = timezone.now() - last_seen
    if age > timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE):
        return f"newest worker heartbeat is {int(age.total_seconds())}s old"
    return None


@require_GET
@never_cache
def readyz(request):
    """Readiness: database, broker, and a worker heartbeat younger than the threshold.

    Answers 503 naming each failing check; the worker check is skipped when the database
    itself is down (it would only repeat that failure)."""
    failures = {}
    if problem := _check_database():
        failures["database"] = problem
    if problem := _check_broker():
        failures["broker"] = problem
    if "database" not in failures and (problem := _check_worker()):
        failures["worker"] = problem
    checks = {name: failures.get(name, "ok") for name in ("database", "broker", "worker")}
    if "database" in failures and "worker" not in failures:
        checks["worker"] = "skipped"
    if failures:
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


def _error_page(request, *, status: int, code: str, title: str, message: str):
    if is_api_request(request):
        return json_error(status=status, code=code, message=message)
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )


def bad_request(request, exception=None):
    return _error_page(
        request,
        status=400,
        code="bad_request",
        title="Bad request",
        message="The request could not be understood.",
    )


def permission_denied(request, exception=None):
    return _error_page(
        request,
        status=403,
        code="permission_denied",
        title="Not allowed",
        message="You do not have permission to do that.",
    )


def page_not_found(request, exception=None):
    return _error_page(
        request,
        status=404,
        code="not_found",
        title="Not found",
        message="There is nothing here.",
    )


def server_error(request):
    return _error_page(
        request,
        status=500,
        code="server_error",
        title="Something went wrong",
        message="An unexpected error happened on our side. It has been logged.",
    )
