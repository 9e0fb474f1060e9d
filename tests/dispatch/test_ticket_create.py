from datetime import timedelta

import pytest

from dispatch.exceptions import DuplicateOpenTicket, OutsideServiceArea
from dispatch.models import Customer, Ticket, TicketCounter, TicketEvent, TicketStatus
from dispatch.selectors import ticket_clocks
from dispatch.services import ticket_cancel, ticket_create
from regions.models import Division
from sla.models import Deadline

pytestmark = pytest.mark.django_db


def test_creates_a_numbered_ticket_with_a_running_30_minute_clock(ticket_input, operator, t0):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)

    assert ticket.number == "20261126-0001"
    assert (ticket.status, ticket.urgency, ticket.channel) == (TicketStatus.NEW, "normal", "phone")
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.actor, event.at, event.new_status) == ("created", operator, t0, "new")
    clocks = ticket_clocks(ticket=ticket)
    assert clocks["response"].state == Deadline.State.PENDING
    assert clocks["response"].due_at == t0 + timedelta(minutes=30)
    assert clocks["resolution"].state == Deadline.State.PENDING


def test_numbers_count_up_per_day_in_shanghai_time(ticket_input, operator, t0):
    first = ticket_create(**ticket_input, by=operator, now=t0)
    second = ticket_create(**ticket_input, by=operator, now=t0 + timedelta(minutes=1), allow_duplicate=True)
    # 00:30 in Shanghai is still the previous day in UTC, but it is a new day for the call center
    next_day = t0.replace(hour=0, minute=30) + timedelta(days=1)
    third = ticket_create(**ticket_input, by=operator, now=next_day, allow_duplicate=True)

    assert [first.number, second.number, third.number] == ["20261126-0001", "20261126-0002", "20261127-0001"]


def test_the_ten_thousandth_ticket_of_a_day_gets_five_digits(ticket_input, operator, t0):
    TicketCounter.objects.create(day=t0.date(), last=9998)

    first = ticket_create(**ticket_input, by=operator, now=t0)
    second = ticket_create(**ticket_input, by=operator, now=t0, allow_duplicate=True)

    assert [first.number, second.number] == ["20261126-9999", "20261126-10000"]
    assert Ticket.objects.get(pk=second.pk).number == "20261126-10000"  # written to the row, not only returned


def test_a_known_caller_keeps_their_row_and_gets_a_name_only_if_they_had_none(ticket_input, operator):
    first = ticket_create(**{**ticket_input, "name": ""}, by=operator)

    second = ticket_create(**{**ticket_input, "name": "李娜", "address_detail": "另一处 8 号"}, by=operator)
    third = ticket_create(**{**ticket_input, "name": "王五", "address_detail": "第三处 9 号"}, by=operator)

    assert first.customer_id == second.customer_id == third.customer_id
    assert Customer.objects.count() == 1
    assert Customer.objects.get().name == "李娜"  # filled by the second call, not overwritten by the third


def test_locked_out_is_urgent(ticket_input, operator):
    ticket = ticket_create(**{**ticket_input, "category": "locked_out"}, by=operator)

    assert ticket.urgency == Ticket.Urgency.URGENT


def test_outside_the_service_area_is_refused_unless_the_operator_confirms(ticket_input, operator):
    elsewhere = Division.objects.get(code="141025")  # 古县, not served
    with pytest.raises(OutsideServiceArea) as error:
        ticket_create(**{**ticket_input, "division": elsewhere}, by=operator)
    assert "山西省 临汾市 古县" in str(error.value.message)
    # the operator is told where we do go nearby: the served county in the same prefecture
    assert error.value.extra["nearest"] == ["山西省 临汾市 永和县"]
    assert "山西省 临汾市 永和县" in str(error.value.message)
    assert not Ticket.objects.exists()

    ticket = ticket_create(**{**ticket_input, "division": elsewhere}, by=operator, allow_outside_area=True)
    assert ticket.division_id == "141025"


def test_a_second_open_ticket_for_the_same_phone_and_address_is_refused(ticket_input, operator):
    first = ticket_create(**ticket_input, by=operator)

    with pytest.raises(DuplicateOpenTicket) as error:
        ticket_create(**{**ticket_input, "phone": "+86 138 1234 5678"}, by=operator)

    assert error.value.extra == {"number": first.number}
    assert Ticket.objects.count() == 1
    # another address of the same customer is a different job
    assert ticket_create(**{**ticket_input, "address_detail": "另一处 8 号"}, by=operator).pk != first.pk
    # and once the first is cancelled, the same address may be booked again
    ticket_cancel(ticket=first, by=operator, reason="客户自行解决")
    assert ticket_create(**ticket_input, by=operator).status == TicketStatus.NEW


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"address_detail": "  "}, "详细地址"),
        ({"phone": "12345"}, "电话号码"),
    ],
)
def test_bad_input_saves_nothing(ticket_input, operator, changes, message):
    from config.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as error:
        ticket_create(**{**ticket_input, **changes}, by=operator)

    assert message in str(error.value.message)
    assert not Ticket.objects.exists() and not Deadline.objects.exists()
