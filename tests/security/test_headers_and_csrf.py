"""Security headers, the Content-Security-Policy, no inline script in any template, CSRF on every form."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLResolver, get_resolver, reverse

# The project's templates and its apps' own (never the virtualenv's: the Django admin's are Django's business).
TEMPLATES = sorted(
    {*Path(settings.BASE_DIR, "templates").rglob("*.html"), *Path(settings.BASE_DIR).glob("[!.]*/templates/**/*.html")}
)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\s(?:on[a-z]+|hx-on[:\w-]*)\s*=", re.I)
POST_FORM = re.compile(r"<form\b[^>]*method=[\"']post[\"'][^>]*>(.*?)</form>", re.I | re.S)
# Views that skip Django's CSRF middleware, and why: each must check the token itself or take no cookie auth.
CSRF_EXEMPT_ALLOWED = {
    "dispatch.media_views.upload",  # checks the token in _upload, after refusing an oversized body unread
}


def _csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("url", ["/login/", "/request/", "/complaint/"])
def test_pages_carry_the_security_headers(client, db, url):
    response = client.get(url)

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Permissions-Policy"].startswith("camera=(), microphone=(), geolocation=()")


def test_the_csp_allows_only_our_own_scripts(client, db):
    csp = _csp(client.get("/login/"))

    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_the_technician_pages_may_use_camera_microphone_and_location(client, wang):
    client.force_login(wang.user)

    policy = client.get(reverse("technician:home"))["Permissions-Policy"]

    assert "camera=(self)" in policy and "microphone=(self)" in policy and "geolocation=(self)" in policy


def test_a_private_file_keeps_its_own_stricter_policy(client, db):
    # views that serve uploads set a sandboxing CSP; the middleware must not replace it
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse
    from django.test import RequestFactory

    request = RequestFactory().get("/files/x/")
    response = HttpResponse()
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"

    assert CSPMiddleware(lambda r: response)(request)["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_no_template_has_inline_script_or_handlers(template):
    source = template.read_text()

    assert not INLINE_SCRIPT.search(source), "move the script into static/js/ (the CSP blocks inline scripts)"
    assert not INLINE_HANDLER.search(source), "use an event listener in static/js/ (the CSP blocks inline handlers)"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_every_post_form_carries_the_csrf_token(template):
    for body in POST_FORM.findall(template.read_text()):
        assert "{% csrf_token %}" in body


def _views(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        else:
            yield pattern.callback


def test_only_known_views_skip_the_csrf_check():
    exempt = set()
    for view in _views(get_resolver().url_patterns):
        if getattr(view, "csrf_exempt", False):
            view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
            # DRF views are exempt from the middleware but enforce CSRF for session users themselves
            if view_class is not None and any(c.__module__.startswith("rest_framework") for c in view_class.__mro__):
                continue
            exempt.add(f"{view.__module__}.{view.__name__}")

    assert exempt <= CSRF_EXEMPT_ALLOWED, f"csrf_exempt views: {exempt - CSRF_EXEMPT_ALLOWED}"


def test_a_form_post_without_the_token_is_refused(db, operator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 403


def test_htmx_is_configured_for_the_csp():
    base = Path(settings.BASE_DIR, "templates", "base.html").read_text()

    assert '<meta name="htmx-config" content=\'{"allowEval": false, "includeIndicatorStyles": false}\'>' in base
