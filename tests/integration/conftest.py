"""Real processes for the integration tests: a private Redis server and the Procfile's processes (Celery, gunicorn)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from devtools.embedded import redis_server
from tests.integration import chaos_app

CELERY_PROCESSES = ("beat", "hooks", "tick", "worker")


def procfile_commands() -> dict[str, str]:
    """Return the Procfile's commands: the Celery ones pointed at the chaos app (the project's app plus test
    handlers), the web one (gunicorn with gunicorn.conf.py) as it is."""
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    entries = dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))
    commands = {}
    for name in CELERY_PROCESSES:
        command = entries[name].strip()
        assert " -A config " in command, f"Procfile {name!r} no longer runs `celery -A config`: {command}"
        commands[name] = command.replace(" -A config ", f" -A {chaos_app.__name__} ")
    commands["web"] = entries["web"].strip()
    assert commands["web"].startswith("gunicorn config.wsgi "), f"Procfile web is not gunicorn: {commands['web']}"
    return commands


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """Start a Redis server only this test talks to (it is killed and flushed) on a unix socket; yield its URL."""
    socket_path = tmp_path / "redis.sock"
    process = redis_server(socket_path=socket_path, directory=tmp_path)
    url = f"unix://{socket_path}"
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _test_database_url() -> str:
    """DATABASE_URL with the database swapped for the test database pytest-django created."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{connection.settings_dict['NAME']}"))


class Fleet:
    """Celery processes started from the Procfile, each in its own session so a kill reaches its pool processes."""

    def __init__(self, *, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.commands = procfile_commands()
        self.running: dict[str, subprocess.Popen] = {}
        self.logs: list[Path] = []

    def start(self, name: str, *, as_name: str = "", env: dict[str, str] | None = None) -> None:
        """Start the Procfile process `name`; `as_name` runs a second copy (worker-2) under its own key."""
        key = as_name or name
        assert key not in self.running, f"{key} is already running"
        log = self.log_dir / f"{key}-{len(self.logs)}.log"
        self.logs.append(log)
        # A second worker on this machine needs its own node name, or the two would be taken for one.
        command = self.commands[name].replace(f"--hostname={name}@", f"--hostname={key}@")
        with log.open("wb") as output:
            self.running[key] = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"],
                cwd=settings.BASE_DIR,
                env={**self.env, **(env or {})},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_web(self, as_name: str = "web") -> str:
        """Start the Procfile's gunicorn (two workers) on a free loopback port; return its URL once it answers."""
        port = free_port()
        self.start("web", as_name=as_name, env={"WEB_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"})
        url = f"http://127.0.0.1:{port}"
        give_up = time.monotonic() + 60
        while True:
            assert self.running[as_name].poll() is None, f"{as_name} exited"
            try:
                with urllib.request.urlopen(f"{url}/login/", timeout=5) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return url
            except OSError:
                pass
            assert time.monotonic() < give_up, f"{as_name} did not answer on {url}"
            time.sleep(0.3)

    def kill(self, name: str) -> None:
        """SIGKILL the process and its pool: no warm shutdown, no acks, no connections closed politely."""
        process = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for name, process in list(self.running.items()):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
            # Pool processes outlive a leader that died first; the group kill reaches them too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
            del self.running[name]

    def print_log_tails(self, lines: int = 25) -> None:
        for log in self.logs:
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            print(f"--- {log.name} (last {len(tail)} lines)", *tail, sep="\n")


@pytest.fixture
def fleet(transactional_db, redis_url, tmp_path):
    """The Procfile's processes (beat, the workers, gunicorn; several copies if asked) against the test database and
    the private Redis; all stopped after.

    Requests `transactional_db` so the processes are stopped before pytest-django empties the tables.
    """
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(settings.BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": redis_url,
        "REDIS_DB_BASE": str(settings.REDIS_DB_BASE),
        "SLA_TICK_SECONDS": "1",
        "CELERY_CONCURRENCY": "2",
        "VAR_DIR": str(tmp_path),  # beat's schedule file
    }
    fleet = Fleet(env=env, log_dir=tmp_path)
    try:
        yield fleet
    finally:
        fleet.stop_all()
        fleet.print_log_tails()  # shown by pytest only when the test failed
