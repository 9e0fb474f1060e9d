import pytest
from django.conf import settings
from playwright.sync_api import expect

from regions.models import ServiceArea
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_operator_logs_in_and_checks_whether_an_area_is_served(desktop, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")

    log_in(desktop, "li_operator")
    desktop.goto("/console/")
    expect(desktop.get_by_role("heading", name="服务区域查询")).to_be_visible()

    desktop.get_by_label("区域").fill("永和")
    served = desktop.locator('[data-code="141032"]')
    expect(served).to_contain_text("山西省 临汾市 永和县")
    expect(served).to_contain_text("已开通")
    desktop.screenshot(path=str(settings.VAR_DIR / "e2e-operator-console.png"))
    # a town called 永和 somewhere else is listed as not served
    expect(desktop.locator("li", has_text="永和镇").first).to_contain_text("未开通")

    desktop.get_by_label("区域").fill("yhx")
    expect(desktop.locator('[data-code="141032"]')).to_be_visible()

    desktop.get_by_label("区域").fill("火星基地")
    expect(desktop.get_by_text("没有与“火星基地”匹配的区域")).to_be_visible()
    assert desktop.url.endswith("/console/")  # the operator never left the console


def test_slash_key_jumps_to_the_area_field(desktop, operator):
    log_in(desktop, "li_operator")
    desktop.goto("/console/")
    desktop.get_by_role("heading", name="服务区域查询").click()

    desktop.keyboard.press("/")

    expect(desktop.get_by_label("区域")).to_be_focused()


def test_wrong_password_is_refused_in_chinese(desktop, operator):
    log_in(desktop, "li_operator", password="wrong")

    expect(desktop.get_by_role("alert")).to_contain_text("用户名或密码错误")
    assert desktop.url.endswith("/login/")


def test_switching_to_english_and_logging_out(desktop, operator):
    log_in(desktop, "li_operator")
    desktop.goto("/console/")
    expect(desktop.get_by_role("heading", name="服务区域查询")).to_be_visible()

    desktop.get_by_label("语言").select_option("en")
    expect(desktop.get_by_role("heading", name="Service-area check")).to_be_visible()

    desktop.get_by_role("button", name="Log out").click()
    expect(desktop.get_by_role("button", name="Log in")).to_be_visible()
