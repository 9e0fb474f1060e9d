from django import forms
from django.utils.translation import gettext_lazy as _

from audit.models import AccessLog
from dispatch import crypto
from dispatch.exceptions import InvalidPhone


class AccessLogSearchForm(forms.Form):
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    phone = forms.CharField(label=_("Customer phone"), required=False, max_length=32)
    ticket = forms.CharField(label=_("Ticket"), required=False, max_length=32)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *AccessLog.Kind.choices])
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone:
            try:
                crypto.normalize_phone(phone)
            except InvalidPhone as error:
                raise forms.ValidationError(error.message) from None
        return phone

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("The period must end on or after its first day."))
        return data
