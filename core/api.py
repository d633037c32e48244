"""One JSON error format for every API error, DRF's and Django's alike:

{"error": {"code": "not_found", "message": "Not found.", "details": null,
           "request_id": "5b0c..."}}
"""

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"


def error_body(*, code: str, message: str, details=None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "request_id": structlog.contextvars.get_contextvars().get("request_id"),
        }
    }


def exception_handler(exc, context):
    # Django's own exceptions, as DRF's handler converts them (so their codes match).
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: Django's handler500 answers (JSON under /api/)
    if isinstance(exc, exceptions.ValidationError):
        code, message, details = "invalid", "The request is invalid.", response.data
    else:
        detail = getattr(exc, "detail", None)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        message = str(detail) if detail is not None else str(exc)
        details = None
        wait = getattr(exc, "wait", None)
        if wait is not None:
            details = {"retry_after_seconds": int(wait)}
    response.data = error_body(code=code, message=message, details=details)
    return response


def is_api_request(request) -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(*, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message), status=status)
