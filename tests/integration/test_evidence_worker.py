"""A complaint's photo is checked by a real Celery worker after commit: one EvidenceCheck row per signal, once."""

import time

import pytest
from django.conf import settings

from complaints.models import Evidence, EvidenceCheck
from complaints.tasks import evidence_check_task
from config.celery import app
from config.settings import celery_broker_url
from tests.complaints.conftest import complaint, done_job, evidence_root, t0, wang  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_checks_a_complaint_photo_once(fleet, redis_url, complaint, evidence_root):  # noqa: F811
    evidence = Evidence.objects.get(complaint=complaint)
    fleet.env["PRIVATE_MEDIA_ROOT"] = str(evidence_root)  # the worker reads the same private storage
    fleet.start("worker")

    # The task complaint_file queues after commit, aimed at the fleet's Redis; queued twice, as a redelivery would.
    with app.connection_for_write(celery_broker_url(redis_url, settings.REDIS_DB_BASE)) as broker:
        for _ in range(2):
            evidence_check_task.apply_async(kwargs={"evidence_id": evidence.pk}, connection=broker)

    give_up = time.monotonic() + 90
    while not EvidenceCheck.objects.filter(evidence=evidence).exists():
        assert time.monotonic() < give_up, "the worker wrote no signal"
        time.sleep(0.3)
    time.sleep(3)  # the second message has been taken by then: it must add nothing

    kinds = list(EvidenceCheck.objects.filter(evidence=evidence).values_list("kind", flat=True))
    assert len(kinds) == len(set(kinds)) >= 1  # one row per signal, not two runs' worth
    evidence.refresh_from_db()
    assert evidence.display_file  # the stripped copy the reviewer sees was made by the worker
