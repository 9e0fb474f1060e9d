from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from api.models import IntegrationKey, Scope
from api.services import integration_key_create, integration_key_revoke
from config.exceptions import ApplicationError


class IntegrationKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(label=_("scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    user = forms.ModelChoiceField(
        label=_("acts as"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        help_text=_("Leave empty for an integration: the key gets a service account of its own."),
    )

    class Meta:
        model = IntegrationKey
        fields = ["name", "scopes", "user"]


@admin.register(IntegrationKey)
class IntegrationKeyAdmin(admin.ModelAdmin):
    """Keys are issued here (the token is shown once, in a message after saving) and revoked with an action."""

    list_display = ["name", "prefix", "scopes", "user", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "scopes", "user", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", *readonly_fields]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = IntegrationKeyAddForm
            kwargs["fields"] = ["name", "scopes", "user"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "scopes", "user"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        key, token = integration_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            user=form.cleaned_data.get("user"),
            by=request.user,
        )
        obj.pk = key.pk
        obj.__dict__.update({field.attname: getattr(key, field.attname) for field in key._meta.concrete_fields})
        messages.warning(
            request,
            _("The key's token, shown this once only (copy it now; only its hash is kept): %(token)s")
            % {"token": token},
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the key's history (who used it, when) stays

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        revoked = 0
        for key in queryset:
            try:
                integration_key_revoke(key=key, by=request.user)
            except ApplicationError:
                continue
            revoked += 1
        self.message_user(
            request, ngettext("%(count)d key revoked.", "%(count)d keys revoked.", revoked) % {"count": revoked}
        )
