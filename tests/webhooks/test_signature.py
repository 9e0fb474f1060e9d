from datetime import timedelta

from webhooks.services import (
    delivery_attempt,
    subscriber_create,
    subscriber_test_send,
    webhook_signature,
    webhook_signature_verify,
)

BODY = b'{"id":"1","type":"ticket.created"}'


def test_verifies_with_the_secret(t0):
    timestamp = str(int(t0.timestamp()))
    signature = webhook_signature(secret="whsec_right", timestamp=timestamp, body=BODY)

    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert webhook_signature_verify(secret="whsec_right", timestamp=timestamp, body=BODY, signature=signature, now=t0)


def test_fails_with_another_secret_or_a_changed_body(t0):
    timestamp = str(int(t0.timestamp()))
    signature = webhook_signature(secret="whsec_right", timestamp=timestamp, body=BODY)

    assert not webhook_signature_verify(
        secret="whsec_wrong", timestamp=timestamp, body=BODY, signature=signature, now=t0
    )
    assert not webhook_signature_verify(
        secret="whsec_right", timestamp=timestamp, body=BODY + b" ", signature=signature, now=t0
    )


def test_fails_outside_the_replay_window(t0):
    timestamp = str(int(t0.timestamp()))
    signature = webhook_signature(secret="whsec_right", timestamp=timestamp, body=BODY)
    replayed_at = t0 + timedelta(seconds=301)

    assert not webhook_signature_verify(
        secret="whsec_right", timestamp=timestamp, body=BODY, signature=signature, now=replayed_at
    )
    # and the timestamp is signed: moving it forward breaks the signature
    moved = str(int(replayed_at.timestamp()))
    assert not webhook_signature_verify(
        secret="whsec_right", timestamp=moved, body=BODY, signature=signature, now=replayed_at
    )


def test_a_received_request_verifies_with_the_subscribers_secret(db, receiver_factory, t0):
    receiver = receiver_factory([200])
    subscriber = subscriber_create(name="CRM", url=receiver.url, event_types=[])
    other = subscriber_create(name="其他", url=receiver.url, event_types=[])
    event = subscriber_test_send(subscriber=subscriber, now=t0)

    assert delivery_attempt(delivery_id=event.deliveries.get().pk, now=t0) == "delivered"

    (request,) = receiver.requests
    headers = request["headers"]
    assert (headers["X-Webhook-Id"], headers["X-Webhook-Timestamp"]) == (str(event.uuid), str(int(t0.timestamp())))
    signed = {
        "timestamp": headers["X-Webhook-Timestamp"],
        "body": request["body"],
        "signature": headers["X-Webhook-Signature"],
    }
    assert webhook_signature_verify(secret=subscriber.secret, now=t0, **signed)
    assert not webhook_signature_verify(secret=other.secret, now=t0, **signed)
    assert receiver.documents()[0]["type"] == "webhook.test"
