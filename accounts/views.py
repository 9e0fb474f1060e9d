from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.roles import ROLE_SCREENS, Role, user_roles
from regions.selectors import division_list_search, served_codes


def role_required(*allowed: str):
    """Let in users holding one of the `allowed` roles (administrators may open every screen); others get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated and request.headers.get("HX-Request"):
                # A polling fragment (board, offers) whose session ran out: have htmx load the login page as a
                # whole page, instead of swapping the login form into the table.
                page = urlsplit(request.headers.get("HX-Current-URL", "/"))
                back = page.path + (f"?{page.query}" if page.query else "")
                login = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"
                return HttpResponse(status=204, headers={"HX-Redirect": login})
            return _authenticated(request, *args, **kwargs)

        @login_required
        def _authenticated(request, *args, **kwargs):
            roles = user_roles(request.user)
            if roles.isdisjoint(allowed) and Role.ADMIN not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@login_required
def home(request):
    """Send each user to their role's screen; offer a choice to users with several roles."""
    roles = [role for role in Role.ALL if role in user_roles(request.user)]
    if len(roles) == 1:
        return redirect(ROLE_SCREENS[roles[0]])
    screens = [(Role.LABELS[role], reverse(ROLE_SCREENS[role])) for role in roles]
    return render(request, "accounts/home.html", {"screens": screens}, status=200 if roles else 403)


def _pending(request, *, title, description, extra=None):
    context = {"title": title, "description": description, **(extra or {})}
    return render(request, "accounts/pending_screen.html", context)


@role_required(Role.OPERATOR)
def console(request):
    """The operator's screen; until the ticket console lands it offers the service-area check."""
    return render(request, "accounts/console.html")


@require_GET
@role_required(Role.OPERATOR)
def region_lookup(request):
    """HTML fragment of type-ahead results for the service-area check."""
    query = request.GET.get("q", "").strip()[:40]
    divisions = division_list_search(query=query) if query else []
    return render(
        request,
        "regions/_search_results.html",
        {"query": query, "divisions": divisions, "served": served_codes(divisions=divisions)},
    )
