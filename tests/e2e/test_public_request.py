import pytest
from django.conf import settings
from django.core.cache import cache
from playwright.sync_api import expect

from dispatch.models import Ticket
from regions.models import ServiceArea

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _fits_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_customer_requests_a_repair_on_a_phone_and_checks_its_status(phone):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")

    phone.goto("/request/")
    expect(phone.get_by_test_id("request-form")).to_be_visible()
    _fits_the_screen(phone)
    # fields are found by id: their new labels are translated only after this change lands
    phone.locator("#id_phone").fill("13812345678")

    # the type-ahead marks the served county and an unserved namesake elsewhere
    phone.locator("#area-q").fill("永和")
    county = phone.locator('.area-option[data-code="141032"]')
    expect(county).to_contain_text("已开通")
    expect(phone.locator(".area-option[data-served='0']").first).to_contain_text("未开通")
    _fits_the_screen(phone)
    county.click()
    expect(phone.get_by_test_id("area-chosen")).to_contain_text("山西省 临汾市 永和县")
    assert phone.locator("#id_division").input_value() == "141032"

    phone.locator("#id_address_detail").fill("芝河镇建设路 12 号 3 单元 501")
    phone.get_by_text("指纹或人脸无法识别").click()
    _fits_the_screen(phone)
    phone.screenshot(path=str(settings.VAR_DIR / "e2e-public-request-form.png"), full_page=True)
    phone.get_by_test_id("submit-request").click()

    expect(phone.get_by_test_id("ticket-number")).to_be_visible()
    ticket = Ticket.objects.get()
    expect(phone.get_by_test_id("ticket-number")).to_have_text(ticket.number)
    assert (ticket.channel, ticket.category, ticket.division_id) == (Ticket.Channel.WEB, "biometric", "141032")
    expect(phone.get_by_test_id("request-done")).to_contain_text("138****5678")
    _fits_the_screen(phone)
    phone.screenshot(path=str(settings.VAR_DIR / "e2e-public-request-done.png"), full_page=True)

    phone.get_by_test_id("status-link").click()
    expect(phone.locator("#id_number")).to_have_value(ticket.number)
    phone.locator("#id_phone_last_four").fill("5678")
    phone.get_by_test_id("submit-status").click()

    expect(phone.get_by_test_id("status-label")).to_have_text("待派单")
    expect(phone.get_by_test_id("status-number")).to_have_text(ticket.number)
    _fits_the_screen(phone)
    phone.screenshot(path=str(settings.VAR_DIR / "e2e-public-request-status.png"), full_page=True)
