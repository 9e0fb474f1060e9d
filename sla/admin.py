from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdmin
from sla.models import Deadline, Outbox, Pause, Policy, PolicyTarget
from sla.services import policy_apply


class PolicyTargetInline(admin.TabularInline):
    model = PolicyTarget
    extra = 0


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "division", "urgency", "priority"]
    list_filter = ["is_active", "urgency"]
    search_fields = ["name", "division__full_name"]
    autocomplete_fields = ["division"]
    inlines = [PolicyTargetInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changed = policy_apply(policy=form.instance, now=timezone.now())
        if changed:
            self.message_user(
                request, _("%(count)d open clocks were recomputed with the new targets.") % {"count": changed}
            )


class PauseInline(admin.TabularInline):
    model = Pause
    extra = 0
    can_delete = False
    readonly_fields = ["paused_at", "resumed_at", "reason", "by"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Deadline)
class DeadlineAdmin(ReadOnlyAdmin):
    """Read-only: clocks move only through the sla services."""

    list_display = ["pk", "kind", "subject_type", "subject_id", "cycle", "state", "due_at", "breached_at", "met_at"]
    list_filter = ["state", "kind"]
    search_fields = ["subject_id"]
    date_hierarchy = "started_at"
    inlines = [PauseInline]
    show_full_result_count = False


@admin.register(Outbox)
class OutboxAdmin(admin.ModelAdmin):
    list_display = ["pk", "deadline", "event", "generation", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = ["event"]
    list_select_related = ["deadline"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
