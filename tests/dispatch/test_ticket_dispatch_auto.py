from datetime import timedelta

import pytest

from dispatch.models import DispatchRule, Offer, Ticket, TicketEvent
from dispatch.selectors import Exclusion
from dispatch.services import (
    NO_CANDIDATE,
    dispatch_sweep,
    offer_accept,
    ticket_assign,
    ticket_create,
    ticket_dispatch_auto,
)
from regions.models import Division
from sla.models import Deadline
from sla.selectors import deadline_list_open
from tests.dispatch.factories import TechnicianFactory, skill

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


@pytest.fixture
def ticket(ticket_input, operator, t0):
    return ticket_create(**ticket_input, by=operator, now=t0)


def test_a_new_ticket_is_handed_to_the_dispatch_worker_after_commit(
    ticket_input, operator, dispatch_queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ticket = ticket_create(**ticket_input, by=operator)
    dispatch_queued.assert_not_called()  # nothing leaves before the ticket is committed

    for callback in callbacks:
        callback()

    dispatch_queued.assert_called_once_with((), {"ticket_id": ticket.pk})


def test_offers_the_best_candidate_with_a_five_minute_window_and_says_why(ticket, wang, zhao, operator, t0):
    busy = ticket_create(**{**_other_caller(ticket), "address_detail": "别处 1 号"}, by=operator, now=t0)
    ticket_assign(ticket=busy, technician=zhao, by=operator, reason="电话确认", now=t0)  # 赵师傅 has a job in hand

    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0 + M)

    assert (offer.technician, offer.mode, offer.outcome) == (wang, "auto", "pending")
    assert offer.expires_at == t0 + 6 * M
    ticket.refresh_from_db(fields=["status"])
    assert ticket.status == "offered"
    considered = {row["technician"]: row for row in offer.explanation["considered"]}
    assert set(considered) == {wang.pk, zhao.pk} and offer.explanation["chosen"] == wang.pk
    assert considered[wang.pk]["parts"]["load"] == 1.0 and considered[zhao.pk]["parts"]["load"] == 0.5
    assert considered[wang.pk]["score"] > considered[zhao.pk]["score"]
    (clock,) = deadline_list_open(subject=offer)
    assert (clock.kind, clock.due_at) == ("offer_accept", offer.expires_at)
    event = TicketEvent.objects.get(ticket=ticket, kind="offer")
    assert event.data["outcome"] == "offered" and event.data["technician"] == wang.pk


def _other_caller(ticket) -> dict:
    return {"phone": "13900001111", "division": ticket.division, "category": "biometric"}


def test_technicians_who_may_not_take_it_are_listed_with_the_reason(ticket, yonghe, t0):
    off_duty = TechnicianFactory(coverage=[yonghe], skills=[skill("biometric")], is_on_duty=False)
    unskilled = TechnicianFactory(coverage=[yonghe], skills=[skill("mechanical")])
    elsewhere = TechnicianFactory(coverage=[Division.objects.get(code="140105")], skills=[skill("biometric")])
    chosen = TechnicianFactory(coverage=[yonghe], skills=[skill("biometric")])

    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)

    assert offer.technician == chosen
    excluded = {row["technician"]: row["reason"] for row in offer.explanation["excluded"]}
    assert excluded == {off_duty.pk: Exclusion.OFF_DUTY, unskilled.pk: Exclusion.MISSING_SKILL}
    assert elsewhere.pk not in {row["technician"] for row in offer.explanation["considered"]}


def test_a_technician_at_capacity_gets_no_more_offers(ticket, wang, operator, t0):
    wang.capacity = 1
    wang.save(update_fields=["capacity"])
    first = ticket_create(**_other_caller(ticket), address_detail="别处 1 号", by=operator, now=t0)
    ticket_assign(ticket=first, technician=wang, by=operator, reason="电话确认", now=t0)

    assert ticket_dispatch_auto(ticket_id=ticket.pk, now=t0) == []

    ticket.refresh_from_db()
    assert (ticket.status, ticket.needs_manual_dispatch, ticket.dispatch_note) == ("new", True, NO_CANDIDATE)


