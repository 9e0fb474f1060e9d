from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.roles import Role
from complaints.models import Complaint, Decision, EvidenceAccess, Statement
from complaints.services import complaint_decide
from tests.complaints.conftest import photo


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.REVIEWER, 200), (Role.MANAGER, 200), (Role.ADMIN, 200), (Role.OPERATOR, 403), (Role.TECHNICIAN, 403)],
)
def test_queue_and_workspace_for_reviewers_and_managers(client, users_by_role, complaint, role, status):
    client.force_login(users_by_role[role])

    assert client.get(reverse("complaints:queue")).status_code == status
    assert client.get(reverse("complaints:workspace", args=[complaint.pk])).status_code == status


def test_queue_lists_most_urgent_deadline_first(client, reviewer, complaint, operator, t0):
    from complaints.services import complaint_acknowledge

    complaint_acknowledge(complaint=complaint, by=reviewer, now=t0.replace(hour=11, minute=5))  # decision due in 48 h
    client.force_login(reviewer)

    response = client.get(reverse("complaints:queue"))

    assert [c.pk for c in response.context["complaints"]] == [complaint.pk]
    assert response.context["complaints"][0].next_due == complaint.filed_at + timedelta(hours=48)


def test_workspace_shows_job_media_gallery_and_evidence(client, reviewer, complaint):
    client.force_login(reviewer)

    response = client.get(reverse("complaints:workspace", args=[complaint.pk]), HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert 'data-testid="media-gallery"' in html
    assert reverse("files:gallery", args=[complaint.ticket.number]) in html
    assert html.count('data-testid="evidence"') == 1
    assert 'data-testid="no-signals"' in html


def test_opening_original_is_logged(client, reviewer, complaint):
    evidence = complaint.evidence.get()
    client.force_login(reviewer)

    response = client.get(reverse("complaints:evidence-file", args=[evidence.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8\xff")
    access = EvidenceAccess.objects.get(evidence=evidence)
    assert (access.user, access.is_download) == (reviewer, False)


def test_technician_cannot_open_customer_original(client, complaint, technician, wang):
    client.force_login(technician)

    response = client.get(reverse("complaints:evidence-file", args=[complaint.evidence.get().pk]))

    assert response.status_code == 403
    assert not EvidenceAccess.objects.exists()


def test_decision_form_refuses_early_decision_without_reason(client, reviewer, complaint):
    client.force_login(reviewer)

    client.post(
        reverse("complaints:decide", args=[complaint.pk]),
        {"outcome": "rejected", "reason": "照片与师傅照片一致"},
    )

    complaint.refresh_from_db(fields=["status"])
    assert complaint.status == "filed"  # the refused decision rolled its implicit acknowledgement back too
    assert not Decision.objects.exists()


def test_operator_files_complaint_from_ticket(client, operator, done_job, evidence_root):
    client.force_login(operator)

    response = client.post(
        reverse("complaints:file", args=[done_job.number]),
        {
            "category": "attitude",
            "description": "态度差",
            "remedy_requested": "partial_refund",
            "amount_requested": "20",
        },
    )

    complaint = Complaint.objects.get(ticket=done_job)
    assert response.status_code == 302
    assert (complaint.channel, complaint.filed_by, complaint.amount_requested) == ("phone", operator, Decimal("20"))


# ---- the technician: only complaints about their own jobs ---------------------------------------------------------


def test_technician_sees_and_answers_own_complaint(client, technician, wang, complaint):
    client.force_login(technician)

    listing = client.get(reverse("technician:complaints"))
    client.post(
        reverse("technician:complaint-statement", args=[complaint.pk]), {"position": "dispute", "text": "把手完好"}
    )

    assert [c.pk for c in listing.context["complaints"]] == [complaint.pk]
    assert Statement.objects.get(complaint=complaint).position == "dispute"


def test_technician_cannot_see_or_answer_another_technicians_complaint(client, zhao, complaint):
    client.force_login(zhao.user)

    listing = client.get(reverse("technician:complaints"))
    detail = client.get(reverse("technician:complaint", args=[complaint.pk]))
    answer = client.post(reverse("technician:complaint-statement", args=[complaint.pk]), {"position": "accept"})

    assert list(listing.context["complaints"]) == []
    assert (detail.status_code, answer.status_code) == (404, 404)
    assert not Statement.objects.exists()


# ---- the customer: only their own, by ticket number + phone --------------------------------------------------------


def test_customer_files_online_and_reads_decision_reason(client, done_job, evidence_root, reviewer, t0):
    response = client.post(
        reverse("complaint_public:file"),
        {
            "number": done_job.number,
            "phone": "138 1234 5678",
            "category": "damage",
            "description": "门把手被弄坏",
            "remedy_requested": "compensation",
            "amount_requested": "200",
            "files": [photo()],
        },
    )
    complaint = Complaint.objects.get(ticket=done_job)
    assert response.status_code == 302
    assert (complaint.channel, complaint.filed_by, complaint.evidence.count()) == ("online", None, 1)
    complaint_decide(
        complaint=complaint,
        by=reviewer,
        outcome="rejected",
        reason="师傅完工照片显示把手完好",
        early_reason="照片清楚",
    )

    page = client.get(response.url)

    assert "师傅完工照片显示把手完好" in page.content.decode()


def test_wrong_phone_gets_nothing(client, complaint):
    response = client.post(
        reverse("complaint_public:lookup"), {"number": complaint.ticket.number, "phone": "13900000000"}
    )

    assert response.status_code == 404
    assert client.get(reverse("complaint_public:ticket", args=[complaint.ticket_id])).status_code == 404


def test_customer_cannot_open_another_customers_complaints(client, complaint, done_job, operator, yonghe):
    from dispatch.services import ticket_create
    from regions.models import Division

    other = ticket_create(
        phone="13700000000", division=Division.objects.get(code="141032100"), address_detail="y 2", category="other"
    )
    client.post(reverse("complaint_public:lookup"), {"number": other.number, "phone": "13700000000"})

    assert client.get(reverse("complaint_public:ticket", args=[other.pk])).status_code == 200
    assert client.get(reverse("complaint_public:ticket", args=[complaint.ticket_id])).status_code == 404
    assert client.post(reverse("complaint_public:appeal", args=[complaint.pk]), {"reason": "x"}).status_code == 404


def test_lookups_are_rate_limited(client, complaint, settings):
    from django.core.cache import cache

    cache.clear()
    for _attempt in range(10):
        client.post(reverse("complaint_public:lookup"), {"number": complaint.ticket.number, "phone": "13900000000"})

    response = client.post(
        reverse("complaint_public:lookup"), {"number": complaint.ticket.number, "phone": "13812345678"}
    )

    assert response.status_code == 429


@pytest.mark.parametrize("model", ["complaint", "evidencecheck"])
def test_administrators_see_complaints_read_only_in_the_admin(client, administrator, model):
    administrator.is_superuser = True
    administrator.save(update_fields=["is_superuser"])
    client.force_login(administrator)

    assert client.get(reverse(f"admin:complaints_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:complaints_{model}_add")).status_code == 403
