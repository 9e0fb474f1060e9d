"""The daily summary: yesterday's figures nationally and per province, handed to the backend once per day."""

import logging
from datetime import date

import pytest
import time_machine

from dashboard.models import DailyReport
from dashboard.services import daily_report_send
from dashboard.tasks import daily_report_send_task
from tests.dashboard.builders import MINUTE, local, new_ticket, sync, work

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 24)


@pytest.fixture
def day_of_work(operator, wang, yonghe, yuyao):
    """On the 24th: one answer 42 minutes late in 山西, one in time in 浙江; one ticket the next day (not counted)."""
    t0 = local(24, 9)
    work(
        new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 42 * MINUTE
    )
    work(new_ticket(division=yuyao, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 5 * MINUTE)
    new_ticket(division=yuyao, at=local(25, 0, 30))
    sync(local(25, 1))


def test_saves_the_report_once_per_day_in_the_report_folder(settings, tmp_path, day_of_work):
    settings.DASHBOARD_REPORT_BACKEND = "dashboard.reports.FileReportBackend"
    settings.DASHBOARD_REPORT_DIR = tmp_path
    settings.LANGUAGE_CODE = "en"
    # when
    report = daily_report_send(day=DAY, now=local(25, 6))
    again = daily_report_send(day=DAY, now=local(25, 7))
    # then
    assert again is None
    assert DailyReport.objects.get() == report
    text = (tmp_path / "2026-11-24.txt").read_text(encoding="utf-8")
    national, shanxi, zhejiang = text.split("== ")[1:]
    assert national.startswith("Nationwide ==") and "Tickets: 2 " in national
    assert "met 50.0% (1/2), p50 23.5 min" in national
    assert shanxi.startswith("山西省 ==") and "Tickets: 1 " in shanxi and "met 0.0% (0/1), p50 42.0 min" in shanxi
    assert zhejiang.startswith("浙江省 ==") and "met 100.0% (1/1), p50 5.0 min" in zhejiang
    assert text.count("== ") == 3


def test_a_failing_backend_leaves_the_day_unsent_for_the_next_run(settings, day_of_work):
    settings.DASHBOARD_REPORT_BACKEND = "tests.dashboard.test_daily_report_send.BrokenBackend"
    with pytest.raises(ConnectionError):
        daily_report_send(day=DAY, now=local(25, 6))
    assert not DailyReport.objects.exists()


def test_the_task_sends_yesterday_in_shanghai_to_the_log_by_default(settings, caplog, day_of_work):
    settings.DASHBOARD_REPORT_BACKEND = ""
    # 00:30 on the 25th in Shanghai is still the 24th in UTC: "yesterday" must be the 24th, not the 23rd.
    with time_machine.travel(local(25, 0, 30), tick=False), caplog.at_level(logging.INFO, "dashboard.reports"):
        assert daily_report_send_task.run() is True
        assert daily_report_send_task.run() is False
    assert DailyReport.objects.get().day == DAY
    assert len([r for r in caplog.records if r.name == "dashboard.reports"]) == 1


class BrokenBackend:
    def send(self, *, day, subject, body):
        raise ConnectionError("smtp down")
