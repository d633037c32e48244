from django.contrib import admin

from imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "kind", "status", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
