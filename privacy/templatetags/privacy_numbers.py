import phonenumbers
from django import template
from django.utils import timezone

from privacy.selectors import binding_get_for_job

register = template.Library()


@register.simple_tag
def job_privacy_number(ticket):
    """The job's privacy number for its technician, or why there is none (see privacy.selectors.JobNumber)."""
    return binding_get_for_job(ticket=ticket, now=timezone.now())


@register.filter
def national_number(e164: str) -> str:
    """+8617100000003 → 17100000003, the way a phone dials it."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())
