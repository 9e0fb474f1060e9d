from django.contrib import admin

from audit.models import AccessLog
from config.admin import ReadOnlyAdmin


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    """Read-only: the log is written by services only and must not be edited or pruned by hand."""

    list_display = ("at", "username", "kind", "ticket_number", "province_code", "detail")
    list_filter = ("kind",)
    search_fields = ("username", "ticket_number")
    date_hierarchy = "at"
