import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import Role
from accounts.views import role_required
from audit.services import access_log_export
from dashboard.exceptions import NotABreach, RegionNotAllowed
from dashboard.forms import BreachReviewForm, DrillForm, PeriodForm
from dashboard.models import TICKET_CLOCKS, BreachReason
from dashboard.selectors import (
    BREAKDOWNS,
    FIGURES,
    backlog_now,
    breach_list,
    breach_list_attach,
    breakdown,
    clock_summary,
    complaint_clock_summary,
    complaint_map_for_tickets,
    complaints_escalated_count,
    deadline_is_visible,
    region_breadcrumbs,
    region_list_choices,
    rollup_ran_at,
    scope_for,
    staffing_by_hour,
    technician_list_for_scope,
    technician_report,
    tick_alarm,
    ticket_count_for_figure,
    ticket_list_for_figure,
    ticket_summary,
)
from dashboard.services import breach_review_set
from dispatch.models import Technician
from sla.models import Deadline, DeadlineKind

MANAGERS = (Role.MANAGER,)  # administrators are let in by role_required too
# The home page lists at most this many technicians (most response breaches first); the CSV export has all of them.
TECHNICIAN_ROWS = 50
# Breach review rows per page: each row carries its own review form; the 500 rows on one page took ~300 ms to render
# at 1M tickets (bench/dashboard.py), 50 take ~40 ms.
BREACHES_PER_PAGE = 50


class CappedPaginator(Paginator):
    """Takes the count from the rollup when it is known, else counts at most `cap` rows: a drill-down over a national
    month holds 500k tickets, and counting them cost more than the page itself (bench/dashboard.py). Past the cap the
    page says "more than N" and stops at page cap/size."""

    cap = 10_000

    def __init__(self, object_list, per_page, *, known_count: int | None = None):
        super().__init__(object_list, per_page)
        self.known_count = known_count

    @cached_property
    def counted(self) -> int:
        if self.known_count is not None:
            return self.known_count
        # Without the ORDER BY: counting the first rows in any order needs no sort of the whole period.
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return self.counted if self.known_count is not None else min(self.counted, self.cap)

    @property
    def is_capped(self) -> bool:
        return self.known_count is None and self.counted > self.cap

    def page(self, number):
        """Skip to the page on the narrow fact rows alone, then load the shown rows with their joins: an OFFSET over
        the joined query joined every skipped row too (page 50: 136 -> 30 ms)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = list(self.object_list.values_list("pk", flat=True)[bottom : min(bottom + self.per_page, self.count)])
        return self._get_page(list(self.object_list.filter(pk__in=ids)), number, self)


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    """A CSV download Excel opens correctly in Chinese: UTF-8 with a byte-order mark."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def _scope(request):
    """The period and region from the query string, checked against the user's provinces: (scope, form, error page).
    A bad period is a 400; a region outside the user's provinces is a 403."""
    form = PeriodForm(request.GET)
    if not form.is_valid():
        error = " ".join(form.non_field_errors()) or _("Check the period.")
        return None, form, render(request, "dashboard/error.html", {"error": error}, status=400)
    data = form.cleaned_data
    try:
        scope = scope_for(user=request.user, start=data["start"], end=data["end"], region_code=data["region"])
    except RegionNotAllowed as error:
        return None, form, _forbidden(request, str(error.message))
    return scope, form, None


def _query(scope, **extra) -> str:
    params = {"start": scope.start.isoformat(), "end": scope.end.isoformat()}
    if scope.region is not None:
        params["region"] = scope.region.code
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urlencode(params)


def _bars(rows: list[dict], value: str, height: int = 120) -> list[dict]:
    """Bar geometry for a server-drawn SVG chart: one bar per row, scaled to the largest value."""
    top = max((row[value] or 0 for row in rows), default=0) or 1
    return [
        {
            **row,
            "bar_height": round((row[value] or 0) * height / top, 1),
            "bar_y": height - (row[value] or 0) * height / top,
        }
        for row in rows
    ]


def _forbidden(request, error: str):
    return render(request, "dashboard/error.html", {"error": error}, status=403)


