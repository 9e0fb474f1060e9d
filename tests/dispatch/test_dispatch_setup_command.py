import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from dispatch.models import Skill, Technician
from tests.dispatch.factories import TechnicianUserFactory

pytestmark = pytest.mark.django_db


def test_creates_the_skill_catalogue_once_and_keeps_admin_edits():
    call_command("dispatch_setup")
    Skill.objects.filter(code="biometric").update(name="指纹与人脸")

    call_command("dispatch_setup")

    assert Skill.objects.filter(kind="category").count() == 6
    assert Skill.objects.get(code="biometric").name == "指纹与人脸"


def test_the_demo_technician_covers_every_service_area_with_every_skill(yonghe):
    user = TechnicianUserFactory(username="demo_technician")
    assert Group.objects.get(name="technician") in user.groups.all()

    call_command("dispatch_setup", demo=True)
    call_command("dispatch_setup", demo=True)

    technician = Technician.objects.get(user=user)
    assert list(technician.coverage.values_list("code", flat=True)) == ["141032"]
    assert technician.skills.count() == Skill.objects.count() > 6
