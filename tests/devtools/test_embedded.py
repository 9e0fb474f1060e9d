"""`make run` / `make test` start PostgreSQL and Redis themselves when DATABASE_URL / REDIS_URL are unset."""

import json
import os
import subprocess
import sys

import psutil
from django.conf import settings

LAUNCHER = settings.BASE_DIR / "devtools" / "embedded.py"
PROBE = """
import json, os, psycopg2, redis, dj_database_url
db = dj_database_url.parse(os.environ["DATABASE_URL"])
with psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"]) as conn, conn.cursor() as cursor:
    cursor.execute("SELECT current_database(), version()")
    name, version = cursor.fetchone()
client = redis.Redis.from_url(os.environ["REDIS_URL"])
print(json.dumps({"database": name, "version": version, "redis": client.ping(),
                  "secret": bool(os.environ.get("DJANGO_SECRET_KEY")), "redis_url": os.environ["REDIS_URL"]}))
"""


def _servers_using(path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(path) in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found


def _launch(var_dir, command, **env):
    environment = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    environment.pop("DJANGO_SECRET_KEY", None)
    environment.update(VAR_DIR=str(var_dir), **env)
    return subprocess.run(
        [sys.executable, str(LAUNCHER), "run", "--", *command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_starts_postgres_and_redis_for_the_command_and_stops_them_after(tmp_path):
    result = _launch(tmp_path, [sys.executable, "-c", PROBE])

    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["database"] == "dispatch"
    assert probe["version"].startswith("PostgreSQL")
    assert probe["redis"] is True and probe["redis_url"].startswith("unix://")
    assert probe["secret"]
    assert (tmp_path / "pg" / "PG_VERSION").exists()
    # nothing is left running once the command has finished
    assert _servers_using(tmp_path) == []


def test_passes_the_command_exit_status_through(tmp_path):
    result = _launch(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])

    assert result.returncode == 3
    assert _servers_using(tmp_path) == []


def test_uses_the_configured_servers_when_urls_are_set(tmp_path):
    result = _launch(
        tmp_path,
        [sys.executable, "-c", "import os; print(os.environ['DATABASE_URL'], os.environ['REDIS_URL'])"],
        DATABASE_URL="postgres://someone@db.example/dispatch",
        REDIS_URL="redis://cache.example:6379",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["postgres://someone@db.example/dispatch", "redis://cache.example:6379"]
    assert not (tmp_path / "pg").exists() and not (tmp_path / "redis").exists()
