from django.contrib import admin

from config.admin import ReadOnlyAdmin
from privacy.models import NumberBinding


@admin.register(NumberBinding)
class NumberBindingAdmin(ReadOnlyAdmin):
    """Read-only: bindings are made and released by the job's transitions (privacy.services)."""

    list_display = ["ticket", "technician", "state", "virtual_number", "bound_at", "expires_at", "released_at"]
    list_filter = ["state"]
    list_select_related = ["ticket", "technician"]
    search_fields = ["ticket__number", "virtual_number"]
