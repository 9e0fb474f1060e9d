"""The main screens in real Chromium under the production Content-Security-Policy: no violation, no script error.

A blocked script fails silently for the user (a dead button, a board that no longer refreshes), so every screen is
opened, its scripts exercised, and any `securitypolicyviolation` event or CSP console error fails the test.
"""

import pytest
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import expect

from dashboard.models import ManagerRegion
from dispatch.models import Technician
from dispatch.services import ticket_create
from regions.models import Division, ServiceArea
from tests.dispatch.factories import TechnicianFactory, job_through, skill
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var where = e.sourceFile + ":" + e.lineNumber;
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + where);
});
"""


class Watch:
    """One browser context whose pages report CSP violations, console CSP errors and uncaught script errors."""

    def __init__(self, browser, base_url: str, **options):
        self.context = browser.new_context(base_url=base_url, locale="zh-CN", **options)
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def assert_clean(self, where: str) -> None:
        violations = self.page.evaluate("window.__cspViolations || []")
        assert not violations and not self.problems, f"{where}: {violations + self.problems}"


@pytest.fixture
def job(operator, technician) -> tuple:
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    county = Division.objects.get(code="141032")
    wang: Technician = TechnicianFactory(user=technician, name="王师傅", coverage=[county], skills=[skill("biometric")])
    ticket = ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail="芝河镇建设路 12 号",
        category="biometric",
        by=operator,
    )
    return job_through(ticket, technician=wang, operator=operator, at=None, until="on_site"), wang


@pytest.fixture(autouse=True)
def _no_rate_limits():
    cache.clear()
    yield
    cache.clear()


def test_operator_screens(browser, live_server, job):
    ticket, _wang = job
    watch = Watch(browser, live_server.url, viewport={"width": 1366, "height": 800})
    page = watch.page
    log_in(page, "li_operator")

    page.goto(reverse("dispatch:console"))
    page.keyboard.press("F3")  # dispatch-nav.js
    expect(page).to_have_url(f"{live_server.url}{reverse('dispatch:board')}")
    expect(page.get_by_test_id("board")).to_be_visible()
    with page.expect_response(lambda r: reverse("dispatch:board-table") in r.url, timeout=15_000):
        pass  # one htmx refresh of the board ran
    page.keyboard.press("j")  # board-keys.js
    watch.assert_clean("board")

    page.goto(reverse("dispatch:ticket", kwargs={"number": ticket.number}))
    expect(page.get_by_test_id("media-gallery")).to_have_attribute("data-state", "loaded")  # htmx load
    watch.assert_clean("ticket page")

    page.goto(reverse("accounts:console"))
    page.locator("#region-q").fill("永和")
    expect(page.locator("#region-results")).to_contain_text("永和县")
    watch.assert_clean("service-area check")
    watch.context.close()


def test_technician_job_page_on_a_phone(browser, live_server, job):
    ticket, _wang = job
    watch = Watch(browser, live_server.url, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    log_in(watch.page, "wang_technician")

    watch.page.goto(reverse("technician:job", kwargs={"number": ticket.number}))
    expect(watch.page.get_by_test_id("job-address")).to_be_visible()
    watch.page.wait_for_load_state("networkidle")

    watch.assert_clean("technician job page")
    watch.context.close()


def test_manager_and_reviewer_screens(browser, live_server, manager, reviewer, job):
    ManagerRegion.objects.create(user=manager, province_id="140000")
    watch = Watch(browser, live_server.url, viewport={"width": 1366, "height": 800})
    log_in(watch.page, "zhao_manager")
    watch.page.goto(reverse("dashboard:home"))
    expect(watch.page.get_by_test_id("dashboard-nav")).to_be_visible()
    watch.assert_clean("manager dashboard")
    watch.page.get_by_test_id("nav-access-log").click()
    expect(watch.page.get_by_test_id("access-log-search")).to_be_visible()
    watch.assert_clean("access log")
    watch.context.close()

    watch = Watch(browser, live_server.url, viewport={"width": 1366, "height": 800})
    log_in(watch.page, "chen_reviewer")
    watch.page.goto(reverse("complaints:queue"))
    watch.page.wait_for_load_state("networkidle")
    watch.assert_clean("reviewer queue")
    watch.context.close()


def test_public_request_form(browser, live_server, db):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    watch = Watch(browser, live_server.url, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = watch.page

    page.goto(reverse("public:request"))
    page.locator("#area-q").fill("永和")
    page.locator('.area-option[data-code="141032"]').click()  # request-form.js fills the hidden code
    assert page.locator("#id_division").input_value() == "141032"
    page.locator("#language").select_option("en")  # app.js submits the language switch
    expect(page.locator("html")).to_have_attribute("lang", "en")

    watch.assert_clean("public request form")
    watch.context.close()


def test_api_docs(browser, live_server, db):
    # Swagger UI comes from drf-spectacular-sidecar under our static files; its starter script is a separate file.
    watch = Watch(browser, live_server.url)

    watch.page.goto(reverse("api:docs"))
    expect(watch.page.locator(".opblock-tag-section").first).to_be_visible()  # the UI read the schema and drew it

    watch.assert_clean("API docs")
    watch.context.close()


def test_the_watch_sees_a_blocked_inline_script(browser, live_server, db):
    # the checks above could not fail if the listener never fired: an inline script must be reported
    watch = Watch(browser, live_server.url)
    watch.page.goto(reverse("accounts:login"))

    watch.page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.ran = true";
        document.body.appendChild(script);
    }""")

    watch.page.wait_for_function("window.__cspViolations.length > 0")
    assert watch.page.evaluate("window.ran") is None
    with pytest.raises(AssertionError, match="script-src"):
        watch.assert_clean("login page with an injected inline script")
    watch.context.close()
