from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.utils import timezone, translation

from dispatch.exceptions import OfferExpired
from dispatch.models import DutyPeriod, InsurancePlan, InsurancePolicy, Offer, OfferOutcome, Ticket
from dispatch.selectors import ticket_clocks
from dispatch.services import ticket_assign, ticket_create, ticket_offer
from sla.models import Deadline
from tests.dispatch.factories import job_through

pytestmark = pytest.mark.django_db

HOME = "/tech/"


def _ticket(ticket_input, operator, *, phone="13812345678", detail=None) -> Ticket:
    return ticket_create(
        **{**ticket_input, "phone": phone, "address_detail": detail or ticket_input["address_detail"]}, by=operator
    )


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def offer(ticket_input, operator, wang) -> Offer:
    """A live offer to 王师傅 for 张伟's fingerprint lock."""
    return ticket_offer(ticket=_ticket(ticket_input, operator), technician=wang, by=operator)


@pytest.fixture
def job(ticket_input, operator, wang, queued) -> Ticket:
    """A job 王师傅 has accepted (assigned by the operator after a phone call)."""
    return ticket_assign(ticket=_ticket(ticket_input, operator), technician=wang, by=operator, reason="电话确认")


@pytest.fixture
def as_wang(client, wang):
    client.force_login(wang.user)
    return client


# ---- Who may open the screens --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "manager", "reviewer"])
@pytest.mark.parametrize(("method", "url"), [("get", HOME), ("post", "/tech/duty"), ("get", "/tech/live")])
def test_other_roles_are_forbidden(client, users_by_role, role, method, url):
    client.force_login(users_by_role[role])

    assert getattr(client, method)(url).status_code == 403


def test_a_technician_without_a_profile_is_told_to_ask_an_administrator(client, technician):
    client.force_login(technician)

    response = client.get(HOME)

    assert response.status_code == 200
    assert 'data-testid="no-profile"' in response.content.decode()
    assert client.post("/tech/duty", {"on_duty": "1"}).status_code == 200
    assert not DutyPeriod.objects.exists()


# ---- Duty and position ---------------------------------------------------------------------------------------------


def test_duty_toggle_opens_and_closes_a_duty_period(as_wang, wang):
    wang.is_on_duty = False
    wang.save(update_fields=["is_on_duty"])

    as_wang.post("/tech/duty", {"on_duty": "1"})

    period = DutyPeriod.objects.get(technician=wang)
    wang.refresh_from_db(fields=["is_on_duty", "duty_changed_at"])
    assert (wang.is_on_duty, period.ended_at, wang.duty_changed_at) == (True, None, period.started_at)
    assert 'data-testid="duty-since"' in as_wang.get(HOME).content.decode()

    as_wang.post("/tech/duty", {"on_duty": "0"})

    period.refresh_from_db(fields=["ended_at"])
    wang.refresh_from_db(fields=["is_on_duty"])
    assert wang.is_on_duty is False and period.ended_at is not None
    assert DutyPeriod.objects.filter(technician=wang).count() == 1


def test_position_needs_consent_once_then_is_stored(as_wang, wang):
    position = {"lat": "36.76", "lng": "110.63"}

    refused = as_wang.post("/tech/position", position, HTTP_ACCEPT="application/json")

    assert refused.status_code == 400 and refused.json()["ok"] is False
    wang.refresh_from_db(fields=["last_lat", "location_consent_at"])
    assert (wang.last_lat, wang.location_consent_at) == (None, None)

    agreed = as_wang.post("/tech/position", {**position, "consent": "1"})

    assert agreed.status_code == 302
    wang.refresh_from_db(fields=["last_lat", "last_lng", "location_consent_at"])
    assert (wang.last_lat, wang.last_lng) == (36.76, 110.63) and wang.location_consent_at is not None

    later = as_wang.post("/tech/position", {"lat": "36.70", "lng": "110.60"}, HTTP_ACCEPT="application/json")

    assert later.json() == {"ok": True, "message": ""}
    wang.refresh_from_db(fields=["last_lat"])
    assert wang.last_lat == 36.70


def test_withdrawing_consent_erases_the_position_and_stops_the_sharing(as_wang, wang):
    as_wang.post("/tech/position", {"lat": "36.76", "lng": "110.63", "consent": "1"})

    as_wang.post("/tech/position/stop")

    wang.refresh_from_db(fields=["last_lat", "last_lng", "last_seen_at", "location_consent_at"])
    assert (wang.last_lat, wang.last_lng, wang.last_seen_at, wang.location_consent_at) == (None, None, None, None)
    again = as_wang.post("/tech/position", {"lat": "36.70", "lng": "110.60"}, HTTP_ACCEPT="application/json")
    assert again.status_code == 400
    wang.refresh_from_db(fields=["last_lat"])
    assert wang.last_lat is None