@role_required(*MANAGERS)
def home(request):
    """The SLA dashboard for a period and region: clocks, counts, backlog, breakdowns and staffing; ?export= a CSV."""
    scope, form, error = _scope(request)
    if scope is None:
        return error
    now = timezone.now()
    export = request.GET.get("export", "")
    if export == "clocks":
        rows = clock_summary(scope=scope) + complaint_clock_summary(scope=scope)
        access_log_export(by=request.user, name=export, query=request.GET.urlencode(), scope=scope)
        return _csv(
            "clocks",
            [_("Clock"), _("Met"), _("Breached"), _("Met %"), _("Warned"), _("p50 (min)"), _("p90 (min)")],
            [
                [
                    r["label"],
                    r["met"],
                    r["breached"],
                    r["share_met"],
                    r["warned"],
                    _minutes(r["p50"]),
                    _minutes(r["p90"]),
                ]
                for r in rows
            ],
        )
    if export in BREAKDOWNS:
        rows = breakdown(scope=scope, by=export)
        access_log_export(by=request.user, name=export, query=request.GET.urlencode(), scope=scope)
        return _csv(
            f"by-{export}",
            [export, _("Tickets"), _("Response met"), _("Response breached"), _("Met %"), _("p50 response (min)")],
            [
                [r["label"], r["tickets"], r["response_met"], r["response_breached"], r["share_met"],
                 _minutes(r["response_p50"])]
                for r in rows
            ],
        )  # fmt: skip
    if export == "staffing":
        rows = staffing_by_hour(scope=scope)
        access_log_export(by=request.user, name=export, query=request.GET.urlencode(), scope=scope)
        return _csv(
            "staffing", [_("Hour"), _("On duty"), _("Needed")], [[r["hour"], r["on_duty"], r["needed"]] for r in rows]
        )
    by_day = breakdown(scope=scope, by="day")
    by_hour = breakdown(scope=scope, by="hour")
    staffing = staffing_by_hour(scope=scope)
    context = {
        "form": form,
        "scope": scope,
        "query": _query(scope),
        "crumbs": region_breadcrumbs(scope=scope),
        "children": region_list_choices(scope=scope),
        "clocks": clock_summary(scope=scope) + complaint_clock_summary(scope=scope),
        "totals": ticket_summary(scope=scope),
        "backlog": backlog_now(scope=scope, now=now),
        "by_region": breakdown(scope=scope, by="region"),
        "by_technician": breakdown(scope=scope, by="technician", limit=TECHNICIAN_ROWS),
        "technician_rows": TECHNICIAN_ROWS,
        "by_day": _bars(by_day, "tickets"),
        "by_hour": _bars(by_hour, "tickets"),
        "staffing": staffing,
        "staffing_top": max([max(r["on_duty"], r["needed"]) for r in staffing] + [1]),
        "alarm": tick_alarm(now=now),
        "escalated_complaints": complaints_escalated_count(scope=scope),
        "rollup_ran_at": rollup_ran_at(),
    }
    return render(request, "dashboard/home.html", context)


def _local(moment) -> str:
    return "" if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _ticket_row(fact) -> list:
    ticket = fact.ticket
    return [
        ticket.number,
        _local(fact.created_at),
        ticket.division.full_name,
        fact.technician.name if fact.technician else "",
        ticket.get_status_display(),
        fact.response_state,
        fact.arrival_state,
        fact.resolution_state,
        _minutes(fact.paused_seconds),
    ]


def _minutes(seconds) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


@role_required(*MANAGERS)
def tickets(request):
    """The tickets behind one number on the dashboard; ?export=csv downloads them."""
    scope, form, error = _scope(request)
    drill = DrillForm(request.GET)
    if scope is None:
        return error
    if not drill.is_valid() or (drill.cleaned_data["figure"] or "all") not in FIGURES:
        return HttpResponseBadRequest(_("Unknown figure."))
    d = drill.cleaned_data
    selection = {
        "scope": scope,
        "figure": d["figure"] or "all",
        "day": d["day"],
        "hour": d["hour"],
        "technician_id": d["technician"],
        "key": d["key"],
    }
    facts = ticket_list_for_figure(**selection)
    if request.GET.get("export") == "csv":
        access_log_export(by=request.user, name="tickets", query=request.GET.urlencode(), scope=scope)
        return _csv(
            "tickets",
            [_("Ticket"), _("Created"), _("Region"), _("Technician"), _("Status"), *TICKET_CLOCKS, _("Paused (min)")],
            (_ticket_row(fact) for fact in facts.iterator(chunk_size=2000)),
        )
    known = ticket_count_for_figure(**selection)
    page = CappedPaginator(facts, 100, known_count=known).get_page(request.GET.get("page"))
    if (d["figure"] or "").startswith("complaint"):
        complaints = complaint_map_for_tickets(ticket_ids=[fact.ticket_id for fact in page])
        for fact in page:
            fact.complaint_list = complaints.get(fact.ticket_id, [])
    context = {
        "scope": scope,
        "form": form,
        "page": page,
        "figure": selection["figure"],
        "query": _query(
            scope, figure=d["figure"], day=d["day"], hour=d["hour"], technician=d["technician"], key=d["key"]
        ),
        "back": _query(scope),
    }
    return render(request, "dashboard/tickets.html", context)


