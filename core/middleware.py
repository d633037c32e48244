import structlog
from django.utils.cache import add_never_cache_headers

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdHeaderMiddleware:
    """Return the request id (bound by django-structlog's RequestMiddleware) to the client,
    so a user can quote it and an operator can find every log line of that request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        request.request_id = request_id
        response = self.get_response(request)
        if request_id:
            response[REQUEST_ID_HEADER] = request_id
        return response


class NoStoreMiddleware:
    """Pages and API responses may carry health data: no shared or browser caching.

    Static files (served by whitenoise before this middleware) keep their long caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
