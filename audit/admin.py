from django.contrib import admin

from audit.models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: the log is written by services only and must not be edited or pruned by hand."""

    list_display = ("at", "username", "kind", "ticket_number", "province_code", "detail")
    list_filter = ("kind",)
    search_fields = ("username", "ticket_number")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
