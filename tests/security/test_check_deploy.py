"""`manage.py check --deploy` passes with the production environment (docs/security.md, .env.example)."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-5Jq8w0-zR3xK9mT2vB7nL4cY6hP1sD",
    "DJANGO_ALLOWED_HOSTS": "dispatch.example.cn",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://dispatch.example.cn",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_BEHIND_PROXY": "1",
    "DJANGO_PROXY_COUNT": "1",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_HSTS_PRELOAD": "1",
}


def _check(**overrides) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION, **overrides}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests' event loop, never in production
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = _check()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_check_catches_plain_http():
    # the test above could not fail if the check itself were not run: without HTTPS settings it must complain
    result = _check(DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_HSTS_SECONDS="0", DJANGO_SECURE_COOKIES="0")

    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout  # SECURE_SSL_REDIRECT
    assert "security.W004" in result.stderr + result.stdout  # HSTS
