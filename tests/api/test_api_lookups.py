import pytest

from complaints.models import Complaint
from tests.api.conftest import assert_error_shape
from tests.dispatch.factories import job_through

pytestmark = pytest.mark.django_db


def test_customer_lookup_is_masked_and_uses_the_blind_index(key_client, ticket):
    response = key_client("customers:read").get("/api/v1/customers", {"phone": "+8613812345678"})

    data = response.json()
    assert (data["known"], data["phone_masked"], data["name"]) == (True, "138****5678", "张伟")
    assert [row["number"] for row in data["open_tickets"]] == [ticket.number]
    assert data["free_inspection"] is False  # already used by the open ticket
    assert "13812345678" not in response.content.decode()


def test_unknown_caller_gets_a_free_first_inspection(key_client, db):
    data = key_client("customers:read").get("/api/v1/customers", {"phone": "13900009999"}).json()

    assert (data["known"], data["free_inspection"], data["open_tickets"]) == (False, True, [])


def test_customer_lookup_rejects_a_bad_number(key_client, db):
    response = key_client("customers:read").get("/api/v1/customers", {"phone": "abc"})

    assert "phone" in assert_error_shape(response, 400, "invalid")["extra"]["fields"]


def test_regions_search_reuses_the_console_selector(key_client, yonghe):
    results = key_client("regions:read").get("/api/v1/regions", {"q": "永和"}).json()["results"]

    assert results[0]["code"] == "141032" and results[0]["served"] is True


def test_old_regions_endpoint_keeps_its_body(client, operator):
    client.force_login(operator)

    response = client.get("/api/regions/search", {"q": ""})

    assert response.status_code == 400 and "q" in response.json()


def test_technician_status_counts_current_jobs(key_client, operator, wang, zhao, ticket, t0):
    job_through(ticket, technician=wang, operator=operator, at=t0, until="accepted")

    rows = key_client("technicians:read").get("/api/v1/technicians", {"on_duty": "true"}).json()["results"]

    assert {(row["name"], row["current_jobs"], row["is_on_duty"]) for row in rows} == {
        ("王师傅", 1, True),
        ("赵师傅", 0, True),
    }


@pytest.mark.parametrize("query", [{"region": ""}, {"region": "abc"}, {"on_duty": "maybe"}, {"limit": "0"}])
def test_a_filter_given_empty_or_wrong_is_refused_not_ignored(key_client, wang, query):
    response = key_client("technicians:read").get("/api/v1/technicians", query)

    assert list(assert_error_shape(response, 400, "invalid")["extra"]["fields"]) == list(query)


def test_complaint_filed_and_its_status_read(key_client, operator, wang, ticket, t0):
    job_through(ticket, technician=wang, operator=operator, at=t0)
    client = key_client("complaints:write", "complaints:read")

    response = client.post(
        f"/api/v1/tickets/{ticket.number}/complaints",
        {"category": "quality", "description": "修完第二天又坏了", "remedy_requested": "re_service"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    complaint = Complaint.objects.get()
    assert (complaint.channel, complaint.filed_by) == ("online", client.key.user)
    status = client.get(f"/api/v1/complaints/{complaint.number}").json()
    assert (status["number"], status["status"], status["ticket"]) == (complaint.number, "filed", ticket.number)
    again = client.post(
        f"/api/v1/tickets/{ticket.number}/complaints",
        {"category": "quality", "description": "再投诉", "remedy_requested": "re_service"},
        format="json",
    )
    assert_error_shape(again, 409, "complaint_already_open")


def test_schema_and_docs_are_served_without_a_cdn(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/v1/docs/").content.decode()

    paths = schema.json()["paths"]
    assert {"/api/v1/tickets", "/api/v1/calls/incoming", "/api/v1/calls/{id}/recording"} <= set(paths)
    assert "/api/regions/search" not in paths
    assert set(paths["/api/v1/tickets"]["post"]["responses"]) >= {"201", "400", "401", "403", "429"}
    assert "cdn" not in docs and "/static/drf_spectacular_sidecar/" in docs
    # no inline script (the Content-Security-Policy forbids it): the start-up script is a file of its own
    assert "<script>" not in docs
    assert client.get("/api/v1/docs/?script=").headers["Content-Type"].startswith("application/javascript")
