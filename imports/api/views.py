from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from imports.models import ImportJob
from imports.services import ImportRefused, import_job_start
from imports.views import job_status_payload


class ImportStatusSerializer(serializers.Serializer):
    """The shape of an import's status (documentation only: views build it directly)."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    percent = serializers.IntegerField()
    bytes_processed = serializers.IntegerField()
    size_bytes = serializers.IntegerField()
    records_processed = serializers.IntegerField()
    records_per_second = serializers.IntegerField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    elapsed_seconds = serializers.FloatField(allow_null=True)
    error = serializers.CharField()
    report = serializers.DictField(allow_null=True)


class ImportListApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=ImportStatusSerializer(many=True), operation_id="imports_list")
    def get(self, request):
        jobs = ImportJob.objects.filter(user=request.user)[:100]
        return Response([job_status_payload(job) for job in jobs])

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "ImportUpload", {"file": serializers.FileField()}
            )
        },
        responses={202: ImportStatusSerializer},
        operation_id="imports_create",
    )
    def post(self, request):
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise serializers.ValidationError({"file": ["No file, or larger than the limit."]})
        try:
            job = import_job_start(user=request.user, uploaded=uploaded)
        except ImportRefused as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        return Response(job_status_payload(job), status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(APIView):
    @extend_schema(responses=ImportStatusSerializer, operation_id="imports_retrieve")
    def get(self, request, job_id: int):
        job = get_object_or_404(ImportJob, user=request.user, id=job_id)
        return Response(job_status_payload(job))
