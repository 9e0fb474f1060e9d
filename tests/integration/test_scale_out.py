"""Two web processes and two workers on one machine, against one PostgreSQL and one Redis (docs/scaling.md):
operators create tickets through both webs at once, technicians accept offers through both — each offer twice, at
the same moment, once through each web — while the SLA tick fires warnings and breaches. No ticket is taken twice,
no clock fires twice, every ticket is dispatched."""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.db.models import Count

from dispatch.models import Offer, Ticket, TicketEvent
from regions.models import Division, ServiceArea
from sla.models import Deadline, DeadlineKind, Outbox, PolicyTarget
from tests.dispatch.factories import TechnicianFactory, skill

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_broker]

TICKETS = 24
TECHNICIANS = 8  # capacity 3 each: room for every ticket


def _wait_for(condition, *, seconds: float, what: str) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, what
        time.sleep(0.5)


def _logged_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/login/", timeout=10)
    response = session.post(
        f"{base}/login/",
        data={"username": username, "password": "pw-for-tests", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    assert response.ok and "sessionid" in session.cookies, username
    return session


def _post(session: requests.Session, base: str, path: str, data: dict | None = None) -> requests.Response:
    return session.post(
        f"{base}{path}",
        data={**(data or {}), "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}{path}"},
        timeout=30,
    )


def test_two_webs_and_two_workers_never_double_an_offer_or_a_deadline(fleet, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    county = Division.objects.get(code="141032")
    technicians = [
        TechnicianFactory(coverage=[county], skills=[skill("biometric")], capacity=3) for _ in range(TECHNICIANS)
    ]
    # Response clocks that warn after 4 s and breach after 8 s: every ticket's clock fires both while the run is on.
    PolicyTarget.objects.filter(kind=DeadlineKind.RESPONSE).update(
        target=timedelta(seconds=8), warning_lead=timedelta(seconds=4)
    )
    webs = [fleet.start_web("web-1"), fleet.start_web("web-2")]
    fleet.start("worker")
    fleet.start("worker", as_name="worker-2")
    fleet.start("tick")
    fleet.start("beat")

    # Operators on both webs create the tickets concurrently (distinct callers: no duplicate-ticket question).
    operators = [_logged_in(base, operator.username) for base in webs]

    def create(i: int) -> str:
        base, session = webs[i % 2], operators[i % 2]
        response = _post(
            session,
            base,
            "/dispatch/console/",
            {
                "phone": f"1381234{i:04d}",
                "division": "141032100",
                "address_detail": f"建设路 {i} 号",
                "category": "biometric",
            },
        )
        match = re.search(r"/dispatch/tickets/([^/]+)/$", response.url)
        assert response.ok and match, response.text[-2000:]
        return match.group(1)

    with ThreadPoolExecutor(8) as pool:
        numbers = set(pool.map(create, range(TICKETS)))
    assert len(numbers) == TICKETS

    # Each technician polls through one web and accepts every offer twice at once, through both webs.
    sessions = {t.pk: [_logged_in(base, t.user.username) for base in webs] for t in technicians}

    def accept_offers_of(technician) -> int:
        poller = sessions[technician.pk][technician.pk % 2]
        page = poller.get(f"{webs[technician.pk % 2]}/tech/live", timeout=30)
        assert page.ok
        offers = set(re.findall(r'data-offer="(\d+)"', page.text))
        for offer_id in offers:
            path = f"/tech/offers/{offer_id}/accept"
            with ThreadPoolExecutor(2) as both:
                answers = [
                    both.submit(_post, session, base, path)
                    for base, session in zip(webs, sessions[technician.pk], strict=True)
                ]
            assert all(answer.result().status_code < 500 for answer in answers)
        return len(offers)

    def all_dispatched() -> bool:
        with ThreadPoolExecutor(TECHNICIANS) as pool:
            list(pool.map(accept_offers_of, technicians))
        return Ticket.objects.filter(number__in=numbers, technician__isnull=False).count() == TICKETS

    _wait_for(all_dispatched, seconds=180, what="not every ticket was dispatched and accepted")
    # Every response clock has had time to warn and breach (nobody marked "responded"); let the outbox drain.
    response_clocks = Deadline.objects.filter(kind=DeadlineKind.RESPONSE)
    _wait_for(
        lambda: (
            response_clocks.filter(state="breached").count() == TICKETS
            and not Outbox.objects.filter(sent_at__isnull=True).exists()
        ),
        seconds=120,
        what="the response clocks did not all breach, or SLA events stayed undelivered",
    )

    # No ticket got two accepted offers; each is with the technician whose offer was accepted.
    accepted = Offer.objects.filter(ticket__number__in=numbers, outcome="accepted")
    assert accepted.count() == TICKETS
    assert not accepted.values("ticket").annotate(n=Count("pk")).filter(n__gt=1).exists()
    for offer in accepted.select_related("ticket"):
        assert offer.ticket.technician_id == offer.technician_id
        assert offer.ticket.status == "accepted"
    # No technician holds more than their capacity.
    held = Ticket.objects.filter(number__in=numbers).values("technician").annotate(n=Count("pk"))
    assert max(row["n"] for row in held) <= 3
    # Each response clock fired one warning and one breach, each recorded on the ticket's timeline exactly once.
    for clock in response_clocks:
        assert sorted(clock.outbox.values_list("event", flat=True)) == ["breach", "warning"]
    fired = TicketEvent.objects.filter(kind=TicketEvent.Kind.SLA, data__clock="response")
    assert fired.count() == 2 * TICKETS
    assert not fired.values("data__outbox").annotate(n=Count("pk")).filter(n__gt=1).exists()

    # And the work really was shared: both webs served technicians, both workers ran tasks.
    def log_of(key: str) -> str:
        logs = [log for log in fleet.logs if re.fullmatch(rf"{key}-\d+\.log", log.name)]
        return "".join(log.read_text(errors="replace") for log in logs)

    assert "/tech/offers/" in log_of("web-1") and "/tech/offers/" in log_of("web-2")
    assert "succeeded" in log_of("worker") and "succeeded" in log_of("worker-2")
