"""A complaint from the phone call to the customer reading the decision: the operator files it from the ticket page,
the reviewer takes it from the queue, looks at the evidence and decides with a reason, the customer reads it."""

from unittest import mock

import pytest
from django.core.files.storage import storages
from playwright.sync_api import expect

from complaints.models import Complaint, ComplaintStatus, Decision, Evidence, EvidenceAccess
from complaints.services import evidence_check_run
from dispatch.services import ticket_create
from regions.models import Division, ServiceArea
from tests.complaints.fixtures_forensics import encode, photo
from tests.dispatch.factories import TechnicianFactory, job_through, skill
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "13812345678"
REASON = "维修记录和师傅照片显示门把手完好，不支持赔偿。"


@pytest.fixture
def evidence_storage(private_root, monkeypatch):
    """Evidence originals and display copies in the same temporary private storage as the job's media."""
    for name in ("file", "display_file"):
        monkeypatch.setattr(Evidence._meta.get_field(name), "storage", storages["private"])
    return private_root


@pytest.fixture
def completed_job(operator, technician):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    wang = TechnicianFactory(
        user=technician, name="王师傅", coverage=[Division.objects.get(code="141032")], skills=[skill("biometric")]
    )
    ticket = ticket_create(
        phone=PHONE,
        division=Division.objects.get(code="141032100"),
        address_detail="芝河镇建设路 12 号",
        category="biometric",
        by=operator,
    )
    return job_through(ticket, technician=wang, operator=operator, at=ticket.created_at)


def test_complaint_from_phone_call_to_customer_reading_the_decision(
    browser, live_server, desktop, operator, reviewer, completed_job, evidence_storage, tmp_path
):
    # the operator files the caller's complaint from the ticket page, with the customer's photo
    picture = tmp_path / "handle.jpg"
    picture.write_bytes(encode(photo(seed=11)))
    log_in(desktop, operator.username)
    desktop.goto(f"/dispatch/tickets/{completed_job.number}/")
    desktop.get_by_test_id("file-complaint").click()
    form = desktop.get_by_test_id("complaint-form")
    form.locator('[name="category"]').select_option("damage")
    form.locator('[name="description"]').fill("师傅修完后门把手松了")
    form.locator('[name="remedy_requested"]').select_option("compensation")
    form.locator('[name="amount_requested"]').fill("200")
    form.locator('[name="files"]').set_input_files(str(picture))
    with mock.patch("complaints.tasks.evidence_check_task.apply_async") as publish:
        form.locator("button").click()
        expect(desktop).to_have_url(f"{live_server.url}/dispatch/tickets/{completed_job.number}/")
    complaint = Complaint.objects.get(ticket=completed_job)
    evidence = complaint.evidence.get()
    publish.assert_called_once_with((), {"evidence_id": evidence.pk})
    # no worker in e2e: run what evidence_check_task runs
    assert evidence_check_run(evidence_id=evidence.pk) >= 1

    # the reviewer takes it from the queue, sees the evidence's display copy and its signals, acknowledges, decides
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, reviewer.username)
    page.goto("/review/")
    row = page.locator(f'[data-testid="queue-row"][data-complaint="{complaint.pk}"]')
    row.get_by_role("link").click()
    expect(page.get_by_test_id("complaint-number")).to_have_text(complaint.number)
    item = page.get_by_test_id("evidence")
    expect(item.get_by_test_id("evidence-display")).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", item.get_by_test_id("evidence-display").element_handle()) > 0
    expect(item.get_by_test_id("signal").first).to_be_visible()
    assert not EvidenceAccess.objects.filter(evidence=evidence).exists()  # the display copy is not the original
    page.get_by_test_id("acknowledge").click()
    expect(page.get_by_test_id("complaint-status")).to_have_attribute("data-status", ComplaintStatus.IN_REVIEW)
    decision_form = page.get_by_test_id("decision-form")
    decision_form.locator('[name="outcome"]').select_option(Decision.Outcome.REJECTED)
    decision_form.locator('[name="reason"]').fill(REASON)
    # the technician's statement window is still open: deciding now needs a recorded reason
    decision_form.locator('[name="early_reason"]').fill("客户同意不等师傅陈述")
    decision_form.locator("button").click()
    expect(page.get_by_test_id("complaint-status")).to_have_attribute("data-status", ComplaintStatus.DECIDED)
    decision = Decision.objects.get(complaint=complaint)
    assert (decision.outcome, decision.reason, decision.decided_by) == (Decision.Outcome.REJECTED, REASON, reviewer)
    context.close()

    # the customer follows the complaint with the ticket number and phone and reads the reason
    customer = browser.new_context(locale="zh-CN", base_url=live_server.url)
    public = customer.new_page()
    public.set_default_timeout(10_000)
    public.goto("/complaint/status/")
    lookup = public.get_by_test_id("lookup-form")
    lookup.locator('[name="number"]').fill(completed_job.number)
    lookup.locator('[name="phone"]').fill(PHONE)
    lookup.locator("button").click()
    expect(public.get_by_test_id("decision-reason")).to_have_text(REASON)
    customer.close()