def test_the_most_specific_coverage_wins_all_else_equal(ticket, zhihe, yonghe, t0):
    county = TechnicianFactory(coverage=[yonghe], skills=[skill("biometric")])
    township = TechnicianFactory(coverage=[zhihe], skills=[skill("biometric")])

    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)

    assert offer.technician == township
    parts = {row["technician"]: row["parts"]["coverage"] for row in offer.explanation["considered"]}
    assert parts == {township.pk: 1.0, county.pk: 0.7}


def test_the_nearer_technician_wins_when_both_positions_are_known(ticket, yonghe, t0):
    ticket.address.__class__.objects.filter(pk=ticket.address_id).update(lat=36.76, lng=110.63)
    far = TechnicianFactory(coverage=[yonghe], skills=[skill("biometric")], last_lat=36.90, last_lng=110.90)
    near = TechnicianFactory(coverage=[yonghe], skills=[skill("biometric")], last_lat=36.761, last_lng=110.631)
    for technician in (far, near):
        technician.last_seen_at = t0 - M
        technician.save(update_fields=["last_seen_at"])

    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)

    assert offer.technician == near
    distances = {row["technician"]: row["distance_km"] for row in offer.explanation["considered"]}
    assert distances[near.pk] < 0.2 < 25 < distances[far.pk] < 30


def test_a_stale_position_does_not_count_for_distance(ticket, yonghe, t0):
    ticket.address.__class__.objects.filter(pk=ticket.address_id).update(lat=36.76, lng=110.63)
    stale = TechnicianFactory(
        coverage=[yonghe], skills=[skill("biometric")], last_lat=36.76, last_lng=110.63, last_seen_at=t0 - 3 * 60 * M
    )

    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)

    assert offer.technician == stale
    assert offer.explanation["considered"][0]["distance_km"] is None
    assert offer.explanation["considered"][0]["parts"]["distance"] == 0.5


def test_grab_mode_offers_everyone_and_the_first_accept_wins(ticket, yonghe, wang, zhao, t0):
    DispatchRule.objects.create(division=Division.objects.get(code=yonghe.parent_id), mode="grab")

    offers = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)
    assert {offer.technician for offer in offers} == {wang, zhao} and {o.mode for o in offers} == {"grab"}

    zhao_offer = next(offer for offer in offers if offer.technician == zhao)
    offer_accept(offer=zhao_offer, by=zhao.user, now=t0 + M)

    outcomes = dict(Offer.objects.filter(ticket=ticket).values_list("technician", "outcome"))
    assert outcomes == {zhao.pk: "accepted", wang.pk: "withdrawn"}
    wang_offer = next(offer for offer in offers if offer.technician == wang)
    assert Deadline.objects.get(subject_id=wang_offer.pk, kind="offer_accept").state == "cancelled"


def test_dispatching_twice_makes_one_offer(ticket, wang, zhao, t0):
    ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)

    assert ticket_dispatch_auto(ticket_id=ticket.pk, now=t0) == []
    assert Offer.objects.filter(ticket=ticket).count() == 1


def test_no_candidate_flags_the_ticket_once_and_the_sweep_offers_it_when_someone_comes_on_duty(ticket, t0, yonghe):
    assert ticket_dispatch_auto(ticket_id=ticket.pk, now=t0) == []
    assert dispatch_sweep(now=t0 + M) == 0  # still nobody: no second flag event

    assert TicketEvent.objects.filter(ticket=ticket, kind="dispatch").count() == 1
    TechnicianFactory(coverage=[yonghe], skills=[skill("biometric")])
    assert dispatch_sweep(now=t0 + 2 * M) == 1

    ticket.refresh_from_db()
    assert (ticket.status, ticket.needs_manual_dispatch) == ("offered", False)


def test_the_sweep_dispatches_a_ticket_whose_task_was_lost_but_not_a_brand_new_one(ticket, wang, operator, t0):
    just_created = ticket_create(**_other_caller(ticket), address_detail="别处 2 号", by=operator, now=t0 + 5 * M)

    assert dispatch_sweep(now=t0 + 5 * M) == 1

    assert Ticket.objects.get(pk=ticket.pk).status == "offered"
    assert Ticket.objects.get(pk=just_created.pk).status == "new"  # its own task is still on its way
