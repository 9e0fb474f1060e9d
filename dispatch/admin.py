from django.contrib import admin

from dispatch.models import InsurancePlan, InsurancePolicy


@admin.register(InsurancePlan)
class InsurancePlanAdmin(admin.ModelAdmin):
    list_display = ["name", "price", "duration_days", "covered_categories", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]


@admin.register(InsurancePolicy)
class InsurancePolicyAdmin(admin.ModelAdmin):
    """Read-only: policies are sold on a completed job from the ticket page."""

    list_display = ["pk", "plan", "ticket", "purchased_at", "valid_until", "price"]
    list_filter = ["plan"]
    list_select_related = ["plan", "ticket"]
    search_fields = ["ticket__number"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
