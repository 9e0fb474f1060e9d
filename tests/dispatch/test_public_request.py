import datetime
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dispatch import public
from dispatch.models import Customer, Ticket, TicketStatus
from dispatch.services import ticket_cancel, ticket_create
from regions.models import Division

pytestmark = pytest.mark.django_db

FORM_URL = reverse("public:request")
DONE_URL = reverse("public:request-done")
STATUS_URL = reverse("public:status")
AREAS_URL = reverse("public:area-search")


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _request(**overrides) -> dict:
    return {
        "phone": "13812345678",
        "name": "张伟",
        "division": "141032100",
        "address_detail": "芝河镇建设路 12 号 3 单元 501",
        "category": "biometric",
        "lock_brand": "德施曼",
        "notes": "",
        "timing": "asap",
        "website": "",
        **overrides,
    }


def _local(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())


def test_form_has_labelled_phone_friendly_fields(client):
    response = client.get(FORM_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'inputmode="tel"' in html and 'autocomplete="tel"' in html
    assert 'autocomplete="name"' in html and 'autocomplete="street-address"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    for field in ("id_phone", "id_name", "area-q", "id_address_detail", "id_appointment_date"):
        assert f'for="{field}"' in html


def test_requires_a_csrf_token(zhihe):
    response = Client(enforce_csrf_checks=True).post(FORM_URL, _request())

    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_creates_one_web_ticket_and_confirms_its_number(client, zhihe):
    response = client.post(FORM_URL, _request())

    assert response.status_code == 302
    assert response.url == DONE_URL
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.created_by, ticket.status) == (Ticket.Channel.WEB, None, TicketStatus.NEW)
    assert (ticket.division_id, ticket.category, ticket.lock_brand) == ("141032100", "biometric", "德施曼")
    assert ticket.appointment_start is None
    assert ticket.customer.phone == "+8613812345678"
    done = client.get(DONE_URL)
    assert done.status_code == 200
    html = done.content.decode()
    assert f'data-testid="ticket-number">{ticket.number}<' in html
    assert "138****5678" in html and "13812345678" not in html
    assert 'data-testid="free-inspection"' in html
    assert f"{STATUS_URL}?number={ticket.number}" in html


def test_books_a_chosen_time_window(client, zhihe):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    data = _request(timing="scheduled", appointment_date=tomorrow.isoformat(), appointment_from="10:00")

    response = client.post(FORM_URL, {**data, "appointment_until": "12:00"})

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.appointment_start, ticket.appointment_end) == (_local(tomorrow, 10), _local(tomorrow, 12))
    assert 'data-testid="next-appointment"' in client.get(DONE_URL).content.decode()


def test_confirmation_without_a_request_goes_to_the_form(client):
    response = client.get(DONE_URL)

    assert response.status_code == 302
    assert response.url == FORM_URL


def _yesterday() -> str:
    return (timezone.localdate() - datetime.timedelta(days=1)).isoformat()


def _tomorrow() -> str:
    return (timezone.localdate() + datetime.timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "error_testid"),
    [
        pytest.param({"phone": "12345"}, "error-phone", id="invalid-phone"),
        pytest.param({"phone": ""}, "error-phone", id="missing-phone"),
        pytest.param({"address_detail": "   "}, "error-address_detail", id="missing-address"),
        pytest.param({"division": ""}, "error-division", id="missing-division"),
        pytest.param({"division": "141000"}, "error-division", id="prefecture-not-allowed"),
        pytest.param({"division": "999999"}, "error-division", id="unknown-division"),
        pytest.param({"category": ""}, "error-category", id="missing-problem"),
        pytest.param({"timing": "tomorrow-ish"}, "error-timing", id="unknown-timing"),
        pytest.param(
            {"timing": "scheduled", "appointment_date": _yesterday(), "appointment_from": "10:00"},
            "error-appointment_date",
            id="appointment-in-the-past",
        ),
        pytest.param(
            {"timing": "scheduled", "appointment_date": _tomorrow(), "appointment_from": "12:00"},
            "error-appointment_until",
            id="end-before-start",
        ),
        pytest.param(
            {"timing": "scheduled", "appointment_date": "", "appointment_from": ""},
            "form-errors",
            id="scheduled-without-a-time",
        ),
    ],
)
def test_bad_input_shows_a_message_and_saves_nothing(client, zhihe, overrides, error_testid):
    data = _request(**overrides)
    data.setdefault("appointment_until", "11:00")

    response = client.post(FORM_URL, data)

    assert response.status_code == 200
    assert f'data-testid="{error_testid}"' in response.content.decode()
    assert not Ticket.objects.exists()
    assert not Customer.objects.exists()


