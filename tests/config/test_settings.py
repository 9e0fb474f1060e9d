import json
import logging.config
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.settings import celery_broker_url, redis_url_with_db


@pytest.mark.parametrize(
    ("url", "db", "expected"),
    [
        ("redis://127.0.0.1:6379", 1, "redis://127.0.0.1:6379/1"),
        ("redis://:secret@redis.internal:6379/0", 5, "redis://:secret@redis.internal:6379/5"),
        ("unix:///srv/app/var/redis/redis.sock", 1, "unix:///srv/app/var/redis/redis.sock?db=1"),
    ],
)
def test_redis_url_with_db(url, db, expected):
    assert redis_url_with_db(url, db) == expected


def test_celery_reaches_a_unix_socket_as_redis_socket():
    assert celery_broker_url("unix:///srv/var/redis.sock", 4) == "redis+socket:///srv/var/redis.sock?virtual_host=4"
    assert celery_broker_url("redis://127.0.0.1:6379", 0) == "redis://127.0.0.1:6379/0"


def test_chinese_first_locale_and_time_zone():
    assert (settings.LANGUAGE_CODE, settings.TIME_ZONE, settings.USE_TZ) == ("zh-hans", "Asia/Shanghai", True)
    assert settings.PHONENUMBER_DEFAULT_REGION == "CN"


@pytest.mark.django_db
def test_database_is_postgresql():
    assert connection.vendor == "postgresql"


def test_cache_is_a_real_redis_separate_from_the_broker():
    cache.set("probe", "值", 10)
    assert cache.get("probe") == "值"
    assert settings.CACHES["default"]["LOCATION"] != settings.CELERY_BROKER_URL


@pytest.mark.django_db
def test_models_and_migrations_agree():
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_suite_runs_on_its_own_settings():
    # make test must not inherit DJANGO_SETTINGS_MODULE from the launcher: the test settings keep the suite off the
    # development Redis databases and use a fast password hasher.
    assert settings.SETTINGS_MODULE == "config.test_settings"
    assert settings.REDIS_DB_BASE == 4


def test_env_example_documents_every_variable_the_settings_read():
    source = (settings.BASE_DIR / "config" / "settings.py").read_text()
    read = set(re.findall(r'(?:os\.environ\.get|env_\w+)\("([A-Z_]+)"', source))
    documented = set(re.findall(r"^([A-Z_]+)=", (settings.BASE_DIR / ".env.example").read_text(), re.M))

    assert read - documented == set()


def test_json_logs_are_one_object_per_line_with_the_usual_fields(settings):
    formatter = logging.config.DictConfigurator(settings.LOGGING).configure_formatter(
        settings.LOGGING["formatters"]["json"]
    )
    record = logging.LogRecord("dispatch.services", logging.WARNING, __file__, 1, "ticket %s not queued", ("42",), None)

    line = json.loads(formatter.format(record))

    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "dispatch.services", "ticket 42 not queued")
    assert {"time", "process"} <= set(line)
