"""Settings for the dispatch center, read from the environment (see .env.example).

Production differs from development only through environment variables. `make run` and `make test` set
DATABASE_URL, REDIS_URL and DJANGO_SECRET_KEY for the embedded PostgreSQL and Redis (devtools/embedded.py).
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the {name} environment variable (see .env.example).")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def redis_url_with_db(url: str, db: int) -> str:
    """Return the Redis URL pointing at logical database `db` (TCP `redis://` or unix-socket `unix://` URLs)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        # urlunsplit would drop the empty authority ("unix:/path"), which redis-py refuses.
        return f"unix://{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def celery_broker_url(url: str, db: int) -> str:
    """Translate a Redis URL into kombu's spelling (kombu reaches a unix socket as `redis+socket://`)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"redis+socket://{parts.path}?virtual_host={db}"
    return redis_url_with_db(url, db)


SECRET_KEY = env_str("DJANGO_SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "phonenumber_field",
    "accounts",
    "regions",
    "sla",
    "dispatch",
    "complaints",
    "dashboard",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "telephony",
    "webhooks",
    "privacy",
    "configcache",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dispatch.live.TechnicianLiveMiddleware",  # 204 to a technician's offers poll when nothing changed
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
            ],
        },
    },
]

# SQLite is never used: the app relies on row locks, SKIP LOCKED and partial indexes.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL"), conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
# One Redis server, two logical databases: clearing the cache must never drop queued Celery messages.
REDIS_DB_BASE = env_int("REDIS_DB_BASE", 0)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_url_with_db(REDIS_URL, REDIS_DB_BASE + 1),
        "KEY_PREFIX": "dispatch",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # Staff accounts open customer data: longer than Django's 8 (security block below; docs/security.md).
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("DJANGO_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Customer name, phone and address are encrypted at rest (Fernet). The first key encrypts; all of them decrypt, so a
# new key is put first and `manage.py rotate_customer_keys` re-encrypts, then the old key can go.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
# Keyed blind index for phone lookups: HMAC-SHA256 of the E.164 number. Changing it means re-indexing every customer.
BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY", "")
if not FIELD_ENCRYPTION_KEYS or not BLIND_INDEX_KEY:
    raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY (make run generates development keys).")

# Customer SMS; see dispatch/notify.py for the interface an SMS provider's backend implements.
NOTIFICATION_BACKEND = os.environ.get("NOTIFICATION_BACKEND", "dispatch.notify.ConsoleBackend")

# Bootstrap's alert colours for Django's message levels (error is "danger" there).
MESSAGE_TAGS = {40: "danger"}

PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DB_FORMAT = "E164"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves the vendored assets straight from static/ (no collectstatic step, no CDN).
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production (devtools/production.py) sets whitenoise.storage.CompressedManifestStaticFilesStorage: hashed names,
    # cached forever by browsers; it needs collectstatic first, so development and tests keep the plain storage.
    "staticfiles": {
        "BACKEND": os.environ.get("DJANGO_STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")
    },
    # Photos and repair recordings: never under STATIC/MEDIA URLs, only through dispatch's signed, logged links.
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ.get("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private-media"))},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    # The API v1's schema (api/schema.py adds the error responses to every operation); docs/api.md.
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
}
# Requests per key (integration keys) and per signed-in user on /api/v1/, e.g. "600/min"; counted in the Redis cache.
API_KEY_RATE = env_str("API_KEY_RATE", "600/min")
API_USER_RATE = env_str("API_USER_RATE", "300/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "Lock-repair dispatch center API",
    "DESCRIPTION": "Tickets, customers, regions, technicians, complaints and telephony (CTI). See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["api.schema.only_v1_endpoints"],
    "ENUM_NAME_OVERRIDES": {
        "TicketChannelEnum": "dispatch.models.Ticket.Channel",
        "TicketCategoryEnum": "dispatch.models.Ticket.Category",
        "ComplaintChannelEnum": "complaints.models.Complaint.Channel",
        "ComplaintCategoryEnum": "complaints.models.Complaint.Category",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs UI is served from our own static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

CELERY_BROKER_URL = celery_broker_url(REDIS_URL, REDIS_DB_BASE)
# Deadlines live in PostgreSQL (sla app): no task is ever scheduled far ahead, so redelivery after a crash can be
# prompt. Celery's Redis docs ask for the timeout in the broker options and the visibility_timeout setting alike.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 300)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes the database connection around every task unless this is set, and ignores CONN_MAX_AGE; a new
# connection per delivery costs more than the delivery. config/celery.py still lets Django retire old or broken ones.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1_000_000)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {
    "sla.tasks.sla_tick_task": {"queue": "sla_tick"},
    "sla.tasks.outbox_deliver_task": {"queue": "sla_deliver"},
    # Subscribers' servers can be slow or down (5 s timeout each): their own worker, so they never hold up an offer.
    "webhooks.tasks.delivery_attempt_task": {"queue": "webhooks"},
    "webhooks.tasks.delivery_send_due_task": {"queue": "webhooks"},
}
# Customer notifications queued more than this long ago and still unsent are queued again by a periodic relay.
NOTIFICATION_RELAY_SECONDS = env_int("NOTIFICATION_RELAY_SECONDS", 120)
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` when set (leave empty behind a private network).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Dispatch: offers per ticket before it is flagged for an operator; how old a technician's position may be and still
# count for distance; the on-site inspection fee a new customer does not pay (yuan).
DISPATCH_MAX_OFFERS = env_int("DISPATCH_MAX_OFFERS", 3)
# Every open board polls its table every 5 s: one rendering per filter is shared for this long (0: none).
BOARD_CACHE_SECONDS = env_int("BOARD_CACHE_SECONDS", 2)
# A technician's offers poll is answered 204 while its stamp is current; a stamp lives at most this long, so a change
# made outside the services (the admin) shows within it, and the session is checked in full again (dispatch.live).
LIVE_STAMP_SECONDS = env_int("LIVE_STAMP_SECONDS", 120)
DISPATCH_POSITION_FRESH_MINUTES = env_int("DISPATCH_POSITION_FRESH_MINUTES", 30)
DISPATCH_SWEEP_SECONDS = env_int("DISPATCH_SWEEP_SECONDS", 30)
DISPATCH_BATCH_SECONDS = env_int("DISPATCH_BATCH_SECONDS", 10)  # regions in batched mode
INSPECTION_FEE = os.environ.get("INSPECTION_FEE", "50.00")
# Complaints: a remedy above this amount (yuan) needs a manager's second approval; the customer's video size cap.
COMPLAINT_SECOND_APPROVAL_AMOUNT = Decimal(os.environ.get("COMPLAINT_SECOND_APPROVAL_AMOUNT", "500"))
COMPLAINT_MAX_VIDEO_BYTES = env_int("COMPLAINT_MAX_VIDEO_BYTES", 200 * 1024 * 1024)
# The managers' daily summary (yesterday, Asia/Shanghai): where it goes (dashboard/reports.py).
DASHBOARD_REPORT_BACKEND = os.environ.get("DASHBOARD_REPORT_BACKEND", "dashboard.reports.ConsoleReportBackend")
DASHBOARD_REPORT_DIR = Path(os.environ.get("DASHBOARD_REPORT_DIR", str(VAR_DIR / "reports")))
# Photos and recordings from the technician's phone.
MEDIA_MAX_PHOTO_BYTES = env_int("MEDIA_MAX_PHOTO_BYTES", 20 * 1024 * 1024)
MEDIA_MAX_AUDIO_BYTES = env_int("MEDIA_MAX_AUDIO_BYTES", 200 * 1024 * 1024)
MEDIA_LINK_SECONDS = env_int("MEDIA_LINK_SECONDS", 300)
SLA_TICK_SECONDS = float(os.environ.get("SLA_TICK_SECONDS", "1.0"))
# Heartbeat older than this: the dashboard shows the clocks are not being checked.
SLA_HEARTBEAT_ALARM_SECONDS = env_int("SLA_HEARTBEAT_ALARM_SECONDS", 10)
CELERY_BEAT_SCHEDULE = {
    "sla-tick": {
        "task": "sla.tasks.sla_tick_task",
        "schedule": SLA_TICK_SECONDS,
        # Ticks queued during an outage are useless once it ends: the next one does all the work.
        "options": {"queue": "sla_tick", "expires": 3},
    },
    # Tickets whose dispatch task was lost (broker down at commit) or that wait for a technician to come on duty.
    "dispatch-sweep": {
        "task": "dispatch.tasks.dispatch_sweep_task",
        "schedule": float(DISPATCH_SWEEP_SECONDS),
        "options": {"expires": DISPATCH_SWEEP_SECONDS - 1},
    },
    "dispatch-batch": {
        "task": "dispatch.tasks.dispatch_batch_task",
        "schedule": float(DISPATCH_BATCH_SECONDS),
        "options": {"expires": DISPATCH_BATCH_SECONDS - 1},
    },
    # The dashboard's per-ticket rollup (dashboard.TicketFact): figures lag by at most this much.
    "dashboard-rollup": {
        "task": "dashboard.tasks.ticket_fact_sync_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # 06:30 Shanghai (22:30 UTC); the later runs only retry a send that failed (one report per day).
    "dashboard-daily-report": {
        "task": "dashboard.tasks.daily_report_send_task",
        "schedule": crontab(minute=30, hour="22,23,0,1"),
    },
    "notification-relay": {
        "task": "dispatch.tasks.notification_relay_task",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
}

# Outbound webhooks (docs/webhooks.md): first attempt queued after commit, retries with exponential backoff and jitter
# (base·2^(n-1), capped) sent by a beat relay, which also sends first attempts whose task was lost.
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 15)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600)
WEBHOOK_RELAY_SECONDS = env_int("WEBHOOK_RELAY_SECONDS", 10)
CELERY_BEAT_SCHEDULE["webhook-relay"] = {
    "task": "webhooks.tasks.delivery_send_due_task",
    "schedule": float(WEBHOOK_RELAY_SECONDS),
    "options": {"expires": max(WEBHOOK_RELAY_SECONDS - 1, 1)},
}
# Privacy numbers (AXB) between technician and customer for the life of a job (privacy/backends.py).
PRIVACY_NUMBER_BACKEND = os.environ.get("PRIVACY_NUMBER_BACKEND", "privacy.backends.ConsoleBackend")
PRIVACY_NUMBER_POOL = env_list("PRIVACY_NUMBER_POOL", "+8617100000000-+8617100000019")
PRIVACY_BINDING_HOURS = env_int("PRIVACY_BINDING_HOURS", 72)

SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_AGE", 12 * 3600)  # one night shift

# ---- Security: sign-in lockout, sessions, headers, CSP (docs/security.md) ----------------------------------------
INSTALLED_APPS += ["axes", "csp", "audit"]
# axes last, as its docs ask, so it answers for every view that signs someone in; the session limits need the user.
MIDDLEWARE += [
    "csp.middleware.CSPMiddleware",
    "audit.middleware.PermissionsPolicyMiddleware",
    "audit.middleware.SessionLimitMiddleware",
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = ["audit.backends.LockoutBackend", "accounts.backends.RoleModelBackend"]
# Failed sign-ins are counted per username *and* address: a guesser cannot lock a whole call center out by trying
# every name from one PC, and a user is locked only at the PC where someone guessed. Rows in the database, so an
# administrator unlocks from the admin (Access attempts → delete) or with `manage.py axes_reset_username`.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "audit.views.lockout"
AXES_CLIENT_IP_CALLABLE = "audit.network.client_ip"
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Reverse proxies in front of the app that append to X-Forwarded-For (nginx: 1); 0 trusts only REMOTE_ADDR.
SECURITY_PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 0)

# Shared call-center PCs: signed out after this long without a click (0: never), and when the browser closes.
# SESSION_COOKIE_AGE above stays the hard limit from sign-in (audit.middleware.SessionLimitMiddleware).
SESSION_IDLE_SECONDS = env_int("DJANGO_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("DJANGO_SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

# HTTPS: development, tests and a loopback run are plain http (the defaults); production behind TLS sets these
# (.env.example lists the production values, and `manage.py check --deploy` passes with them).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# The TLS-terminating proxy sets X-Forwarded-Proto; trusted only when the app is reachable through it alone.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_PROXY", False) else None
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Ticket numbers are in our paths: send no Referer to other sites (the map app the technician navigates with).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
PERMISSIONS_POLICY_PATHS = {"/tech/": "camera=(self), microphone=(self), geolocation=(self), payment=(), usb=()"}
# No inline scripts anywhere: page code lives in static/js/. Styles keep 'unsafe-inline' for a handful of style=""
# attributes and Bootstrap's positioning (styles cannot run code). data:/blob: for Bootstrap's SVG icons and the
# technician's photo previews and recordings before upload.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# LOG_FORMAT=json in production: one JSON object per line (time, level, logger, message, process), for the log
# collector; plain text for people at a terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "plain"}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