@role_required(*MANAGERS)
def breaches(request):
    """Every breach in scope with its ticket, clock, how late and the reason a manager set; ?export=csv."""
    scope, form, error = _scope(request)
    if scope is None:
        return error
    now = timezone.now()
    kind = request.GET.get("kind", "") if request.GET.get("kind", "") in TICKET_CLOCKS else ""
    reason = request.GET.get("reason", "")
    reason = reason if reason == "none" or reason in BreachReason.values else ""
    rows = breach_list(scope=scope, now=now, kind=kind, reason=reason, attach=False)
    if request.GET.get("export") == "csv":
        rows = breach_list_attach(breaches=rows)
        access_log_export(by=request.user, name="breaches", query=request.GET.urlencode(), scope=scope)
        return _csv(
            "breaches",
            [_("Ticket"), _("Clock"), _("Due"), _("Late (min)"), _("Met"), _("Reason"), _("Note")],
            [
                [b.ticket.number if b.ticket else b.subject_id, b.get_kind_display(),
                 timezone.localtime(b.due_at).strftime("%Y-%m-%d %H:%M"), _minutes(b.late.total_seconds()),
                 "" if b.met_at is None else timezone.localtime(b.met_at).strftime("%Y-%m-%d %H:%M"),
                 b.review.get_reason_display() if b.review else "", b.review.note if b.review else ""]
                for b in rows
            ],
        )  # fmt: skip
    page = Paginator(rows, BREACHES_PER_PAGE).get_page(request.GET.get("page"))
    breach_list_attach(breaches=page.object_list)
    context = {
        "scope": scope,
        "form": form,
        "rows": page,
        "page": page,
        "kind": kind,
        "reason": reason,
        "kinds": [(k, DeadlineKind(k).label) for k in TICKET_CLOCKS],
        "reasons": BreachReason.choices,
        "query": _query(scope, kind=kind, reason=reason),
        "back": _query(scope),
        "alarm": tick_alarm(now=now),
    }
    return render(request, "dashboard/breaches.html", context)


@require_POST
@role_required(*MANAGERS)
def breach_review(request, deadline_id: int):
    """Set why a breach happened, then go back to the breach list."""
    deadline = get_object_or_404(Deadline, pk=deadline_id)
    form = BreachReviewForm(request.POST)
    back = reverse("dashboard:breaches") + "?" + request.POST.get("back", "")
    if not form.is_valid():
        messages.error(request, _("Choose one of the reasons."))
        return redirect(back)
    # A regional manager may only review breaches of their provinces' tickets.
    if not deadline_is_visible(user=request.user, deadline=deadline):
        return _forbidden(request, _("You may only review breaches in the provinces you manage."))
    try:
        breach_review_set(
            deadline=deadline, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"], by=request.user
        )
    except NotABreach as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Reason saved."))
    return redirect(back)


@role_required(*MANAGERS)
def technician(request, pk: int):
    """One technician's period beside the median peer in the same region and period."""
    scope, form, error = _scope(request)
    if scope is None:
        return error
    person = get_object_or_404(Technician, pk=pk)
    context = {
        "scope": scope,
        "form": form,
        "person": person,
        "report": technician_report(technician=person, scope=scope),
        "technicians": technician_list_for_scope(scope=scope),
        "query": _query(scope),
        "drill": _query(scope, technician=person.pk),
    }
    return render(request, "dashboard/technician.html", context)
