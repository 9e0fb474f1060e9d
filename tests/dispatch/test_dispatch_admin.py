import pytest
from django.urls import reverse

from dispatch.services import ticket_create, ticket_dispatch_auto

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, administrator):
    administrator.is_superuser = True
    administrator.save(update_fields=["is_superuser"])
    client.force_login(administrator)
    return client


@pytest.mark.parametrize("model", ["technician", "skill", "dispatchrule", "offer"])
def test_administrators_open_the_dispatch_catalogues(superuser_client, model):
    response = superuser_client.get(reverse(f"admin:dispatch_{model}_changelist"))

    assert response.status_code == 200


def test_offers_cannot_be_added_or_edited_in_the_admin(superuser_client, wang, ticket_input, operator):
    ticket = ticket_create(**ticket_input, by=operator)
    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=ticket.created_at)

    assert superuser_client.get(reverse("admin:dispatch_offer_add")).status_code == 403
    response = superuser_client.post(reverse("admin:dispatch_offer_change", args=[offer.pk]), {"outcome": "accepted"})
    assert response.status_code in (200, 403)
    offer.refresh_from_db()
    assert offer.outcome == "pending"


def test_a_technician_profile_is_created_in_the_admin(superuser_client, technician, yonghe):
    response = superuser_client.post(
        reverse("admin:dispatch_technician_add"),
        {
            "user": technician.pk,
            "name": "孙师傅",
            "phone": "+8613900009999",
            "capacity": 2,
            "rating": "4.8",
            "is_active": "on",
            "coverage": [yonghe.pk],
            "duty_periods-TOTAL_FORMS": 0,
            "duty_periods-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert technician.technician.coverage.get() == yonghe
