"""The board turns a ticket's row to warning and then to breached by itself, driven by the real SLA tick (beat,
the tick worker and the delivery worker of the Procfile) against the live server's database."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dispatch.services import ticket_create
from regions.models import Division, ServiceArea
from sla.models import DeadlineKind, PolicyTarget
from tests.e2e.conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_warning_and_then_a_breach_appear_on_the_board_without_a_reload(desktop, fleet, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    # A 40-second response clock that warns 25 s before it ends: the warning stays on screen for several of the
    # board's 5-second refreshes, so the test sees it whatever the machine's load.
    PolicyTarget.objects.filter(kind=DeadlineKind.RESPONSE).update(
        target=timedelta(seconds=40), warning_lead=timedelta(seconds=25)
    )
    for name in ("worker", "tick", "beat"):
        fleet.start(name)
    page = desktop
    log_in(page, "li_operator")
    page.goto("/dispatch/board/")
    expect(page.get_by_test_id("board")).to_be_visible()
    page.evaluate("window.boardNotReloaded = true")  # gone if anything reloads the page

    ticket = ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail="建设路 12 号",
        category="biometric",
        by=operator,
    )

    row = page.locator(f"tr[data-number='{ticket.number}']")
    clock = row.locator("td[data-sla]")
    expect(clock).to_have_attribute("data-sla", "warning", timeout=60_000)
    expect(row).to_have_class(re.compile(r"\btable-warning\b"))
    expect(row.get_by_test_id("sla-warning")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "board.png"))

    expect(clock).to_have_attribute("data-sla", "breached", timeout=60_000)
    expect(row).to_have_class(re.compile(r"\btable-danger\b"))
    assert page.evaluate("window.boardNotReloaded") is True
