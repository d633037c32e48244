from django.contrib import admin

from preferences.models import RecomputeRun, SourcePriority


@admin.register(SourcePriority)
class SourcePriorityAdmin(admin.ModelAdmin):
    list_display = ["user", "category", "metric", "rank", "data_source"]
    list_filter = ["category"]
    raw_id_fields = ["user", "data_source"]
    list_select_related = ["user", "data_source"]
    search_fields = ["user__email"]


@admin.register(RecomputeRun)
class RecomputeRunAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "status", "done", "total", "created_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
