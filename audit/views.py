import csv

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.roles import Role
from accounts.views import role_required
from audit.forms import AccessLogSearchForm
from audit.selectors import access_log_list
from audit.services import access_log_export


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(rows):
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel opens UTF-8 CSV correctly only with a byte-order mark
    yield writer.writerow([_("Time"), _("User"), _("Kind"), _("Ticket"), _("Province"), _("Detail")])
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                timezone.localtime(row.at).strftime("%Y-%m-%d %H:%M:%S"),
                row.username,
                row.get_kind_display(),
                row.ticket_number,
                row.province_code,
                row.detail,
            ]
        )


@require_GET
@role_required(Role.MANAGER)
def access_log(request):
    """Search who saw which customer's data; ?export=csv downloads the result (and is itself logged)."""
    form = AccessLogSearchForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/access_log.html", {"form": form, "page": None}, status=400)
    data = form.cleaned_data
    rows = access_log_list(
        user=request.user,
        username=data["user"],
        phone=data["phone"],
        ticket_number=data["ticket"],
        kind=data["kind"],
        start=data["start"],
        end=data["end"],
    )
    query = request.GET.copy()
    query.pop("export", None)
    query.pop("page", None)
    if request.GET.get("export") == "csv":
        # The filters are logged without the phone number itself: the log must not become a list of numbers.
        logged = query.copy()
        if logged.get("phone"):
            logged["phone"] = "***"
        access_log_export(by=request.user, name="access-log", query=logged.urlencode())
        response = StreamingHttpResponse(_csv_rows(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="access-log.csv"'
        return response
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(request, "audit/access_log.html", {"form": form, "page": page, "query": query.urlencode()})


def lockout(request, original_response=None, credentials=None) -> HttpResponse:
    """The page shown while a username is locked out from this address after too many failed sign-ins (axes)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "audit/lockout.html", {"cooloff_minutes": minutes}, status=429)
