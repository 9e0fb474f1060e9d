import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection

from dispatch.services import (
    offer_accept,
    ticket_assign,
    ticket_cancel,
    ticket_complete,
    ticket_create,
    ticket_offer,
    ticket_progress,
    ticket_reassign,
)
from privacy.backends import ConsoleBackend
from privacy.models import NumberBinding
from privacy.services import binding_sync
from privacy.tasks import binding_sync_task


def _accepted(ticket_input, operator, technician, t0, phone="13812345678"):
    ticket = ticket_create(**{**ticket_input, "phone": phone}, by=operator, now=t0)
    return ticket_assign(ticket=ticket, technician=technician, by=operator, reason="电话确认", now=t0)


def test_accepting_an_offer_queues_the_bind_after_commit(
    ticket_input, operator, wang, t0, django_capture_on_commit_callbacks
):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    offer = ticket_offer(ticket=ticket, technician=wang, by=operator, now=t0)

    with (
        mock.patch("privacy.services.binding_sync_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        offer_accept(offer=offer, by=wang.user, now=t0)
        assert not NumberBinding.objects.exists()  # no provider call inside the accept's transaction

    delay.assert_called_once_with(ticket_id=ticket.pk)


def test_binds_a_pool_number_for_the_job(ticket_input, operator, wang, t0, number_pool):
    ticket = _accepted(ticket_input, operator, wang, t0)

    binding = binding_sync(ticket_id=ticket.pk, now=t0)

    assert (binding.virtual_number, binding.technician, binding.state) == (number_pool[0], wang, "active")
    assert binding.expires_at == t0 + timedelta(hours=72)
    assert binding.provider_ref.startswith("console-")


def test_the_task_running_twice_binds_once(ticket_input, operator, wang, t0):
    ticket = _accepted(ticket_input, operator, wang, t0)

    with mock.patch.object(ConsoleBackend, "bind", autospec=True, side_effect=ConsoleBackend.bind) as bind:
        first = binding_sync_task.run(ticket_id=ticket.pk)
        second = binding_sync_task.run(ticket_id=ticket.pk)

    assert first == second == "+8617100000000"
    assert bind.call_count == 1
    assert NumberBinding.objects.get().state == "active"


def test_completion_releases_the_number_back_to_the_pool(ticket_input, operator, wang, zhao, t0, number_pool):
    ticket = _accepted(ticket_input, operator, wang, t0)
    binding = binding_sync(ticket_id=ticket.pk, now=t0)
    for step in ("responded", "en_route", "on_site"):
        ticket = ticket_progress(ticket=ticket, by=wang.user, to=step, now=t0)
    done = t0 + timedelta(hours=1)
    ticket_complete(ticket=ticket, by=wang.user, work_done="更换电池", now=done)

    assert binding_sync(ticket_id=ticket.pk, now=done) is None

    binding.refresh_from_db()
    assert (binding.state, binding.released_at) == ("released", done)
    other = _accepted(ticket_input, operator, zhao, done, phone="13912345678")
    assert binding_sync(ticket_id=other.pk, now=done).virtual_number == number_pool[0]


def test_cancellation_releases_the_number(ticket_input, operator, wang, t0):
    ticket = _accepted(ticket_input, operator, wang, t0)
    binding = binding_sync(ticket_id=ticket.pk, now=t0)

    ticket_cancel(ticket=ticket, by=operator, reason="客户自己打开了", now=t0)
    binding_sync(ticket_id=ticket.pk, now=t0)

    binding.refresh_from_db()
    assert binding.state == "released"
    assert not NumberBinding.objects.filter(state="active").exists()


def test_reassignment_moves_the_number_to_the_new_technician(ticket_input, operator, wang, zhao, t0):
    ticket = _accepted(ticket_input, operator, wang, t0)
    first = binding_sync(ticket_id=ticket.pk, now=t0)

    ticket_reassign(ticket=ticket, by=operator, reason="王师傅车坏了", technician=zhao, now=t0)
    assert binding_sync(ticket_id=ticket.pk, now=t0) is None  # offered to 赵师傅, not yet his
    ticket_assign(ticket=ticket, technician=zhao, by=operator, reason="电话确认", now=t0)
    second = binding_sync(ticket_id=ticket.pk, now=t0)

    first.refresh_from_db()
    assert (first.state, second.technician, second.state) == ("released", zhao, "active")


def test_cancelled_before_the_task_ran_binds_nothing(ticket_input, operator, wang, t0):
    ticket = _accepted(ticket_input, operator, wang, t0)
    ticket_cancel(ticket=ticket, by=operator, reason="客户取消", now=t0)

    with mock.patch.object(ConsoleBackend, "bind") as bind:
        assert binding_sync(ticket_id=ticket.pk, now=t0) is None

    bind.assert_not_called()
    assert not NumberBinding.objects.exists()


def test_pool_exhausted_records_the_failure_and_binds_at_a_later_step(
    ticket_input, operator, wang, zhao, t0, number_pool
):
    busy = [_accepted(ticket_input, operator, zhao, t0, phone=f"1391234567{i}") for i in range(2)]
    for job in busy:
        binding_sync(ticket_id=job.pk, now=t0)
    ticket = _accepted(ticket_input, operator, wang, t0)

    assert binding_sync(ticket_id=ticket.pk, now=t0) is None
    assert binding_sync(ticket_id=ticket.pk, now=t0) is None  # tried again: still one failure row
    failure = NumberBinding.objects.get(ticket=ticket)
    assert (failure.state, failure.virtual_number) == ("failed", "")

    ticket_cancel(ticket=busy[0], by=operator, reason="客户取消", now=t0)
    binding_sync(ticket_id=busy[0].pk, now=t0)
    ticket_progress(ticket=ticket, by=wang.user, to="responded", now=t0)
    binding = binding_sync(ticket_id=ticket.pk, now=t0)

    assert binding.virtual_number in number_pool
    assert list(NumberBinding.objects.filter(ticket=ticket).values_list("state", flat=True)) == ["active"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_of_one_job_bind_once(ticket_input, operator, wang, t0):
    with mock.patch("privacy.services.binding_sync_task.delay"):  # the test runs the syncs itself
        ticket = _accepted(ticket_input, operator, wang, t0)
    start = threading.Barrier(2)
    results = []

    def sync():
        try:
            start.wait()
            results.append(binding_sync(ticket_id=ticket.pk, now=t0))
        finally:
            connection.close()

    with mock.patch.object(ConsoleBackend, "unbind", autospec=True) as unbind:
        threads = [threading.Thread(target=sync) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    active = NumberBinding.objects.get(ticket=ticket, state="active")
    assert [r.pk for r in results] == [active.pk, active.pk]
    assert unbind.call_count <= 1  # a losing bind is given back to the provider
