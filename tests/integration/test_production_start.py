"""README's production section, run: devtools/production.py against a scratch database and a private Redis on
loopback, then what a load balancer, a browser and a log collector see."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from devtools.embedded import scratch_database

pytestmark = pytest.mark.real_broker


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - http://127.0.0.1 only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


@pytest.fixture
def production(redis_url, tmp_path):
    """The app started by devtools/production.py on a free loopback port; yields (base URL, its output file)."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": scratch_database(os.environ["DATABASE_URL"], "production"),
        "REDIS_URL": redis_url,
        "VAR_DIR": str(tmp_path),
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "CELERY_CONCURRENCY": "1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain http on loopback (no TLS-terminating proxy in front here)
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    for name in ("DJANGO_DEBUG", "LOG_FORMAT", "DJANGO_STATICFILES_BACKEND"):
        env.pop(name, None)  # the script's production defaults, not the test run's
    output = tmp_path / "production.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "devtools" / "production.py")],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        give_up = time.monotonic() + 180  # bootstrap loads the national division catalogue first
        status = None
        while status != 200:
            assert process.poll() is None, output.read_text(errors="replace")[-4000:]
            assert time.monotonic() < give_up, f"/healthz never answered 200 (last {status})"
            time.sleep(1)
            try:
                status, _, _ = _get(f"{base}/healthz")
            except OSError:
                status = None
        yield base, output
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        print(output.read_text(errors="replace")[-6000:])  # shown only when the test failed


def test_the_production_start_serves_health_static_files_chinese_pages_and_json_logs(production):
    base, output = production

    status, _, body = _get(f"{base}/healthz")
    assert status == 200
    assert {name for name, check in json.loads(body)["checks"].items() if check["ok"]} >= {"database", "redis"}

    # The login page, in Chinese by default, linking Bootstrap under a content-hashed name ...
    status, _, page = _get(f"{base}/login/")
    assert status == 200
    assert 'lang="zh-hans"' in page
    assert "用户名" in page and "密码" in page
    [stylesheet] = re.findall(r'href="(/static/vendor/bootstrap/css/bootstrap\.min\.[0-9a-f]{12}\.css)"', page)
    # ... which WhiteNoise serves (compressed when asked) with a far-future, immutable cache header.
    status, headers, css = _get(f"{base}{stylesheet}", {"Accept-Encoding": "identity"})
    assert status == 200
    assert "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]
    assert ".btn" in css

    # DEBUG is off: a missing page is a plain 404, no URLconf listing, no traceback.
    status, _, body = _get(f"{base}/no-such-page/")
    assert status == 404
    assert "URLconf" not in body and "Traceback" not in body and "DEBUG = True" not in body

    # Logs are one JSON object per line: gunicorn's access log and Django's own loggers alike.
    time.sleep(1)  # the access line is written after the response
    records = []
    for line in output.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    assert any("/no-such-page/" in r["message"] and '" 404 ' in r["message"] for r in access)
    assert any(r.get("logger") == "django.request" and r["level"] == "WARNING" for r in records)
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
