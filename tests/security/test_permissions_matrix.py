"""Every route × method × role against tests/security/matrix.py, generated from the URLconf (see that module)."""

import re
import uuid

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from tests.security.conftest import photo
from tests.security.matrix import (
    ANONYMOUS,
    DENIED,
    FORBIDDEN,
    KNOWN_BUGS,
    LOGIN,
    MATRIX,
    NOT_FOUND,
    OBJECT_CASES,
    OK,
    ROLES,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
NO_SUCH_ROW = 987654321


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


def routes() -> list[tuple[str, str, object]]:
    """(matrix key, path pattern, view) for every route but the Django admin's (a block of its own below)."""
    found = []
    for path, name, view in _walk(get_resolver().url_patterns):
        if path.startswith("admin/"):
            continue
        found.append((name or path, path, view))
    return found


def _declared_methods(view) -> list[str] | None:
    """A class-based view's methods, or None for a function view (probed instead)."""
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if view_class is None:
        return None
    methods = [
        m.upper() for m in view_class.http_method_names if m not in ("options", "head") and hasattr(view_class, m)
    ]
    return methods or None  # a catch-all answering every method itself (api:not-found) is probed too


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def _parameters(name: str) -> list[str]:
    path = next(path for key, path, _view in routes() if key == name)
    return [a or b for a, b in PARAMETER.findall(path)]


def _kwargs(name: str, world, user, variant: str) -> dict:
    """The URL arguments for a route: the World's own object, or someone else's for variant "other"."""
    other = variant == "other"
    kwargs = {}
    for parameter in _parameters(name):
        if parameter == "number":
            if name == "api:complaint":
                kwargs["number"] = world.complaint.number
            elif name == "complaints:file":
                kwargs["number"] = world.complaint.ticket.number
            elif name in ("api:ticket-accept", "api:ticket-decline"):
                kwargs["number"] = (world.other_offer if other else world.offer).ticket.number
            else:
                kwargs["number"] = (world.other_job if other else world.job).number
        elif parameter == "action":
            kwargs["action"] = "approve" if name == "complaints:approval" else "cancel"
        elif parameter == "offer_id":
            kwargs["offer_id"] = (world.other_offer if other else world.offer).pk
        elif parameter == "deadline_id":
            kwargs["deadline_id"] = (world.other_deadline if other else world.deadline).pk
        elif parameter == "media_id":
            kwargs["media_id"] = world.media.pk
        elif parameter == "token":
            media = world.other_media if other else world.media
            kwargs["token"] = world.media_token(media, user) if name == "files:open" else "forged-link"
        elif parameter in ("pk", "id"):
            complaint = world.other_complaint if other else world.complaint
            if name.startswith("complaints:evidence"):
                kwargs[parameter] = world.evidence.pk
            elif name in ("complaints:close-request", "complaints:approval", "api:call-recording"):
                kwargs[parameter] = NO_SUCH_ROW
            elif name == "dashboard:technician":
                kwargs[parameter] = world.wang.pk
            elif name == "complaint_public:ticket":
                kwargs[parameter] = complaint.ticket_id
            else:
                kwargs[parameter] = complaint.pk
        else:
            raise AssertionError(f"{name}: teach _kwargs() which object its <{parameter}> names")
    return kwargs


def _data(name: str, variant: str) -> dict:
    if name == "dashboard:breach-review":
        return {"reason": "system", "note": ""}  # a valid review: the province check comes after the form
    # valid input, so that what decides the answer is whose offer or job it is
    if name == "api:ticket-decline":
        return {"reason": "太远了"}
    if name == "api:ticket-complete":
        return {"work_done": "更换指纹模块", "labour_fee": "80"}
    if name == "files:upload":
        # A complete, valid upload: what decides the answer is who sends it for which job.
        return {"client_id": str(uuid.uuid4()), "kind": "photo_before", "file": photo()}
    return {}


def _request(client: Client, method: str, url: str, data: dict):
    if method == "GET":
        return client.get(url)
    if method == "POST" and url.startswith("/api/v1/"):
        return client.post(url, data, content_type="application/json")  # the API parses JSON only (else 415)
    if method == "POST":
        return client.post(url, data)
    return client.generic(method, url, b"", content_type="application/json")


def outcome_of(response) -> str:
    status = response.status_code
    if status in (301, 302, 303) and response["Location"].split("?")[0].endswith(("/login/", "/admin/login/")):
        return LOGIN
    if status in (401, 403):
        # A signed-in user gets 403; without credentials an API answers 401 or 403.
        return FORBIDDEN if status == 403 else DENIED
    if status == 404:
        return NOT_FOUND
    if status == 503 and response.get("Content-Type", "").startswith("application/json"):
        return OK  # /healthz answers 503 while no SLA tick runs (as here): an answer, not a refusal
    if status == 405 or status >= 500:
        return f"status {status}"
    return OK


def _check(client, world, name: str, method: str, variant: str, role: str, expected: str) -> None:
    user = None if role == ANONYMOUS else world.users[role]
    if user is not None:
        client.force_login(user)
    url = reverse(name, kwargs=_kwargs(name, world, user, variant))
    got = outcome_of(_request(client, method, url, _data(name, variant)))
    if expected == DENIED and got == FORBIDDEN:
        got = DENIED
    assert got == expected, f"{method} {url} as {role} ({variant} objects): expected {expected}, got {got}"


def test_every_route_is_in_the_matrix():
    missing = sorted({key for key, _path, _view in routes()} - set(MATRIX))
    assert not missing, f"routes without a permissions decision — add them to tests/security/matrix.py: {missing}"


def test_the_matrix_names_only_routes_that_exist():
    assert set(MATRIX) - {key for key, _path, _view in routes()} == set()


def test_every_method_a_view_accepts_is_in_the_matrix(client, world):
    # Function views are probed as the administrator (405 = refused); class-based views list their methods.
    client.force_login(world.users["admin"])
    client.raise_request_exception = False  # a view's 500 (KNOWN_BUGS) still shows it accepts the method
    accepted_by_route = {}
    for key, _path, view in routes():
        declared = _declared_methods(view)
        if declared is not None:
            accepted_by_route[key] = set(declared) & set(METHODS)
            continue
        url = reverse(key, kwargs=_kwargs(key, world, world.users["admin"], "own"))
        accepted_by_route[key] = {
            method for method in ("GET", "POST") if _request(client, method, url, _data(key, "own")).status_code != 405
        }
    wrong = {
        key: {"accepted": sorted(accepted), "in matrix": sorted(MATRIX.get(key, {}))}
        for key, accepted in accepted_by_route.items()
        if accepted != set(MATRIX.get(key, {}))
    }
    assert not wrong, f"methods the views accept differ from the matrix — update tests/security/matrix.py: {wrong}"


def _route_cases():
    for name, methods in sorted(MATRIX.items()):
        for role in ROLES:
            bugs = [KNOWN_BUGS[name, method] for method in methods if (name, method) in KNOWN_BUGS]
            marks = [pytest.mark.xfail(reason=bugs[0], strict=True)] if bugs and role in ("operator", "admin") else []
            yield pytest.param(name, role, id=f"{name}-{role}", marks=marks)


@pytest.mark.parametrize(("name", "role"), list(_route_cases()))
def test_route(client, world, name, role):
    for method, outcomes in MATRIX[name].items():
        _check(client, world, name, method, "own", role, outcomes[role])


@pytest.mark.parametrize(
    ("name", "method", "variant", "role", "expected"),
    [
        pytest.param(name, method, variant, role, outcomes[role], id=f"{name}-{method}-{variant}-{role}")
        for name, method, variant, outcomes in OBJECT_CASES
        for role in ROLES
    ],
)
def test_someone_elses_object(client, world, name, method, variant, role, expected):
    _check(client, world, name, method, variant, role, expected)


@pytest.mark.parametrize("role", ROLES)
def test_admin_is_staff_only(client, world, role):
    """The whole admin: anonymous and non-staff users go to the admin login; the administrator role gets in."""
    user = None if role == ANONYMOUS else world.users[role]
    if user is not None:
        client.force_login(user)
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]
    for url in urls:
        response = client.get(url)
        if role == "admin":
            # In: the index, and each list as the role's model permissions say (403 without view permission).
            assert response.status_code in (200, 403), url
            assert outcome_of(response) != LOGIN, url
        else:
            assert outcome_of(response) == LOGIN, f"{url} as {role}"
    assert client.get(reverse("admin:index")).status_code == (200 if role == "admin" else 302)


def test_public_status_needs_number_and_last_four_digits(client, world):
    ticket = world.job  # the customer's phone is 13812345678
    url = reverse("public:status")

    wrong = client.post(url, {"number": ticket.number, "phone_last_four": "0000"})
    right = client.post(url, {"number": ticket.number, "phone_last_four": "5678"})

    assert wrong.status_code == 200 and wrong.context["ticket"] is None
    assert right.status_code == 200 and right.context["ticket"].pk == ticket.pk


def test_public_complaint_pages_open_after_proving_the_ticket(client, world):
    complaint = world.complaint
    page = reverse("complaint_public:ticket", kwargs={"pk": complaint.ticket_id})
    assert client.get(page).status_code == 404

    client.post(
        reverse("complaint_public:lookup"), {"number": complaint.ticket.number, "phone": "13512345678"}, follow=False
    )

    assert client.get(page).status_code == 200
