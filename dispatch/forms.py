from django import forms
from django.utils.translation import gettext_lazy as _

from dispatch.models import Ticket
from regions.models import Division


class TicketForm(forms.Form):
    """The operator's ticket entry; everything the service needs, validated before it is called."""

    phone = forms.CharField(label=_("Caller's phone"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=40, required=False)
    division = forms.CharField(
        label=_("Area"), max_length=12, error_messages={"required": _("Choose the county or town from the list.")}
    )
    address_detail = forms.CharField(label=_("Street address"), max_length=200)
    category = forms.ChoiceField(label=_("Problem"), choices=Ticket.Category.choices)
    lock_brand = forms.CharField(label=_("Lock brand"), max_length=60, required=False)
    lock_model = forms.CharField(label=_("Lock model"), max_length=60, required=False)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Ticket.Urgency.choices, required=False)
    appointment_start = forms.DateTimeField(
        label=_("Appointment from"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    appointment_end = forms.DateTimeField(
        label=_("Appointment until"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    notes = forms.CharField(label=_("Notes"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    allow_outside_area = forms.BooleanField(label=_("Create it anyway, outside the service area"), required=False)
    allow_duplicate = forms.BooleanField(label=_("Create a second ticket anyway"), required=False)

    def clean_division(self) -> Division:
        division = Division.objects.filter(code=self.cleaned_data["division"]).first()
        if division is None:
            raise forms.ValidationError(_("Choose the county or town from the list."))
        return division


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=300, error_messages={"required": _("Give a reason.")}, strip=True
    )
