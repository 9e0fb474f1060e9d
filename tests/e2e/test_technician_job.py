import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from dispatch.models import Offer, Technician, Ticket
from dispatch.selectors import ticket_clocks
from dispatch.services import ticket_create, ticket_dispatch_auto
from regions.models import Division, ServiceArea
from sla.models import Deadline
from tests.dispatch.factories import TechnicianFactory, skill
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
AT_THE_DOOR = {"latitude": 36.7601, "longitude": 110.6312}
ADDRESS = "芝河镇建设路 12 号 3 单元 501"


@pytest.fixture
def wang(technician) -> Technician:
    """王师傅 (the `technician` user), on duty in the served county 永和县, fixes fingerprint locks."""
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    return TechnicianFactory(
        user=technician, name="王师傅", coverage=[Division.objects.get(code="141032")], skills=[skill("biometric")]
    )


def _fits_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_technician_takes_an_offer_through_to_a_completed_job_on_a_phone(phone, operator, wang):
    page = phone
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation(AT_THE_DOOR)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, "wang_technician")
    expect(page.get_by_test_id("no-offers")).to_be_visible()
    _fits_the_screen(page)
    # while nothing changes, the poll sends back its stamp and is answered 204: the list stays as it is
    with page.expect_response(lambda r: "/tech/live" in r.url and r.status == 204, timeout=15_000) as unchanged:
        pass
    assert unchanged.value.request.headers.get("x-live-stamp")
    expect(page.get_by_test_id("no-offers")).to_be_visible()

    # a ticket taken on the phone, offered by auto-dispatch (what the worker runs after commit) to 王师傅
    ticket = ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail=ADDRESS,
        category="biometric",
        lock_brand="德施曼",
        by=operator,
    )
    [offer] = ticket_dispatch_auto(ticket_id=ticket.pk, now=timezone.now())
    assert offer.technician == wang

    # the offer shows up by itself (the list refreshes every 10 s), with its countdown and the number masked
    card = page.locator(f"[data-testid='offer'][data-offer='{offer.pk}']")
    expect(card).to_be_visible(timeout=15_000)
    expect(card.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"^[45]:\d{2}$"))
    expect(card.get_by_test_id("offer-phone")).to_have_text("138****5678")
    _fits_the_screen(page)
    page.screenshot(path=str(SCREENSHOTS / "technician-home.png"), full_page=True)

    # accept: the job page, with the customer's number to call and the one next step
    card.get_by_test_id("offer-accept").click()
    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "accepted")
    expect(page.get_by_test_id("call-customer")).to_have_attribute("href", "tel:+8613812345678")
    expect(page.get_by_test_id("job-address")).to_contain_text(ADDRESS)
    expect(page.get_by_test_id("clock-response")).to_have_attribute("data-state", "pending")
    _fits_the_screen(page)
    page.screenshot(path=str(SCREENSHOTS / "technician-job.png"))  # what the phone shows, action bar at the bottom

    for step in ("responded", "en_route", "on_site"):
        button = page.get_by_test_id("next-step")
        expect(button).to_have_attribute("data-step", step)
        button.click()
        expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", step)
    expect(page.get_by_test_id("clock-response")).to_have_attribute("data-state", "met")
    expect(page.get_by_test_id("clock-arrival")).to_have_attribute("data-state", "met")

    # complete, with a live fee breakdown: a new customer's first inspection is free
    page.get_by_test_id("next-step").click()
    page.locator("#id_work_done").fill("更换指纹模块")
    page.locator("#id_labour_fee").fill("80")
    page.locator("#id_parts_fee").fill("20")
    expect(page.get_by_test_id("quote-payable")).to_have_text("¥100.00")
    expect(page.get_by_test_id("quote-inspection")).to_contain_text("¥0.00")
    _fits_the_screen(page)
    page.screenshot(path=str(settings.VAR_DIR / "e2e-technician-complete.png"), full_page=True)
    page.get_by_test_id("complete-submit").click()
    expect(page.get_by_test_id("job-summary")).to_be_visible()
    expect(page.get_by_test_id("fee")).to_have_text("¥100.00")
    _fits_the_screen(page)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.technician, ticket.fee) == ("completed", wang, 100)
    assert (round(ticket.arrival_lat, 4), round(ticket.arrival_lng, 4)) == (36.7601, 110.6312)
    clocks = ticket_clocks(ticket=ticket)
    assert clocks["response"].state == Deadline.State.MET
    assert clocks["response"].met_at == ticket.responded_at
    assert Offer.objects.get(pk=offer.pk).outcome == "accepted"
    assert Ticket.objects.count() == 1


def test_the_connection_lost_banner_goes_once_the_poll_gets_through_again(phone, wang):
    """Back online, the next poll is a 204 "nothing changed": it swaps nothing, and the banner must still go."""
    page = phone
    log_in(page, "wang_technician")
    expect(page.get_by_test_id("no-offers")).to_be_visible()
    banner = page.locator("#offline-banner")

    page.context.set_offline(True)
    expect(banner).to_be_visible(timeout=15_000)
    page.context.set_offline(False)
    with page.expect_response(lambda r: "/tech/live" in r.url and r.status == 204, timeout=15_000):
        pass

    expect(banner).to_be_hidden()
    expect(page.get_by_test_id("no-offers")).to_be_visible()
