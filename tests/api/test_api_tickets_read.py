from datetime import timedelta

import pytest

from dispatch.services import ticket_create
from tests.api.conftest import assert_error_shape
from tests.dispatch.factories import job_through

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_jobs(ticket_input, operator, wang, zhao, t0):
    """Two tickets: one given to 王师傅 (the `technician` user), one to 赵师傅."""
    mine = ticket_create(**ticket_input, by=operator, now=t0)
    theirs = ticket_create(
        **{**ticket_input, "phone": "13900001111", "address_detail": "另一个地址 8 号"}, by=operator, now=t0
    )
    job_through(mine, technician=wang, operator=operator, at=t0, until="accepted")
    job_through(theirs, technician=zhao, operator=operator, at=t0, until="accepted")
    return mine, theirs


def test_technician_sees_only_their_own_jobs(api, technician, two_jobs):
    mine, theirs = two_jobs
    api.force_login(technician)

    listed = api.get("/api/v1/tickets").json()

    assert [row["number"] for row in listed["results"]] == [mine.number] and listed["count"] == 1
    assert api.get(f"/api/v1/tickets/{mine.number}").status_code == 200
    assert_error_shape(api.get(f"/api/v1/tickets/{theirs.number}"), 404, "not_found")


def test_technicians_key_sees_only_their_own_jobs(key_client, technician, two_jobs):
    mine, _theirs = two_jobs

    listed = key_client("tickets:read", user=technician).get("/api/v1/tickets").json()

    assert [row["number"] for row in listed["results"]] == [mine.number]


def test_detail_masks_the_phone_as_the_console_does(key_client, ticket):
    response = key_client("tickets:read").get(f"/api/v1/tickets/{ticket.number}")

    data = response.json()
    assert data["customer"] == {"phone_masked": "138****5678", "name": "张伟"}
    assert data["address"]["detail"] == "芝河镇建设路 12 号 3 单元 501"
    assert "13812345678" not in response.content.decode()


def test_list_filters(key_client, two_jobs, ticket_input, operator, t0):
    mine, theirs = two_jobs
    later = ticket_create(
        **{**ticket_input, "phone": "13700002222", "address_detail": "第三个地址"},
        by=operator,
        now=t0 + timedelta(hours=2),
    )
    client = key_client("tickets:read")

    def numbers(**params):
        return {row["number"] for row in client.get("/api/v1/tickets", params).json()["results"]}

    assert numbers(status="accepted") == {mine.number, theirs.number}
    assert numbers(phone="13812345678") == {mine.number}
    assert numbers(phone="+86 139 0000 1111") == {theirs.number}
    assert numbers(region="140000") == {mine.number, theirs.number, later.number}
    assert numbers(region="110000") == set()
    assert numbers(created_from=(t0 + timedelta(hours=1)).isoformat()) == {later.number}
    assert numbers(created_to=(t0 + timedelta(hours=1)).isoformat()) == {mine.number, theirs.number}
    assert_error_shape(client.get("/api/v1/tickets", {"status": "lost"}), 400, "invalid")


def test_reviewer_session_sees_no_tickets(api, reviewer, ticket):
    api.force_login(reviewer)

    assert_error_shape(api.get("/api/v1/tickets"), 403, "permission_denied")


def test_unknown_path_and_method_answer_in_the_error_shape(key_client, ticket):
    client = key_client("tickets:read")

    assert_error_shape(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error_shape(client.delete(f"/api/v1/tickets/{ticket.number}"), 405, "method_not_allowed")
