"""What a complaint's SLA clocks do when they warn or breach; registered in ComplaintsConfig.ready().
Recording and escalating only: a breach never decides, approves or closes a complaint."""

from complaints.services import complaint_clock_event
from sla.models import DeadlineKind
from sla.registry import register

CLOCKS = (DeadlineKind.COMPLAINT_ACKNOWLEDGE, DeadlineKind.TECHNICIAN_STATEMENT, DeadlineKind.COMPLAINT_DECISION)


def _record(*, deadline, outbox) -> None:
    # Runs inside the delivery transaction with the outbox row locked; complaint_clock_event is keyed on the outbox
    # row, so a redelivered message writes nothing twice.
    complaint_clock_event(
        complaint_id=deadline.subject_id,
        clock=deadline.kind,
        event=outbox.event,
        outbox_id=outbox.pk,
        due_at=deadline.due_at,
        at=outbox.created_at,
    )


def register_complaint_clocks() -> None:
    """Record every warning and breach of a complaint's clocks on its timeline; breaches escalate to managers."""
    for kind in CLOCKS:
        register(kind, on_warning=_record, on_breach=_record, on_breach_revoked=_record)
