from django import forms
from django.utils.translation import gettext_lazy as _

from dispatch.models import Technician, Ticket
from regions.models import Division
from regions.selectors import division_get


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
        division = division_get(code=self.cleaned_data["division"])
        if division is None:
            raise forms.ValidationError(_("Choose the county or town from the list."))
        return division


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=300, error_messages={"required": _("Give a reason.")}, strip=True
    )


class DispatchForm(forms.Form):
    """An operator dispatching by hand: offer or assign to a technician, take the job off one, or retry automatic."""

    ACTIONS = ("offer", "assign", "reassign", "auto")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    technician = forms.ModelChoiceField(
        label=_("Technician"),
        queryset=Technician.objects.filter(is_active=True),
        required=False,
        error_messages={"invalid_choice": _("Choose a technician from the list.")},
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False, strip=True)

    def clean(self) -> dict:
        data = super().clean()
        action = data.get("action")
        if action in ("offer", "assign") and not data.get("technician") and "technician" not in self.errors:
            raise forms.ValidationError(_("Choose a technician from the list."))
        if action in ("assign", "reassign") and not data.get("reason"):
            raise forms.ValidationError(_("Give a reason."))
        return data


# ---- The technician's phone ----------------------------------------------------------------------------------------


class OfferDeclineForm(forms.Form):
    """Why the technician turns an offer down: one tap on a common reason, or their own words."""

    reason = forms.CharField(label=_("Reason"), max_length=200, required=False, strip=True)
    other = forms.CharField(label=_("Other reason"), max_length=200, required=False, strip=True)

    def clean(self) -> dict:
        data = super().clean()
        data["reason"] = data.get("reason") or data.get("other") or ""
        if not data["reason"]:
            raise forms.ValidationError(_("Give a reason."))
        return data


class PositionForm(forms.Form):
    lat = forms.FloatField(min_value=-90, max_value=90)
    lng = forms.FloatField(min_value=-180, max_value=180)
    consent = forms.BooleanField(required=False)


class JobCompleteForm(forms.Form):
    """The repair and its price, as the technician enters them on site (yuan)."""

    work_done = forms.CharField(
        label=_("Work done"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control form-control-lg"}),
        error_messages={"required": _("Describe the work done.")},
    )
    parts = forms.CharField(
        label=_("Parts used"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-lg"}),
    )
    labour_fee = forms.DecimalField(
        label=_("Labour fee (yuan)"),
        min_value=0,
        max_digits=8,
        decimal_places=2,
        initial=0,
        widget=forms.NumberInput(
            attrs={"inputmode": "decimal", "step": "0.01", "min": "0", "class": "form-control form-control-lg"}
        ),
    )
    parts_fee = forms.DecimalField(
        label=_("Parts fee (yuan)"),
        min_value=0,
        max_digits=8,
        decimal_places=2,
        initial=0,
        widget=forms.NumberInput(
            attrs={"inputmode": "decimal", "step": "0.01", "min": "0", "class": "form-control form-control-lg"}
        ),
    )
