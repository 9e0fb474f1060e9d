from datetime import timedelta

import pytest

from accounts.services import role_sync
from sla.models import DeadlineKind, Policy
from sla.services import deadline_open

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


def _form(policy: Policy, **changes) -> dict:
    targets = list(policy.targets.order_by("pk"))
    data = {
        "name": policy.name,
        "is_active": "on",
        "division": "",
        "urgency": "",
        "priority": str(policy.priority),
        "targets-TOTAL_FORMS": str(len(targets)),
        "targets-INITIAL_FORMS": str(len(targets)),
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
    }
    for index, target in enumerate(targets):
        target_value = changes.get(target.kind, target.target)
        data |= {
            f"targets-{index}-id": str(target.pk),
            f"targets-{index}-policy": str(policy.pk),
            f"targets-{index}-kind": target.kind,
            f"targets-{index}-target": str(target_value),
            f"targets-{index}-warning_lead": str(target.warning_lead or ""),
        }
    return data


def test_editing_a_target_in_the_admin_recomputes_open_clocks(client, administrator, subject):
    from django.utils import timezone

    role_sync()
    client.force_login(administrator)
    started = timezone.now()
    response_clock = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=started)
    policy = Policy.objects.get(name="全国默认 Nationwide default")

    response = client.post(
        f"/admin/sla/policy/{policy.pk}/change/", _form(policy, response=timedelta(minutes=45)), follow=True
    )

    assert response.status_code == 200
    assert "已按新目标重新计算 1 个进行中的计时器。" in [str(m) for m in response.context["messages"]]
    response_clock.refresh_from_db(fields=["due_at", "generation"])
    assert response_clock.generation == 1
    assert abs(response_clock.due_at - (started + 45 * M)) < timedelta(seconds=5)


def test_a_warning_longer_than_the_target_is_refused(client, administrator):
    role_sync()
    client.force_login(administrator)
    policy = Policy.objects.get(name="全国默认 Nationwide default")
    data = _form(policy)
    index = next(i for i in range(10) if data.get(f"targets-{i}-kind") == "offer_accept")
    data[f"targets-{index}-warning_lead"] = "00:10:00"  # the target is 5 minutes

    response = client.post(f"/admin/sla/policy/{policy.pk}/change/", data)

    assert response.status_code == 200  # the form comes back with an error, nothing saved
    assert policy.targets.get(kind="offer_accept").warning_lead == timedelta(minutes=1)
