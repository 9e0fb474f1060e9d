import hashlib
from datetime import timedelta
from unittest import mock

import pytest

from complaints.exceptions import ComplaintAlreadyOpen
from complaints.forensics import EvidenceTypeNotAllowed
from complaints.models import Complaint, ComplaintEvent, Evidence
from complaints.services import complaint_file
from sla.models import Deadline, DeadlineKind
from sla.selectors import deadline_get
from tests.complaints.conftest import JPEG, photo


def _file(ticket, *, by, now, uploads=()):
    return complaint_file(
        ticket=ticket,
        channel=Complaint.Channel.PHONE,
        category=Complaint.Category.QUALITY,
        description="指纹还是识别不了",
        remedy_requested="re_service",
        uploads=uploads,
        by=by,
        now=now,
    )


def test_starts_acknowledge_decision_and_statement_clocks(done_job, operator, evidence_root, t0):
    complaint = _file(done_job, by=operator, now=t0)

    assert complaint.status == "filed"
    due = {
        kind: deadline_get(subject=complaint, kind=kind).due_at
        for kind in (
            DeadlineKind.COMPLAINT_ACKNOWLEDGE,
            DeadlineKind.TECHNICIAN_STATEMENT,
            DeadlineKind.COMPLAINT_DECISION,
        )
    }
    assert due == {
        DeadlineKind.COMPLAINT_ACKNOWLEDGE: t0 + timedelta(minutes=60),
        DeadlineKind.TECHNICIAN_STATEMENT: t0 + timedelta(hours=24),
        DeadlineKind.COMPLAINT_DECISION: t0 + timedelta(hours=48),
    }
    event = ComplaintEvent.objects.get(complaint=complaint, kind=ComplaintEvent.Kind.FILED)
    assert (event.actor, event.data["channel"]) == (operator, "phone")


def test_no_statement_clock_when_nobody_worked_the_job(operator, evidence_root, t0, yonghe):
    from dispatch.services import ticket_create
    from regions.models import Division

    ticket = ticket_create(
        phone="13812345679", division=Division.objects.get(code="141032100"), address_detail="x 1", category="other"
    )
    complaint = _file(ticket, by=operator, now=t0)

    assert deadline_get(subject=complaint, kind=DeadlineKind.TECHNICIAN_STATEMENT) is None


def test_keeps_original_bytes_with_sha256_and_queues_checks(
    done_job, operator, evidence_root, t0, django_capture_on_commit_callbacks
):
    with (
        mock.patch("complaints.services.evidence_check_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        complaint = _file(done_job, by=operator, now=t0, uploads=[photo("IMG_0001.png")])

    evidence = Evidence.objects.get(complaint=complaint)
    assert (evidence.party, evidence.kind, evidence.content_type) == ("customer", "photo", "image/jpeg")
    assert evidence.sha256 == hashlib.sha256(JPEG).hexdigest()
    with evidence.file.open("rb") as handle:
        assert handle.read() == JPEG
    delay.assert_called_once_with(evidence_id=evidence.pk)


def test_refuses_second_open_complaint_on_same_ticket(complaint, operator, t0):
    with pytest.raises(ComplaintAlreadyOpen):
        _file(complaint.ticket, by=operator, now=t0)

    assert Complaint.objects.filter(ticket=complaint.ticket).count() == 1


def test_file_whose_extension_lies_is_refused_and_nothing_kept(done_job, operator, evidence_root, t0):
    fake = photo("damage.jpg", data=b"MZ\x90\x00" + b"\x00" * 100)  # a Windows executable named .jpg

    with pytest.raises(EvidenceTypeNotAllowed):
        _file(done_job, by=operator, now=t0, uploads=[photo(), fake])

    assert not Complaint.objects.exists()
    assert not Deadline.objects.filter(kind=DeadlineKind.COMPLAINT_ACKNOWLEDGE).exists()
    assert not any(evidence_root.rglob("*.*"))
