"""Start the dispatch center the production way, on this machine: the steps README.md's "Production" section lists.

    python devtools/production.py [--only web,worker,hooks,tick,beat] [--skip-setup]

1. `manage.py bootstrap` — migrate, roles, the division catalogue and the service areas (idempotent; no demo users);
2. `manage.py collectstatic` into STATIC_ROOT, with hashed names WhiteNoise serves with a far-future cache header;
3. the Procfile's processes — gunicorn with gunicorn.conf.py, the worker, the webhooks worker, the tick worker and
   ONE beat — each in its own process group; SIGTERM or Ctrl-C stops them all, and if one dies the others are
   stopped and the exit is 1.

Everything comes from the environment (.env.example): DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY,
FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set. Production defaults are filled in when unset: DJANGO_DEBUG=0,
LOG_FORMAT=json and the hashed static-files storage. A systemd host runs the same steps through deploy/systemd/.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REQUIRED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY")
PRODUCTION_DEFAULTS = {
    "DJANGO_DEBUG": "0",
    "LOG_FORMAT": "json",
    "DJANGO_STATICFILES_BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
}


def _log(message: str) -> None:
    print(f"[production] {message}", file=sys.stderr, flush=True)


def procfile() -> dict[str, str]:
    """Return the Procfile's processes by name (the one list of processes; honcho and systemd units follow it)."""
    lines = (BASE_DIR / "Procfile").read_text().splitlines()
    return {name.strip(): command.strip() for name, command in (line.split(":", 1) for line in lines if ":" in line)}


def production_env() -> dict[str, str]:
    """The environment with production defaults filled in and this checkout's virtualenv first on PATH."""
    env = {**PRODUCTION_DEFAULTS, **os.environ}
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        raise SystemExit(f"set {', '.join(missing)} (see .env.example)")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def setup(env: dict[str, str]) -> None:
    """Migrate and load the catalogues, then collect the static files (both safe to repeat on every start)."""
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    _log("bootstrap: migrate, roles, catalogue, service areas")
    subprocess.run(  # noqa: S603 - our own manage.py
        [*manage, "bootstrap"], cwd=BASE_DIR, env=env, check=True, stdout=sys.stderr
    )
    _log("collectstatic")
    subprocess.run(  # noqa: S603 - our own manage.py
        [*manage, "collectstatic", "--noinput", "--verbosity=0"], cwd=BASE_DIR, env=env, check=True, stdout=sys.stderr
    )


def supervise(env: dict[str, str], names: list[str]) -> int:
    """Start the named Procfile processes; return when one exits or on SIGTERM/SIGINT, having stopped them all."""
    commands = procfile()
    running: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for name in names:
        running[name] = subprocess.Popen(  # noqa: S603 - the Procfile's commands
            ["/bin/sh", "-c", f"exec {commands[name]}"], cwd=BASE_DIR, env=env, start_new_session=True
        )
        _log(f"started {name} (pid {running[name].pid}): {commands[name]}")
    exited = None
    while not stopping and exited is None:
        exited = next((name for name, process in running.items() if process.poll() is not None), None)
        time.sleep(0.2)
    if exited:
        _log(f"{exited} exited with {running[exited].returncode}; stopping the others")
    for process in running.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    give_up = time.monotonic() + 30  # gunicorn's graceful_timeout; celery finishes its current task
    for process in running.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.1, give_up - time.monotonic()))
        # Pool processes that outlived their leader are in its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return 1 if exited else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="web,worker,hooks,tick,beat", help="comma-separated Procfile processes to start"
    )
    parser.add_argument("--skip-setup", action="store_true", help="no bootstrap/collectstatic (already done)")
    args = parser.parse_args(argv)
    env = production_env()
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(names) - set(procfile())
    if unknown:
        raise SystemExit(f"not in the Procfile: {', '.join(sorted(unknown))}")
    if not args.skip_setup:
        setup(env)
    return supervise(env, names)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
