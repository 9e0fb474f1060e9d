import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.roles import Role
from dispatch.models import Skill, Technician


class TechnicianUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"technician_{n}")
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=Role.TECHNICIAN))


class TechnicianFactory(factory.django.DjangoModelFactory):
    """An employed technician, on duty, covering the divisions passed as `coverage=[...]`."""

    class Meta:
        model = Technician
        skip_postgeneration_save = True

    user = factory.SubFactory(TechnicianUserFactory)
    name = factory.Sequence(lambda n: f"师傅{n}")
    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    capacity = 2
    is_on_duty = True

    @factory.post_generation
    def coverage(self, create, extracted, **kwargs):
        if create and extracted:
            self.coverage.set(extracted)

    @factory.post_generation
    def skills(self, create, extracted, **kwargs):
        if create and extracted:
            self.skills.set(extracted)


def skill(code: str, name: str = "", kind: str = Skill.Kind.CATEGORY) -> Skill:
    return Skill.objects.get_or_create(code=code, defaults={"name": name or code, "kind": kind})[0]


def job_through(ticket, *, technician: Technician, operator, at, until: str = "completed"):
    """Walk a ticket through the real services: assigned by the operator, then the technician's steps up to `until`."""
    from decimal import Decimal

    from dispatch.services import ticket_assign, ticket_complete, ticket_progress

    ticket = ticket_assign(ticket=ticket, technician=technician, by=operator, reason="电话确认", now=at)
    for step in ("responded", "en_route", "on_site"):
        if ticket.status == until:
            return ticket
        ticket = ticket_progress(ticket=ticket, by=technician.user, to=step, now=at)
    if until == "completed":
        ticket = ticket_complete(
            ticket=ticket, by=technician.user, work_done="更换指纹模块", labour_fee=Decimal("80"), now=at
        )
    return ticket
