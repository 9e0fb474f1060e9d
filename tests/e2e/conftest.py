"""Real-browser tests: Debian chromium driven by Playwright against the live server (shared/notes/browser-tests.md)."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

# The Celery processes of the Procfile against the live server's database (tests/integration/conftest.py).
from tests.integration.conftest import fleet, redis_url  # noqa: F401

# Playwright's sync API runs an event loop in this thread; the test body still talks to the database synchronously.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"  # shown in README.md's "Screenshots"
# The `browser` fixture (Debian's chromium) is in tests/conftest.py: one per session for every browser test.


@pytest.fixture
def desktop(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="zh-CN", base_url=live_server.url
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page, username: str, password: str = "pw-for-tests") -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_label("密码").press("Enter")


def switch_to_english(page) -> None:
    """Choose English in the header's language switch, as a user does, and wait for the page to come back in it."""
    page.wait_for_load_state("load")  # app.js (end of <body>) submits the switch: it must be listening first
    page.locator("#language").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def fits_a_phone(page) -> None:
    """No horizontal scrolling on a 360 px wide screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.url
