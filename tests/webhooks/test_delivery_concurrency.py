import threading
from unittest import mock

import pytest
from django.db import connection

from webhooks.models import Delivery
from webhooks.services import delivery_send_due, subscriber_create, subscriber_test_send


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claimers_never_deliver_the_same_row_twice(receiver_factory, t0):
    # given: eight due deliveries and a receiver slow enough that both claimers are busy at the same time
    receiver = receiver_factory([200], delay=0.05)
    subscriber = subscriber_create(name="CRM", url=receiver.url, event_types=[])
    with mock.patch("webhooks.services.delivery_attempt_task.delay"):  # no first attempts: the claimers do it all
        for _ in range(8):
            subscriber_test_send(subscriber=subscriber, now=t0)
    start = threading.Barrier(2)
    attempted: list[int] = []

    def claimer():
        try:
            start.wait()
            attempted.append(delivery_send_due(now=t0, limit=100))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=claimer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: every row sent exactly once, shared between the two
    assert sum(attempted) == 8
    assert sorted(receiver.ids()) == sorted({request["headers"]["X-Webhook-Id"] for request in receiver.requests})
    assert len(receiver.requests) == 8
    assert set(Delivery.objects.values_list("state", "attempts")) == {("delivered", 1)}
