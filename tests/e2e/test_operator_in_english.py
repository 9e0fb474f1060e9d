"""The whole operator flow in English: switch the language in the header, take a call, see the ticket on the board."""

import re

import pytest
from playwright.sync_api import expect

from dispatch.models import Ticket
from regions.models import ServiceArea
from tests.e2e.conftest import log_in, switch_to_english

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_switches_to_english_and_takes_a_call(desktop, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    page = desktop
    log_in(page, "li_operator")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    switch_to_english(page)
    expect(page.get_by_role("heading", name="New ticket")).to_be_visible()

    page.get_by_label("Caller's phone").first.fill("138 1234 5678")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("free-inspection")).to_have_text("First on-site inspection is free.")

    page.get_by_label("Area").fill("芝河")
    expect(page.locator("#area-options [data-code='141032100']")).to_be_visible()
    page.get_by_label("Area").press("Enter")
    page.get_by_label("Street address").fill("建设路 12 号 501")
    page.get_by_label("Problem").select_option("locked_out")
    page.get_by_label("Lock brand").fill("Dessmann")
    page.keyboard.press("Control+Enter")

    expect(page.get_by_test_id("ticket-status")).to_have_text("Waiting for dispatch")
    expect(page.get_by_test_id("clocks")).to_contain_text("Response")
    number = page.get_by_test_id("ticket-number").inner_text()
    assert Ticket.objects.get(number=number).lock_brand == "Dessmann"

    # The choice sticks (a cookie): the board is in English too, with the ticket and its countdown.
    page.keyboard.press("F3")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    board = page.get_by_test_id("board")
    for header in ("Ticket", "Status", "Area", "Problem", "Response due"):
        expect(board.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
    row = page.locator(f"tr[data-number='{number}']")
    expect(row).to_contain_text("Waiting for dispatch")
    expect(row).to_contain_text("Urgent")
    expect(row.locator("[data-due]")).to_have_text(re.compile(r"^(29|30):\d{2}$"))
