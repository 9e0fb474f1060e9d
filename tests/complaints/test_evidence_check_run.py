from complaints.models import EvidenceCheck
from complaints.services import evidence_check_run
from complaints.tasks import evidence_check_task


def test_records_one_row_per_signal_once(complaint):
    evidence = complaint.evidence.get()

    written = evidence_check_run(evidence_id=evidence.pk)

    kinds = set(EvidenceCheck.objects.filter(evidence=evidence).values_list("kind", flat=True))
    assert written == len(kinds) >= 1
    assert "no_capture_metadata" in kinds  # a photo without EXIF: stated as common, never a verdict
    assert evidence_check_run(evidence_id=evidence.pk) == 0  # a re-run of the same checker adds nothing
    assert EvidenceCheck.objects.filter(evidence=evidence).count() == written


def test_task_runs_the_checks(complaint):
    evidence = complaint.evidence.get()

    evidence_check_task.run(evidence_id=evidence.pk)  # the task body itself (no eager mode, no broker)

    assert EvidenceCheck.objects.filter(evidence=evidence).exists()
