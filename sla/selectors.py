from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import DurationField, ExpressionWrapper, F, Model, Sum

from sla.models import Deadline, Heartbeat, Pause

TICK_HEARTBEAT = "sla_tick"


def deadline_get(*, subject: Model, kind: str) -> Deadline | None:
    """Return the latest cycle of a subject's clock, or None if it never started."""
    return (
        Deadline.objects.filter(
            subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk, kind=kind
        )
        .order_by("-cycle")
        .first()
    )


def deadline_paused_total(*, deadline: Deadline) -> timedelta:
    """Return the time the clock spent paused, from its closed pause rows."""
    length = ExpressionWrapper(F("resumed_at") - F("paused_at"), output_field=DurationField())
    closed = Pause.objects.filter(deadline=deadline, resumed_at__isnull=False)
    return closed.aggregate(total=Sum(length))["total"] or timedelta(0)


def tick_heartbeat_age(*, now) -> timedelta | None:
    """Return how long ago the SLA tick last ran, or None if it never has."""
    beat = Heartbeat.objects.filter(name=TICK_HEARTBEAT).values_list("beat_at", flat=True).first()
    return None if beat is None else now - beat


def tick_is_alive(*, now) -> bool:
    """Return whether the tick ran within SLA_HEARTBEAT_ALARM_SECONDS."""
    age = tick_heartbeat_age(now=now)
    return age is not None and age <= timedelta(seconds=settings.SLA_HEARTBEAT_ALARM_SECONDS)


def deadline_list_open(*, subject: Model) -> list[Deadline]:
    """Return the subject's running and paused clocks."""
    return list(
        Deadline.objects.filter(
            subject_type=ContentType.objects.get_for_model(subject),
            subject_id=subject.pk,
            state__in=[Deadline.State.PENDING, Deadline.State.PAUSED],
        ).order_by("kind", "cycle")
    )
