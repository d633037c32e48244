from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import MeSerializer
from accounts.services import user_update


class MeApi(APIView):
    """The authenticated user's profile."""

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeSerializer, responses=MeSerializer, operation_id="me_update")
    def patch(self, request):
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = user_update(
            user=request.user,
            display_name=data.get("display_name", request.user.display_name),
            timezone=data.get("timezone", request.user.timezone),
        )
        return Response(MeSerializer(user).data)
