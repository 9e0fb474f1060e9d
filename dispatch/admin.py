from django.contrib import admin

from config.admin import ReadOnlyAdmin
from dispatch.models import DispatchRule, DutyPeriod, InsurancePlan, InsurancePolicy, Offer, Skill, Technician


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


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]


class DutyPeriodInline(admin.TabularInline):
    model = DutyPeriod
    extra = 0
    readonly_fields = ["started_at", "ended_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Technician)
class TechnicianAdmin(admin.ModelAdmin):
    """Profiles, skills, coverage and capacity; duty and position come from the technician's phone."""

    list_display = ["name", "user", "phone", "capacity", "rating", "is_on_duty", "is_active", "last_seen_at"]
    list_filter = ["is_on_duty", "is_active", "skills"]
    search_fields = ["name", "phone", "user__username"]
    autocomplete_fields = ["user", "coverage"]
    filter_horizontal = ["skills"]
    readonly_fields = [
        "is_on_duty",
        "duty_changed_at",
        "location_consent_at",
        "last_lat",
        "last_lng",
        "last_seen_at",
        "last_job_at",
    ]
    inlines = [DutyPeriodInline]


@admin.register(DispatchRule)
class DispatchRuleAdmin(admin.ModelAdmin):
    list_display = ["division", "mode"]
    list_filter = ["mode"]
    autocomplete_fields = ["division"]


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    """Read-only: offers are made and answered by the dispatch services."""

    list_display = ["pk", "ticket", "technician", "mode", "offered_at", "expires_at", "outcome", "reason"]
    list_filter = ["outcome", "mode"]
    list_select_related = ["ticket", "technician"]
    search_fields = ["ticket__number", "technician__name"]
