"""Settings for the test suite: the real settings, with a fast password hasher and their own Redis databases."""

import os

os.environ.setdefault("REDIS_DB_BASE", "4")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Live-server request threads must not keep connections open past the test run (they would block the test
# database's teardown).
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# A board rendered by one test must not be served to the next (tests/dispatch/test_board_cache.py turns it on).
BOARD_CACHE_SECONDS = 0
