"""Configuration read on every ticket (SLA policies, service areas, webhook subscribers) is remembered per process
and forgotten the moment it changes — whoever changes it, and never remembered from a transaction that rolled back."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from configcache.memo import forget_all, tokens_held
from configcache.models import ConfigVersion
from regions.models import Division, ServiceArea
from regions.selectors import division_get, is_served
from sla.models import DeadlineKind, PolicyTarget
from sla.services import policy_match
from webhooks.models import EventType, Subscriber
from webhooks.services import _subscribers_by_type, subscriber_create

pytestmark = pytest.mark.django_db

RESPONSE = DeadlineKind.RESPONSE


@pytest.fixture(autouse=True)
def _empty_memo():
    forget_all()


def _response_target():
    return policy_match(kind=RESPONSE, division_code="141032100", urgency="normal").target


def _nationwide_response() -> PolicyTarget:
    return PolicyTarget.objects.get(kind=RESPONSE, policy__division__isnull=True, policy__urgency="")


def test_a_second_lookup_reads_only_the_tokens(yonghe, django_assert_num_queries):
    assert _response_target() == timedelta(minutes=30)

    with django_assert_num_queries(1):  # the tokens; not the division's ancestors nor the policies
        assert _response_target() == timedelta(minutes=30)


def test_a_policy_edit_is_seen_by_the_next_lookup(yonghe):
    assert _response_target() == timedelta(minutes=30)

    PolicyTarget.objects.filter(pk=_nationwide_response().pk).update(target=timedelta(minutes=20))  # a bulk update

    assert _response_target() == timedelta(minutes=20)


def test_an_edit_rolled_back_is_not_remembered(yonghe):
    assert _response_target() == timedelta(minutes=30)

    with pytest.raises(RuntimeError), transaction.atomic():
        target = _nationwide_response()
        target.target = timedelta(minutes=15)
        target.save()
        assert _response_target() == timedelta(minutes=15)  # the editing transaction sees its own edit
        raise RuntimeError("the admin's save failed later")

    assert _response_target() == timedelta(minutes=30)


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_elsewhere_is_seen_at_once(yonghe):
    assert _response_target() == timedelta(minutes=30)

    def another_process():  # its own connection, its own transaction, committed
        PolicyTarget.objects.filter(pk=_nationwide_response().pk).update(target=timedelta(minutes=15))
        connection.close()

    thread = threading.Thread(target=another_process)
    thread.start()
    thread.join()

    assert _response_target() == timedelta(minutes=15)


def test_switching_a_service_area_off_and_on_is_seen_at_once(yonghe):
    town = Division.objects.get(code="141032100")
    assert is_served(town)

    ServiceArea.objects.filter(division_id="141032").update(is_active=False)
    assert not is_served(town)

    ServiceArea.objects.filter(division_id="141032").update(is_active=True)
    assert is_served(town)


def test_a_new_or_switched_off_subscriber_is_seen_by_the_next_event(db):
    types = [EventType.TICKET_CREATED]
    assert _subscribers_by_type(types) == {}

    crm = subscriber_create(name="CRM", url="https://crm.example/hook", event_types=types)
    assert _subscribers_by_type(types) == {EventType.TICKET_CREATED: [crm.pk]}

    Subscriber.objects.filter(pk=crm.pk).update(is_active=False)
    assert _subscribers_by_type(types) == {}


def test_without_a_token_nothing_is_remembered(yonghe, django_assert_num_queries):
    ConfigVersion.objects.all().delete()  # as a flush can leave it: no row, no memo
    assert _response_target() == timedelta(minutes=30)

    with django_assert_num_queries(3):  # the tokens, the division's ancestors, the policies: read again
        assert _response_target() == timedelta(minutes=30)

    PolicyTarget.objects.filter(pk=_nationwide_response().pk).update(target=timedelta(minutes=25))

    assert _response_target() == timedelta(minutes=25)
    assert ConfigVersion.objects.filter(area="sla").exists()  # the update's trigger wrote the area's token again


def test_what_is_handed_out_cannot_change_what_is_remembered(yonghe, db):
    targets = _subscribers_by_type([EventType.TICKET_CREATED])
    targets.setdefault(EventType.TICKET_CREATED, []).append(999)

    assert _subscribers_by_type([EventType.TICKET_CREATED]) == {}


def test_a_division_is_looked_up_once_and_each_caller_gets_its_own_copy(yonghe, django_assert_num_queries):
    first = division_get(code="141032100")
    first.name = "改过的名字"  # a caller changing its copy

    with django_assert_num_queries(1):  # the tokens only
        again = division_get(code="141032100")
    assert again.name == Division.objects.get(code="141032100").name != "改过的名字"
    assert division_get(code="999999999") is None

    Division.objects.filter(code="141032100").update(name="芝河镇（新）")  # a catalogue update
    assert division_get(code="141032100").name == "芝河镇（新）"


def test_lookups_inside_tokens_held_read_the_tokens_once(yonghe, django_assert_num_queries):
    town = Division.objects.get(code="141032100")
    assert (
        _response_target() == timedelta(minutes=30) and is_served(town) and division_get(code=town.code)
    )  # remembered

    with django_assert_num_queries(1), tokens_held():  # three lookups, one read of the tokens
        assert _response_target() == timedelta(minutes=30)
        assert is_served(town)
        assert division_get(code="141032100").name == town.name
        with tokens_held():  # a nested block shares the outer one's read
            assert is_served(town)

    with django_assert_num_queries(2):  # outside a block, each lookup reads the tokens again
        assert _response_target() == timedelta(minutes=30)
        assert is_served(town)


@pytest.mark.django_db(transaction=True)
def test_a_block_sees_the_configuration_of_its_first_lookup_and_the_next_block_sees_the_change(yonghe):
    town = Division.objects.get(code="141032100")

    def switch_off_elsewhere():  # another process's committed change, in the middle of the block
        ServiceArea.objects.filter(division_id="141032").update(is_active=False)
        connection.close()

    with tokens_held():
        assert is_served(town)
        thread = threading.Thread(target=switch_off_elsewhere)
        thread.start()
        thread.join()
        assert is_served(town)  # as if the change had come a moment after the block

    assert not is_served(town)
    with tokens_held():
        assert not is_served(town)
