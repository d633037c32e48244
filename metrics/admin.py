"""Admin pages that stay fast with millions of rows: no FK dropdowns (raw ids), no full
counts on big tables, filters only over bounded lists (the catalog, activity types)."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from metrics.catalog import BY_ID, METRICS
from metrics.models import (
    DailyRollup,
    DataSource,
    ResolvedDaily,
    Sample,
    SleepSession,
    Workout,
)

METRIC_CHOICES = [(m.id, m.key) for m in METRICS]


class EstimatedCountPaginator(Paginator):
    """Unfiltered lists use PostgreSQL's row estimate instead of a full count(*)."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                estimate = cursor.fetchone()[0]
            if estimate > 10_000:
                return estimate
        return super().count


class MetricFilter(admin.SimpleListFilter):
    title = "metric"
    parameter_name = "metric"

    def lookups(self, request, model_admin):
        return METRIC_CHOICES

    def queryset(self, request, queryset):
        return queryset.filter(metric=self.value()) if self.value() else queryset


@admin.register(DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "kind", "origin", "device_model", "created_at", "samples"]
    list_select_related = ["user"]
    search_fields = ["user__email", "kind", "origin"]
    raw_id_fields = ["user"]
    show_full_result_count = False

    @admin.display(description="samples")
    def samples(self, obj):
        url = reverse("admin:metrics_datasource_samples", args=[obj.id])
        return format_html('<a href="{}">latest samples</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:source_id>/samples/",
                self.admin_site.admin_view(self.samples_view),
                name="metrics_datasource_samples",
            ),
            *super().get_urls(),
        ]

    def samples_view(self, request, source_id: int):
        """The latest samples of one source (Sample has a composite key, which the admin's
        generic views do not support): read-only, newest first, optionally one metric."""
        source = get_object_or_404(DataSource, id=source_id)
        samples = Sample.objects.filter(data_source=source)
        metric = request.GET.get("metric")
        if metric and metric.isdigit():
            samples = samples.filter(metric=int(metric))
        rows = [
            {
                "metric": BY_ID[s.metric].key,
                "start": s.start,
                "end": s.end,
                "value": s.value,
                "unit": BY_ID[s.metric].unit,
                "utc_offset": s.utc_offset,
            }
            for s in samples.order_by("-start")[:200]
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Latest samples of {source}",
            "source": source,
            "rows": rows,
            "metrics": METRIC_CHOICES,
            "selected": metric,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/metrics/datasource_samples.html", context)


@admin.register(DailyRollup)
class DailyRollupAdmin(admin.ModelAdmin):
    list_display = ["day", "metric_key", "data_source", "sum", "count", "min", "max", "avg"]
    list_filter = [MetricFilter]
    raw_id_fields = ["data_source"]
    list_select_related = ["data_source"]
    search_fields = ["data_source__user__email"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    ordering = ["-day"]

    @admin.display(description="metric")
    def metric_key(self, obj):
        return BY_ID[obj.metric].key


@admin.register(SleepSession)
class SleepSessionAdmin(admin.ModelAdmin):
    list_display = ["start", "end", "data_source", "asleep_minutes", "score"]
    raw_id_fields = ["data_source"]
    list_select_related = ["data_source"]
    search_fields = ["data_source__user__email"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(Workout)
class WorkoutAdmin(admin.ModelAdmin):
    list_display = ["start", "activity_type", "data_source", "duration_seconds", "distance_m"]
    list_filter = ["activity_type"]
    raw_id_fields = ["data_source"]
    list_select_related = ["data_source"]
    search_fields = ["data_source__user__email"]
    exclude = ["route"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(ResolvedDaily)
class ResolvedDailyAdmin(admin.ModelAdmin):
    list_display = ["day", "metric_key", "user", "value"]
    list_filter = [MetricFilter]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    ordering = ["-day"]

    @admin.display(description="metric")
    def metric_key(self, obj):
        return BY_ID[obj.metric].key
