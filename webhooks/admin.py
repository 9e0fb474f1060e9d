from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin import ReadOnlyAdmin
from webhooks.models import Delivery, EventType, Subscriber
from webhooks.services import delivery_retry_now, subscriber_create, subscriber_secret_rotate, subscriber_test_send


class SubscriberForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("events"),
        choices=[choice for choice in EventType.choices if choice[0] != EventType.TEST],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Subscriber
        fields = ["name", "url", "event_types", "is_active"]


def _secret_page(request, model_admin, rows):
    """The new secrets, shown once in this response (never stored in a message cookie or the session)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Signing secret"),
        "rows": rows,
    }
    return TemplateResponse(request, "webhooks/admin/secret.html", context)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberForm
    list_display = ["name", "url", "events", "is_active", "secret_hint", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_hint", "created_at"]
    actions = ["send_test_event", "rotate_secret"]

    @admin.display(description=_("events"))
    def events(self, obj: Subscriber) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description=_("signing secret"))
    def secret_hint(self, obj: Subscriber) -> str:
        # Shown in full only once; afterwards only enough to tell two secrets apart.
        return f"…{obj.secret[-4:]}" if obj.secret else "—"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = subscriber_create(name=obj.name, url=obj.url, event_types=obj.event_types, is_active=obj.is_active)
        obj.pk, obj.secret, obj.created_at = created.pk, created.secret, created.created_at

    def response_add(self, request, obj, post_url_continue=None):
        return _secret_page(request, self, [(obj, obj.secret)])

    @admin.action(description=_("Send a test event"))
    def send_test_event(self, request, queryset):
        for subscriber in queryset:
            subscriber_test_send(subscriber=subscriber)
        count = len(queryset)
        self.message_user(
            request,
            ngettext(
                "Test event queued for %(count)d subscriber.", "Test events queued for %(count)d subscribers.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_secret(self, request, queryset):
        rows = [(subscriber, subscriber_secret_rotate(subscriber=subscriber)) for subscriber in queryset]
        return _secret_page(request, self, rows)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: read-only, with a "retry now" action."""

    list_display = [
        "created_at",
        "event_type",
        "subscriber",
        "state",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    ]
    list_filter = ["state", "subscriber", "event__event_type"]
    list_select_related = ["event", "subscriber"]
    search_fields = ["event__uuid"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    readonly_fields = ["event_id_shown", "payload"]
    exclude = ["event"]

    @admin.display(description=_("event"), ordering="event__event_type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.get_event_type_display()

    @admin.display(description="X-Webhook-Id")
    def event_id_shown(self, obj: Delivery) -> str:
        return str(obj.event.uuid)

    @admin.display(description=_("payload"))
    def payload(self, obj: Delivery):
        return obj.event.payload

    @admin.action(description=_("Retry now"))
    def retry_now(self, request, queryset):
        queued = sum(delivery_retry_now(delivery=delivery) for delivery in queryset)
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", queued)
            % {"count": queued},
            messages.SUCCESS,
        )