def test_invalid_phone_message_is_in_chinese(client, zhihe):
    response = client.post(FORM_URL, _request(phone="12345"))

    assert "电话号码无效，请检查号码（手机号为 11 位）。" in response.content.decode()
    assert not Ticket.objects.exists()


def test_unserved_area_is_refused_with_its_path(client, yonghe):
    response = client.post(FORM_URL, _request(division="141025"))  # 古县, not served

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="form-errors"' in html
    assert "山西省 临汾市 古县 不在服务区域内" in html
    assert 'data-testid="area-unserved"' in html
    assert not Ticket.objects.exists()
    assert not Customer.objects.exists()


def test_filled_honeypot_pretends_success_and_saves_nothing(client, zhihe):
    response = client.post(FORM_URL, _request(website="http://spam.example"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="request-done"' in html
    assert 'data-testid="ticket-number"' not in html
    assert not Ticket.objects.exists()
    assert not Customer.objects.exists()


def test_open_ticket_for_the_same_address_is_named_instead_of_duplicated(client, ticket_input):
    existing = ticket_create(**ticket_input)

    response = client.post(FORM_URL, _request(address_detail=ticket_input["address_detail"]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="duplicate-ticket"' in html
    assert existing.number in html
    assert list(Ticket.objects.all()) == [existing]


def test_too_many_requests_from_one_ip_are_refused(client, zhihe):
    limit, _window = public.REQUEST_LIMIT_PER_IP
    for i in range(limit):
        assert client.post(FORM_URL, _request(phone=f"1381234567{i}")).status_code == 302

    response = client.post(FORM_URL, _request(phone="13900001111"))

    assert response.status_code == 429
    assert 'data-testid="rate-limited"' in response.content.decode()
    assert Ticket.objects.count() == limit
    # another network is not affected
    assert client.post(FORM_URL, _request(phone="13900001111"), REMOTE_ADDR="10.1.2.3").status_code == 302


def test_too_many_requests_for_one_phone_are_refused(client, zhihe):
    limit, _window = public.REQUEST_LIMIT_PER_PHONE
    for i in range(limit):
        data = _request(phone="138 1234 5678", address_detail=f"建设路 {i} 号")
        assert client.post(FORM_URL, data, REMOTE_ADDR=f"10.0.0.{i}").status_code == 302

    # the same number written another way, from yet another network
    response = client.post(
        FORM_URL, _request(phone="+8613812345678", address_detail="新街 1 号"), REMOTE_ADDR="10.9.9.9"
    )

    assert response.status_code == 429
    assert 'data-testid="rate-limited"' in response.content.decode()
    assert Ticket.objects.count() == limit


def test_invalid_submissions_do_not_use_up_the_limit(client, zhihe):
    limit, _window = public.REQUEST_LIMIT_PER_IP
    for _ in range(limit + 1):
        client.post(FORM_URL, _request(phone="12345"))

    assert client.post(FORM_URL, _request()).status_code == 302


def test_english_page_uses_the_english_strings(client):
    response = client.get(FORM_URL, HTTP_ACCEPT_LANGUAGE="en")

    assert "Request a repair online" in response.content.decode()


# --- status look-up ---


@pytest.fixture
def web_ticket(ticket_input, t0) -> Ticket:
    return ticket_create(**ticket_input, channel=Ticket.Channel.WEB, now=t0)


def test_status_shows_the_ticket_for_the_right_number_and_digits(client, web_ticket):
    response = client.post(STATUS_URL, {"number": web_ticket.number, "phone_last_four": "5678"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="status-label">待派单<' in html
    assert 'data-testid="status-created">2026-11-26 02:00<' in html  # Asia/Shanghai
    assert re.findall(r'data-done="(\d)"', html) == ["1", "0", "0", "0", "0", "0"]
    assert "13812345678" not in html


def test_status_of_a_cancelled_ticket(client, web_ticket):
    ticket_cancel(ticket=web_ticket, by=None, reason="客户取消")

    response = client.post(STATUS_URL, {"number": web_ticket.number, "phone_last_four": "5678"})

    assert 'data-testid="status-label">已取消<' in response.content.decode()


@pytest.mark.parametrize(
    ("number", "digits"),
    [("20261126-0001", "1234"), ("20261126-0999", "5678"), ("20991231-0001", "0000")],
    ids=["wrong-digits", "unknown-number", "both-wrong"],
)
def test_status_wrong_combination_gets_one_generic_answer(client, web_ticket, number, digits):
    response = client.post(STATUS_URL, {"number": number, "phone_last_four": digits})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="not-found"' in html
    assert 'data-testid="ticket-status"' not in html


@pytest.mark.parametrize(
    ("number", "digits", "error_testid"),
    [("2026", "5678", "error-number"), ("20261126-0001", "56", "error-phone_last_four"), ("", "", "error-number")],
)
def test_status_malformed_input_is_explained(client, number, digits, error_testid):
    response = client.post(STATUS_URL, {"number": number, "phone_last_four": digits})

    assert response.status_code == 200
    assert f'data-testid="{error_testid}"' in response.content.decode()


def test_status_form_is_prefilled_from_the_link(client):
    response = client.get(STATUS_URL, {"number": "20261126-0001"})

    assert 'value="20261126-0001"' in response.content.decode()


def test_status_look_ups_are_limited_per_ip(client, web_ticket):
    limit, _window = public.LOOKUP_LIMIT_PER_IP
    for i in range(limit):
        client.post(STATUS_URL, {"number": f"20261126-{i + 100:04d}", "phone_last_four": "0000"})

    response = client.post(STATUS_URL, {"number": web_ticket.number, "phone_last_four": "5678"})

    assert response.status_code == 429
    html = response.content.decode()
    assert 'data-testid="rate-limited"' in html and 'data-testid="ticket-status"' not in html


def test_status_guesses_are_limited_per_ticket_number(client, web_ticket):
    limit, _window = public.LOOKUP_LIMIT_PER_NUMBER
    for i in range(limit):
        client.post(STATUS_URL, {"number": web_ticket.number, "phone_last_four": f"{i:04d}"}, REMOTE_ADDR=f"10.0.1.{i}")

    response = client.post(STATUS_URL, {"number": web_ticket.number, "phone_last_four": "5678"}, REMOTE_ADDR="10.0.2.1")

    assert response.status_code == 429
    assert 'data-testid="ticket-status"' not in response.content.decode()


# --- area type-ahead ---


def test_area_search_lists_only_counties_and_towns_and_marks_served(client, yonghe):
    response = client.get(AREAS_URL, {"q": "永和"})

    assert response.status_code == 200
    html = response.content.decode()
    found = dict(re.findall(r'data-code="(\d+)" data-path="[^"]*" data-served="(\d)"', html))
    assert found["141032"] == "1"
    levels = set(Division.objects.filter(code__in=found).values_list("level", flat=True))
    assert levels <= {Division.Level.COUNTY, Division.Level.TOWNSHIP}
    served = {code for code, flag in found.items() if flag == "1"}
    assert served == {code for code in found if code.startswith("141032")}
    assert len(found) > len(served)  # other places called 永和 are listed as not served


def test_area_search_leaves_out_prefectures(client, yonghe):
    response = client.get(AREAS_URL, {"q": "临汾"})

    codes = re.findall(r'data-code="(\d+)"', response.content.decode())
    assert codes
    assert "141000" not in codes


def test_area_search_with_an_empty_or_overlong_query(client):
    assert 'data-testid="area-results"' not in client.get(AREAS_URL, {"q": " "}).content.decode()
    assert client.get(AREAS_URL, {"q": "永" * 500}).status_code == 200


def test_area_search_is_rate_limited(client, monkeypatch):
    monkeypatch.setattr(public, "SEARCH_LIMIT_PER_IP", (2, 60))
    for _ in range(2):
        assert client.get(AREAS_URL, {"q": "永和"}).status_code == 200

    response = client.get(AREAS_URL, {"q": "永和"})

    assert response.status_code == 429
    assert 'data-testid="area-rate-limited"' in response.content.decode()
