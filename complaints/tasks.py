from celery import shared_task


@shared_task(ignore_result=True, acks_late=True, max_retries=3)
def evidence_check_task(*, evidence_id: int) -> int:
    """Compute the forensic signals of one evidence file and store them once per checker version."""
    from complaints.services import evidence_check_run

    return evidence_check_run(evidence_id=evidence_id)
