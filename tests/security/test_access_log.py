"""The access log a manager searches: phone reveals, photo/recording and evidence openings, exports (audit app)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessLog
from audit.services import access_log_record
from complaints.services import evidence_open
from dispatch.models import MediaAccess
from dispatch.services import customer_phone_reveal, media_open

URL = reverse("dashboard:access-log")


def _rows(client, **query) -> list:
    response = client.get(URL, query)
    assert response.status_code == 200, response.content[:500]
    return list(response.context["page"])


@pytest.fixture
def every_kind(world):
    """One entry of each kind, all about 王师傅's jobs in 山西."""
    operator, reviewer = world.users["operator"], world.users["reviewer"]
    customer_phone_reveal(ticket=world.job, by=operator, reason="客户要求回拨")
    token = world.media_token(world.media, operator)
    media_open(token=token, by=operator, action=MediaAccess.Action.VIEW)
    media_open(token=token, by=operator, action=MediaAccess.Action.DOWNLOAD)
    evidence_open(evidence=world.evidence, by=reviewer)
    evidence_open(evidence=world.evidence, by=reviewer, download=True)
    access_log_record(kind=AccessLog.Kind.ADDRESS_VIEW, by=operator, ticket=world.job)
    return world


def test_each_kind_is_found_by_kind(client, every_kind):
    client.force_login(every_kind.users["manager"])
    client.get(reverse("dashboard:home"), {"export": "clocks"})  # an export, logged by the dashboard view

    for kind in AccessLog.Kind.values:
        rows = _rows(client, kind=kind)
        assert rows, f"no {kind} entry found"
        assert {row.kind for row in rows} == {kind}


def test_a_reveal_names_who_why_and_the_ticket(client, every_kind):
    client.force_login(every_kind.users["manager"])

    (row,) = _rows(client, kind=AccessLog.Kind.PHONE_REVEAL)

    assert (row.username, row.ticket_number, row.detail) == ("li_operator", every_kind.job.number, "客户要求回拨")
    assert row.province_code == "140000"


def test_search_by_customer_phone_uses_the_blind_index(client, every_kind):
    client.force_login(every_kind.users["manager"])

    mine = _rows(client, phone="138 1234 5678")  # 王师傅's job is for 13812345678
    nobody = _rows(client, phone="13900000000")

    assert mine and {row.ticket_number for row in mine} == {every_kind.job.number}
    assert nobody == []
    assert "13812345678" not in {row.detail for row in AccessLog.objects.all()}


def test_search_by_user_ticket_and_dates(client, every_kind):
    client.force_login(every_kind.users["manager"])
    today = timezone.localdate()

    by_reviewer = _rows(client, user="chen_reviewer")
    by_ticket = _rows(client, ticket=every_kind.job.number)
    yesterday = _rows(client, start=today - timedelta(days=1), end=today - timedelta(days=1))
    today_rows = _rows(client, start=today, end=today)

    assert {row.kind for row in by_reviewer} == {AccessLog.Kind.EVIDENCE_VIEW, AccessLog.Kind.EVIDENCE_DOWNLOAD}
    assert {row.ticket_number for row in by_ticket} == {every_kind.job.number}
    assert yesterday == []
    assert len(today_rows) == AccessLog.objects.count()


def test_a_bad_phone_is_a_clear_error_and_nothing_is_searched(client, every_kind):
    client.force_login(every_kind.users["manager"])

    response = client.get(URL, {"phone": "12"})

    assert response.status_code == 400
    assert response.context["page"] is None
    assert response.context["form"].errors["phone"]


@pytest.mark.parametrize("role", ["operator", "technician", "reviewer"])
def test_other_roles_are_forbidden(client, world, role):
    client.force_login(world.users[role])

    assert client.get(URL).status_code == 403


def test_a_regional_manager_sees_only_their_provinces(client, every_kind):
    beijing = every_kind.other_deadline  # builds a ticket in 北京
    from dispatch.models import Ticket

    ticket = Ticket.objects.get(pk=beijing.subject_id)
    customer_phone_reveal(ticket=ticket, by=every_kind.users["operator"], reason="回拨")
    client.force_login(every_kind.users["regional_manager"])  # 山西 only

    seen = {row.ticket_number for row in _rows(client)}

    assert every_kind.job.number in seen
    assert ticket.number not in seen
    client.force_login(every_kind.users["manager"])  # nationwide
    assert ticket.number in {row.ticket_number for row in _rows(client)}


def test_the_csv_export_is_itself_logged_without_the_phone(client, every_kind):
    client.force_login(every_kind.users["manager"])

    response = client.get(URL, {"kind": AccessLog.Kind.PHONE_REVEAL, "phone": "13812345678", "export": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert every_kind.job.number in body
    export = AccessLog.objects.get(kind=AccessLog.Kind.EXPORT)
    assert export.username == "zhao_manager" and export.detail.startswith("access-log?")
    assert "13812345678" not in export.detail


@pytest.mark.parametrize(
    ("view", "query"),
    [
        ("dashboard:home", {"export": "clocks"}),
        ("dashboard:home", {"export": "staffing"}),
        ("dashboard:tickets", {"export": "csv"}),
        ("dashboard:breaches", {"export": "csv"}),
    ],
)
def test_every_dashboard_export_is_logged(client, world, view, query):
    client.force_login(world.users["regional_manager"])

    response = client.get(reverse(view), query)

    assert response.status_code == 200
    row = AccessLog.objects.get(kind=AccessLog.Kind.EXPORT)
    assert row.username == "qian_regional"
    assert row.province_code == "140000"  # the regional manager's one province: they see their own exports


def test_the_log_cannot_be_edited_in_the_admin(client, world):
    access_log_record(kind=AccessLog.Kind.EXPORT, by=world.users["manager"], detail="clocks")
    client.force_login(world.users["admin"])
    row = AccessLog.objects.get()

    page = client.get(reverse("admin:audit_accesslog_change", args=[row.pk]))
    assert page.status_code == 200  # the administrator may read a row…
    assert b'name="_save"' not in page.content  # …but the page has no save button
    client.post(reverse("admin:audit_accesslog_change", args=[row.pk]), {"detail": "tampered", "username": "x"})
    assert client.post(reverse("admin:audit_accesslog_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert (row.detail, row.username) == ("clocks", world.users["manager"].username)
