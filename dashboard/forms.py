from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.models import BreachReason

MAX_DAYS = 366


def default_period() -> tuple:
    """The last seven days, today included (local time)."""
    today = timezone.localdate()
    return today - timedelta(days=6), today


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    region = forms.CharField(label=_("Region"), required=False, max_length=12)

    def clean(self):
        data = super().clean()
        start, end = default_period()
        data["start"] = data.get("start") or start
        data["end"] = data.get("end") or end
        if data["end"] < data["start"]:
            raise forms.ValidationError(_("The period must end on or after its first day."))
        if (data["end"] - data["start"]).days >= MAX_DAYS:
            raise forms.ValidationError(_("Choose a period of at most a year."))
        return data


class DrillForm(forms.Form):
    figure = forms.CharField(required=False)
    day = forms.DateField(required=False)
    hour = forms.IntegerField(required=False, min_value=0, max_value=23)
    technician = forms.IntegerField(required=False, min_value=1)
    key = forms.CharField(required=False, max_length=12)


class BreachReviewForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=BreachReason.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