def test_a_bad_position_changes_nothing(as_wang, wang):
    response = as_wang.post(
        "/tech/position", {"lat": "200", "lng": "110", "consent": "1"}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 400
    wang.refresh_from_db(fields=["last_lat", "location_consent_at"])
    assert (wang.last_lat, wang.location_consent_at) == (None, None)


# ---- Home: offers and jobs -----------------------------------------------------------------------------------------


def test_home_lists_only_my_offers_and_jobs(
    as_wang, ticket_input, operator, wang, zhao, queued, django_assert_max_num_queries
):
    mine = [
        ticket_offer(ticket=_ticket(ticket_input, operator, phone=f"1381234000{i}"), technician=wang, by=operator)
        for i in range(2)
    ]
    theirs = ticket_offer(ticket=_ticket(ticket_input, operator, phone="13812340009"), technician=zhao, by=operator)
    my_jobs = [
        ticket_assign(
            ticket=_ticket(ticket_input, operator, phone=f"1390000000{i}"), technician=wang, by=operator, reason="电话"
        )
        for i in range(2)
    ]
    their_job = ticket_assign(
        ticket=_ticket(ticket_input, operator, phone="13900000009"), technician=zhao, by=operator, reason="电话"
    )

    with django_assert_max_num_queries(6):
        response = as_wang.get(HOME)

    assert [offer.pk for offer in response.context["offers"]] == [offer.pk for offer in mine]
    assert [job.pk for job in response.context["jobs"]] == [job.pk for job in my_jobs]
    page = response.content.decode()
    assert theirs.ticket.number not in page and their_job.number not in page
    assert page.count('data-testid="offer-countdown"') == 2


def test_the_live_fragment_brings_a_new_offer(as_wang, ticket_input, operator, wang):
    assert 'data-testid="no-offers"' in as_wang.get("/tech/live").content.decode()

    offer = ticket_offer(ticket=_ticket(ticket_input, operator), technician=wang, by=operator)
    fragment = as_wang.get("/tech/live").content.decode()

    assert f'data-offer="{offer.pk}"' in fragment and "<html" not in fragment
    assert f'data-due="{timezone.localtime(offer.expires_at).isoformat()}"' in fragment


def test_the_offer_card_masks_the_phone_and_the_job_page_shows_it(as_wang, offer, ticket_input, queued):
    card = as_wang.get(HOME).content.decode()

    assert "138****5678" in card
    assert "13812345678" not in card and ticket_input["address_detail"] not in card

    as_wang.post(f"/tech/offers/{offer.pk}/accept")
    page = as_wang.get(f"/tech/jobs/{offer.ticket.number}/").content.decode()

    assert 'href="tel:+8613812345678"' in page and "13812345678" in page
    assert ticket_input["address_detail"] in page


# ---- Answering offers ----------------------------------------------------------------------------------------------


def test_accepting_makes_the_job_mine(as_wang, offer, wang, queued):
    response = as_wang.post(f"/tech/offers/{offer.pk}/accept")

    ticket = offer.ticket
    assert response.status_code == 302 and response["Location"] == f"/tech/jobs/{ticket.number}/"
    ticket.refresh_from_db(fields=["status", "technician"])
    offer.refresh_from_db(fields=["outcome"])
    assert (ticket.status, ticket.technician, offer.outcome) == ("accepted", wang, OfferOutcome.ACCEPTED)


def test_an_expired_offer_is_refused_and_changes_nothing(as_wang, offer):
    with time_machine.travel(offer.expires_at + timedelta(seconds=1), tick=False):
        response = as_wang.post(f"/tech/offers/{offer.pk}/accept")

    assert (response.status_code, response["Location"]) == (302, HOME)
    with translation.override("zh-hans"):
        assert _messages(response) == [str(OfferExpired().message)]
    offer.refresh_from_db(fields=["outcome"])
    offer.ticket.refresh_from_db(fields=["status", "technician"])
    assert (offer.outcome, offer.ticket.status, offer.ticket.technician) == ("pending", "offered", None)


def test_declining_with_a_reason_closes_the_offer(as_wang, offer):
    as_wang.post(f"/tech/offers/{offer.pk}/decline", {"reason": "太远"})

    offer.refresh_from_db(fields=["outcome", "reason"])
    assert (offer.outcome, offer.reason) == (OfferOutcome.DECLINED, "太远")


def test_declining_in_own_words(as_wang, offer):
    as_wang.post(f"/tech/offers/{offer.pk}/decline", {"other": "车坏了"})

    offer.refresh_from_db(fields=["outcome", "reason"])
    assert (offer.outcome, offer.reason) == (OfferOutcome.DECLINED, "车坏了")


def test_declining_without_a_reason_changes_nothing(as_wang, offer):
    response = as_wang.post(f"/tech/offers/{offer.pk}/decline", {"reason": "", "other": "  "})

    assert response.status_code == 302 and len(_messages(response)) == 1
    offer.refresh_from_db(fields=["outcome"])
    assert offer.outcome == OfferOutcome.PENDING


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_another_technicians_offer_is_not_found(as_wang, ticket_input, operator, zhao, action):
    theirs = ticket_offer(ticket=_ticket(ticket_input, operator), technician=zhao, by=operator)

    response = as_wang.post(f"/tech/offers/{theirs.pk}/{action}", {"reason": "太远"})

    assert response.status_code == 404
    theirs.refresh_from_db(fields=["outcome"])
    assert theirs.outcome == OfferOutcome.PENDING


# ---- The job -------------------------------------------------------------------------------------------------------


def test_the_job_page_is_not_found_for_jobs_that_are_not_mine(as_wang, ticket_input, operator, zhao, offer, queued):
    their_job = ticket_assign(
        ticket=_ticket(ticket_input, operator, phone="13900000009"), technician=zhao, by=operator, reason="电话"
    )

    assert as_wang.get(f"/tech/jobs/{their_job.number}/").status_code == 404
    assert as_wang.get(f"/tech/jobs/{offer.ticket.number}/").status_code == 404  # offered, not accepted yet
    assert as_wang.get("/tech/jobs/20261126-9999/").status_code == 404
    assert as_wang.post(f"/tech/jobs/{their_job.number}/step", {"to": "responded"}).status_code == 404
    their_job.refresh_from_db(fields=["status"])
    assert their_job.status == "accepted"


def test_called_the_customer_meets_the_response_clock(as_wang, job):
    page = as_wang.get(f"/tech/jobs/{job.number}/").content.decode()
    assert 'data-step="responded"' in page

    as_wang.post(f"/tech/jobs/{job.number}/step", {"to": "responded"})

    job.refresh_from_db(fields=["status", "responded_at"])
    clocks = ticket_clocks(ticket=job)
    assert job.status == "responded"
    assert (clocks["response"].state, clocks["response"].met_at) == (Deadline.State.MET, job.responded_at)
    assert clocks["arrival"].state == Deadline.State.PENDING


def test_the_steps_lead_to_on_site_with_the_phones_position(as_wang, job):
    for step in ("responded", "en_route"):
        as_wang.post(f"/tech/jobs/{job.number}/step", {"to": step})
        job.refresh_from_db(fields=["status"])
        assert job.status == step

    as_wang.post(f"/tech/jobs/{job.number}/step", {"to": "on_site", "lat": "36.76", "lng": "110.63"})

    job.refresh_from_db(fields=["status", "arrival_lat", "arrival_lng"])
    assert (job.status, job.arrival_lat, job.arrival_lng) == ("on_site", 36.76, 110.63)
    assert ticket_clocks(ticket=job)["arrival"].state == Deadline.State.MET
    page = as_wang.get(f"/tech/jobs/{job.number}/").content.decode()
    assert f'href="/tech/jobs/{job.number}/complete"' in page


def test_arriving_works_without_a_position(as_wang, ticket_input, operator, wang, queued):
    job = job_through(
        _ticket(ticket_input, operator), technician=wang, operator=operator, at=timezone.now(), until="en_route"
    )

    as_wang.post(f"/tech/jobs/{job.number}/step", {"to": "on_site", "lat": "", "lng": ""})

    job.refresh_from_db(fields=["status", "arrival_lat"])
    assert (job.status, job.arrival_lat) == ("on_site", None)


@pytest.mark.parametrize("to", ["on_site", "completed", "accepted", "nonsense"])
def test_a_step_out_of_order_is_refused_and_changes_nothing(as_wang, job, to):
    response = as_wang.post(f"/tech/jobs/{job.number}/step", {"to": to})

    assert response.status_code == 302 and len(_messages(response)) == 1
    job.refresh_from_db(fields=["status"])
    assert job.status == "accepted"


@pytest.fixture
def on_site(ticket_input, operator, wang, queued) -> Ticket:
    return job_through(
        _ticket(ticket_input, operator), technician=wang, operator=operator, at=timezone.now(), until="on_site"
    )


def test_completing_charges_no_inspection_to_a_new_customer(as_wang, on_site):
    assert on_site.inspection_fee_waived

    response = as_wang.post(
        f"/tech/jobs/{on_site.number}/complete",
        {"work_done": "更换指纹模块", "parts": "指纹模块", "labour_fee": "80", "parts_fee": "20.50"},
    )

    assert response.status_code == 302
    on_site.refresh_from_db()
    assert on_site.status == "completed"
    assert (on_site.inspection_fee, on_site.labour_fee, on_site.parts_fee, on_site.fee) == (
        Decimal("0.00"),
        Decimal("80.00"),
        Decimal("20.50"),
        Decimal("100.50"),
    )
    assert ticket_clocks(ticket=on_site)["resolution"].state == Deadline.State.MET


def test_a_returning_customer_pays_the_inspection_and_the_quote_says_so(as_wang, ticket_input, operator, wang, queued):
    job_through(_ticket(ticket_input, operator), technician=wang, operator=operator, at=timezone.now())
    second = job_through(
        _ticket(ticket_input, operator, detail="另一处"),
        technician=wang,
        operator=operator,
        at=timezone.now(),
        until="on_site",
    )
    assert not second.inspection_fee_waived

    quote = as_wang.get(f"/tech/jobs/{second.number}/quote", {"labour_fee": "80", "parts_fee": ""}).content.decode()
    assert 'data-testid="quote-payable">¥130.00<' in quote

    as_wang.post(f"/tech/jobs/{second.number}/complete", {"work_done": "换电池", "labour_fee": "80", "parts_fee": "0"})

    second.refresh_from_db(fields=["status", "inspection_fee", "fee"])
    assert (second.status, second.inspection_fee, second.fee) == ("completed", Decimal("50.00"), Decimal("130.00"))


@pytest.mark.parametrize(
    "data",
    [
        {"work_done": "", "labour_fee": "80", "parts_fee": "0"},
        {"work_done": "换电池", "labour_fee": "-1", "parts_fee": "0"},
        {"work_done": "换电池", "labour_fee": "abc", "parts_fee": "0"},
    ],
)
def test_a_bad_completion_changes_nothing(as_wang, on_site, data):
    response = as_wang.post(f"/tech/jobs/{on_site.number}/complete", data)

    assert response.status_code == 400 and response.context["form"].errors
    on_site.refresh_from_db(fields=["status", "fee"])
    assert (on_site.status, on_site.fee) == ("on_site", None)


def test_completing_a_job_not_yet_on_site_is_refused(as_wang, job):
    response = as_wang.post(
        f"/tech/jobs/{job.number}/complete", {"work_done": "换电池", "labour_fee": "0", "parts_fee": "0"}
    )

    assert response.status_code == 400 and len(_messages(response)) == 1
    job.refresh_from_db(fields=["status"])
    assert job.status == "accepted"


def test_the_technician_sells_insurance_on_the_completed_job(as_wang, ticket_input, operator, wang, queued):
    plan = InsurancePlan.objects.create(
        name="一年无忧保", price=Decimal("99.00"), duration_days=365, covered_categories=["biometric"]
    )
    done = job_through(_ticket(ticket_input, operator), technician=wang, operator=operator, at=timezone.now())
    page = as_wang.get(f"/tech/jobs/{done.number}/").content.decode()
    assert f'data-plan="{plan.pk}"' in page and 'data-testid="job-summary"' in page

    as_wang.post(f"/tech/jobs/{done.number}/insurance", {"plan": plan.pk})

    policy = InsurancePolicy.objects.get()
    assert (policy.ticket, policy.plan, policy.sold_by) == (done, plan, wang.user)
    page = as_wang.get(f"/tech/jobs/{done.number}/").content.decode()
    assert 'data-testid="policy-sold"' in page and f'data-plan="{plan.pk}"' not in page


def test_the_phone_layout_keeps_the_language_switch_and_log_out(as_wang):
    # The request leaves English active in this thread: give the language back for the tests that follow.
    with translation.override(translation.get_language()):
        as_wang.post("/i18n/setlang/", {"language": "en", "next": HOME})
        page = as_wang.get(HOME).content.decode()

    assert '<html lang="en">' in page and 'id="language-switch"' in page and 'action="/logout/"' in page
    assert 'class="technician-app"' in page
