"""The real URLs plus two views that crash, to test the 500 answers."""

from django.urls import path
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from healthhub.urls import handler404, handler500
from healthhub.urls import urlpatterns as real_urlpatterns

__all__ = ["handler404", "handler500"]


def boom_page(request):
    raise RuntimeError("boom")


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def boom_api(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("boom/", boom_page),
    path("api/v1/boom/", boom_api),
    *real_urlpatterns,
]
