"""Gunicorn settings for the web process (Procfile `web`, deploy/systemd/dispatch-web.service).

Every knob reads the environment, like config/settings.py; the defaults suit one machine behind a reverse proxy.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
# Requests are short and spend their time in PostgreSQL, so the usual 2 × cores + 1 sync workers keep the cores busy;
# WEB_THREADS > 1 switches to gthread (each thread holds its own database connection: size max_connections for it).
workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1)
threads = _int("WEB_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
# An operator's request that takes 30 s has failed anyway; uploads from phones get the same budget (they are streamed
# to disk by Django, not held by gunicorn). graceful_timeout lets in-flight requests finish on a deploy or restart.
timeout = _int("WEB_TIMEOUT", 30)
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 30)
keepalive = _int("WEB_KEEPALIVE", 5)
# Load Django once in the master and fork: workers share its memory pages and a broken deploy fails before forking.
# No database connection is opened at import time, so none is shared across the fork.
preload_app = True
# Recycle a worker after this many requests (± jitter, so they do not all restart at once): bounds slow leaks.
max_requests = _int("WEB_MAX_REQUESTS", 2000)
max_requests_jitter = _int("WEB_MAX_REQUESTS_JITTER", 200)
# Trust X-Forwarded-* only from the reverse proxy in front (nginx on the same machine by default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Worker heartbeat files in RAM, not on a possibly slow disk (gunicorn's advice for containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - heartbeat files only

# Access log on stdout: remote address, request line, status, bytes, milliseconds, user agent, request id header.
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}i)s'

# LOG_FORMAT=json (as for Django, config/settings.py): gunicorn's own lines become one JSON object each, too.
if os.environ.get("LOG_FORMAT", "plain") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "error_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
        "root": {"level": "INFO", "handlers": ["console"]},
    }
