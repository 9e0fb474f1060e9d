"""Accessibility and phone fit of the main screens: axe-core (static/vendor/axe-core, from the npm registry) run in
each page finds no serious or critical violation, and no phone screen scrolls sideways at 360 px."""

import json

import pytest
from django.conf import settings
from django.utils import timezone

from complaints.services import complaint_file
from dispatch.services import ticket_assign, ticket_create
from regions.models import Division, ServiceArea
from tests.dispatch.factories import TechnicianFactory, job_through, skill
from tests.e2e.conftest import SCREENSHOTS, fits_a_phone, log_in

pytestmark = pytest.mark.django_db(transaction=True)

AXE = settings.BASE_DIR / "static" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


@pytest.fixture
def jobs(operator, technician):
    """A completed job with a complaint about it, and a job 王师傅 has accepted and is working on."""
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    wang = TechnicianFactory(
        user=technician,
        name="王师傅",
        coverage=[Division.objects.get(code="141032")],
        skills=[skill("biometric")],
        capacity=3,
    )
    town = Division.objects.get(code="141032100")
    done = ticket_create(
        phone="13812345678", division=town, address_detail="芝河镇建设路 12 号", category="biometric", by=operator
    )
    done = job_through(done, technician=wang, operator=operator, at=timezone.now())
    complaint = complaint_file(
        ticket=done,
        channel="phone",
        category="quality",
        description="修完第二天指纹又不灵了",
        remedy_requested="re_service",
        by=operator,
    )
    working = ticket_create(
        phone="13912345678", division=town, address_detail="芝河镇新华街 3 号", category="biometric", by=operator
    )
    working = ticket_assign(ticket=working, technician=wang, by=operator, reason="电话确认")
    return {"done": done, "working": working, "complaint": complaint}


def _violations(page) -> list[str]:
    """Run axe-core in the page; return its serious and critical violations, one readable line per failing node."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for violation in result["violations"]:
        if violation["impact"] in BLOCKING:
            for node in violation["nodes"][:5]:
                lines.append(f"{page.url} {violation['id']} ({violation['impact']}): {json.dumps(node['target'])}")
    return lines


def _visit(page, url: str, *, screenshot: str = "", full_page: bool = False) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if screenshot:
        page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=full_page)
    return _violations(page)


def _page(browser, live_server, *, phone: bool):
    # bypass_csp: the Content-Security-Policy rightly refuses injected scripts; axe is the test's, not the app's.
    options = (
        {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
        if phone
        else {"viewport": {"width": 1366, "height": 800}}
    )
    context = browser.new_context(**options, locale="zh-CN", base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def test_the_desktop_screens_have_no_serious_accessibility_violations(
    browser, live_server, jobs, operator, reviewer, manager
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = []
    page = _page(browser, live_server, phone=False)
    found += _visit(page, "/login/")
    log_in(page, operator.username)
    found += _visit(page, "/dispatch/console/", screenshot="operator-console.png")
    found += _visit(page, "/dispatch/board/")
    found += _visit(page, f"/dispatch/tickets/{jobs['working'].number}/", screenshot="ticket-page.png", full_page=True)
    page.context.close()

    page = _page(browser, live_server, phone=False)
    log_in(page, reviewer.username)
    found += _visit(page, "/review/", screenshot="reviewer-queue.png")
    found += _visit(page, f"/review/{jobs['complaint'].pk}/", screenshot="complaint-review.png", full_page=True)
    page.context.close()

    page = _page(browser, live_server, phone=False)
    log_in(page, manager.username)
    found += _visit(page, "/manager/")
    page.context.close()
    assert found == [], "\n".join(found)


def test_the_phone_screens_have_no_serious_accessibility_violations_and_fit_360_px(
    browser, live_server, jobs, technician
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = []
    page = _page(browser, live_server, phone=True)
    for url, screenshot in (
        ("/request/", "public-request.png"),
        ("/request/status/", ""),
        ("/complaint/", "complaint-form.png"),
        ("/complaint/status/", ""),
    ):
        found += _visit(page, url, screenshot=screenshot, full_page=True)
        fits_a_phone(page)
    log_in(page, technician.username)
    for url in ("/tech/", f"/tech/jobs/{jobs['working'].number}/", f"/tech/jobs/{jobs['done'].number}/"):
        found += _visit(page, url)
        fits_a_phone(page)
    page.context.close()
    assert found == [], "\n".join(found)
