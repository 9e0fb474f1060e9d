"""Schemathesis against the live app (a real server thread, real PostgreSQL): every operation of the published
schema, with a key holding every scope, ~20 generated requests each, valid and invalid. No 500s, every response
as the schema says (status, content type, body), invalid input refused with a 4xx, every 4xx in the error shape."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import Scope
from api.services import integration_key_create
from dispatch.services import ticket_create
from regions.models import Division, ServiceArea
from telephony.services import call_record_incoming

MAX_EXAMPLES = 20


def error_shape(ctx, response, case):
    """Every client error answers {"message", "code", "extra"} (the one error shape)."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == {"message", "code", "extra"} and body["message"], body
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    error_shape,
]


@pytest.fixture
def api_schema(live_server, settings, private_root, operator):
    # Hundreds of requests from one key in a minute: the rate limit is tested on its own (test_api_throttle.py).
    settings.API_KEY_RATE = "100000/min"
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    # Something for the generated requests to find: a ticket, its customer, a call.
    ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail="建设路 12 号",
        category="power",
        by=operator,
    )
    _key, token = integration_key_create(name="fuzz", scopes=list(Scope.values))
    call_record_incoming(external_id="fuzz-1", caller="13812345678", called="4008201234", by=None)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json")
    schema.config.update(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"})
    return schema


# Schemathesis's own pytest integration (from_fixture) does not run under pytest 9.2 (it sets Node._nodeid, which is
# gone), so each operation's Hypothesis test is built here, one subtest per operation and generation mode.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_conforms_to_its_schema(api_schema, mode, subtests):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case):
            case.call_and_validate(checks=CHECKS)

        with subtests.test(msg=operation.label):
            try:
                run()
            except Unsatisfiable:
                # Nothing invalid can be sent to an operation that takes no input (e.g. resume): no case to run.
                assert mode == GenerationMode.NEGATIVE
