import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from dispatch.models import Ticket
from regions.models import ServiceArea
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_operator_takes_a_call_end_to_end_with_the_keyboard(desktop, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    page = desktop
    log_in(page, "li_operator")
    expect(page.get_by_role("heading", name="新建工单")).to_be_visible()

    # the caller's number, looked up
    page.get_by_label("来电号码").first.fill("138 1234 5678")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("free-inspection")).to_be_visible()

    # the address through the type-ahead: Enter picks the first match
    page.get_by_label("区域").fill("芝河")
    expect(page.locator("#area-options [data-code='141032100']")).to_be_visible()
    page.get_by_label("区域").press("Enter")
    expect(page.get_by_label("区域")).to_have_value("山西省 临汾市 永和县 芝河镇")
    page.keyboard.type("建设路 12 号 501")  # focus moved to the street address
    page.get_by_label("问题").select_option("locked_out")
    page.get_by_label("锁品牌").fill("德施曼")
    page.keyboard.press("Control+Enter")

    # the ticket page, with its running response clock
    expect(page.get_by_test_id("ticket-status")).to_have_text("待派单")
    number = page.get_by_test_id("ticket-number").inner_text()
    ticket = Ticket.objects.get(number=number)
    assert (ticket.urgency, ticket.division_id, ticket.address.detail) == ("urgent", "141032100", "建设路 12 号 501")
    expect(page.get_by_test_id("clocks")).to_contain_text("响应")
    expect(page.get_by_test_id("customer-phone")).to_have_text("138****5678")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-ticket-page.png"))

    # and it is on the board with a countdown
    page.keyboard.press("F3")
    row = page.locator(f"tr[data-number='{number}']")
    expect(row).to_contain_text("芝河镇")
    expect(row.locator("[data-due]")).to_have_text(re.compile(r"^(29|30):\d{2}$"))  # counting down from 30:00
    page.screenshot(path=str(settings.VAR_DIR / "e2e-board.png"))
