from django.contrib import admin

from dashboard.models import ManagerRegion


@admin.register(ManagerRegion)
class ManagerRegionAdmin(admin.ModelAdmin):
    list_display = ["user", "province"]
    list_select_related = ["user", "province"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["province"]
