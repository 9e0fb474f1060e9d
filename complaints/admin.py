from django.contrib import admin

from complaints.models import Complaint, EvidenceCheck
from config.admin import ReadOnlyAdmin


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["pk", "ticket", "category", "remedy_requested", "status", "filed_at", "is_escalated"]
    list_filter = ["status", "category", "channel", "is_escalated"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__number"]


@admin.register(EvidenceCheck)
class EvidenceCheckAdmin(ReadOnlyAdmin):
    list_display = ["evidence", "kind", "level", "checker_version", "computed_at"]
    list_filter = ["level", "kind"]
