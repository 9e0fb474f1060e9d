import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_when_the_session_ends_the_live_board_goes_to_the_login_page(desktop, operator):
    log_in(desktop, "li_operator")
    desktop.goto("/dispatch/board/")
    expect(desktop.get_by_test_id("board")).to_be_visible()

    desktop.context.clear_cookies()  # the session expired (shared PC, end of shift) or was ended elsewhere

    # the next 5-second refresh takes the whole page to the login form, not the login form into the table
    expect(desktop).to_have_url(re.compile(r"/login/\?next=%2Fdispatch%2Fboard%2F$"), timeout=15_000)
    expect(desktop.get_by_test_id("board")).to_have_count(0)
