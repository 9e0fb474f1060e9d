from django import template

from telephony.selectors import call_list_for_ticket
from telephony.services import call_recording_link_issue

register = template.Library()


@register.inclusion_tag("telephony/_ticket_calls.html", takes_context=True)
def ticket_calls(context, ticket):
    """The ticket page's calls: when, which number was called, and a player for each recording (a personal link)."""
    user = context["request"].user
    calls = call_list_for_ticket(ticket=ticket)
    return {
        "calls": [
            {"call": call, "token": call_recording_link_issue(call=call, by=user) if call.recording else ""}
            for call in calls
        ]
    }
