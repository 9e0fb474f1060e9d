from django import forms
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint, Decision, EvidenceCheck, Party, Remedy, Statement
from dispatch.models import Technician

MAX_FILES = 6


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several photos or videos in one field; the service sniffs, caps and hashes each one."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,video/*"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(_("Send at most %(count)s files at a time.") % {"count": MAX_FILES})
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class _BootstrapForm(forms.Form):
    """Bootstrap classes on the inputs and a mark on invalid ones."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] = (
                    self.fields[name].widget.attrs.get("class", "") + " is-invalid"
                )


class ComplaintForm(_BootstrapForm):
    """What a complaint says, whoever files it."""

    category = forms.ChoiceField(label=_("What is the complaint about?"), choices=Complaint.Category.choices)
    description = forms.CharField(
        label=_("What happened"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Describe what happened.")},
    )
    remedy_requested = forms.ChoiceField(label=_("What would you like us to do?"), choices=Remedy.choices)
    amount_requested = forms.DecimalField(
        label=_("Amount (yuan, for a refund or compensation)"),
        required=False,
        min_value=0,
        max_digits=9,
        decimal_places=2,
    )
    files = MultipleFileField(label=_("Photos or videos (optional)"))


class PublicComplaintForm(ComplaintForm):
    number = forms.CharField(
        label=_("Ticket number"),
        max_length=13,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "20261126-0001"}),
    )
    phone = forms.CharField(
        label=_("The mobile phone number you gave us"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    # Honeypot: hidden by CSS, so only a bot fills it in.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))

    field_order = ["number", "phone", "category", "description", "remedy_requested", "amount_requested", "files"]


class LookupForm(_BootstrapForm):
    number = forms.CharField(label=_("Ticket number"), max_length=13)
    phone = forms.CharField(
        label=_("The mobile phone number you gave us"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )


class DecisionForm(_BootstrapForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Decision.Outcome.choices)
    remedy = forms.ChoiceField(label=_("Remedy"), choices=[("", "—"), *Remedy.choices], required=False)
    amount = forms.DecimalField(label=_("Amount (yuan)"), required=False, min_value=0, max_digits=9, decimal_places=2)
    reason = forms.CharField(
        label=_("Reason (the customer reads this; cite any signal you rely on)"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        # The workspace shows form errors as one message: say which field.
        error_messages={"required": _("Give the reason for the decision; the customer reads it.")},
    )
    early_reason = forms.CharField(
        label=_("Why decide before the technician's statement window ends"), max_length=300, required=False
    )
    signals = forms.ModelMultipleChoiceField(
        label=_("Signals this decision relies on (the customer sees them)"),
        queryset=EvidenceCheck.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, complaint=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if complaint is not None:
            self.fields["signals"].queryset = EvidenceCheck.objects.filter(evidence__complaint=complaint).exclude(
                kind="no_signals"
            )
        self.fields["signals"].label_from_instance = lambda check: check.message


class EvidenceRequestForm(_BootstrapForm):
    party = forms.ChoiceField(label=_("Ask"), choices=Party.choices)
    instructions = forms.CharField(
        label=_("Instructions (empty: the continuous video with ticket number and today's date)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    hours = forms.IntegerField(label=_("Hours to answer"), min_value=1, max_value=24 * 7, initial=24)


class ReinspectionForm(_BootstrapForm):
    technician = forms.ModelChoiceField(
        label=_("Technician"), queryset=Technician.objects.filter(is_active=True).order_by("name")
    )
    reason = forms.CharField(label=_("What to check"), max_length=300)


class NoteForm(_BootstrapForm):
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class StatementForm(_BootstrapForm):
    position = forms.ChoiceField(label=_("Your answer"), choices=Statement.Position.choices, widget=forms.RadioSelect)
    text = forms.CharField(
        label=_("What happened, in your words"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class EvidenceUploadForm(_BootstrapForm):
    files = MultipleFileField(label=_("Photos or videos"))


class AppealForm(_BootstrapForm):
    reason = forms.CharField(
        label=_("Why the decision is wrong"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    files = MultipleFileField(label=_("New photos or videos (at least one)"))
