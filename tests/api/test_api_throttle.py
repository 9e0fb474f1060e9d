from datetime import UTC, datetime

import pytest
import time_machine

from tests.api.conftest import assert_error_shape

pytestmark = pytest.mark.django_db

URL = "/api/v1/regions"


def test_key_over_its_rate_gets_429(key_client, settings):
    settings.API_KEY_RATE = "2/min"
    client = key_client("regions:read")
    other = key_client("regions:read")

    # the clock held inside one fixed window (counted per minute), 40 s before it ends
    with time_machine.travel(datetime(2026, 11, 26, 2, 0, 20, tzinfo=UTC), tick=False):
        answers = [client.get(URL, {"q": "永和"}).status_code for _ in range(2)]
        response = client.get(URL, {"q": "永和"})
        other_answer = other.get(URL, {"q": "永和"}).status_code

    assert answers == [200, 200]
    error = assert_error_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) == 40 and error["extra"]["wait"] == 40
    # counted per key: another key is not slowed down
    assert other_answer == 200
