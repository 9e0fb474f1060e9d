import pytest
from django.core.management import call_command
from django.db.models import Sum

from dashboard.models import RegionDayRollup, RollupLevel, StaffingHour, TicketFact
from dispatch.models import Ticket
from regions.models import ServiceArea

pytestmark = pytest.mark.django_db


def test_creates_history_in_the_served_areas_and_fills_the_rollup(db):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")

    call_command("seed_demo", tickets=40, days=3)

    assert Ticket.objects.count() == TicketFact.objects.count() > 30
    assert set(TicketFact.objects.values_list("county_code", flat=True)) == {"141032"}
    states = set(TicketFact.objects.values_list("response_state", flat=True))
    assert {"met", "breached"} <= states
    # the rollups the pages read are filled too: every ticket counted once nationwide, and the shifts on duty
    national = RegionDayRollup.objects.filter(level=RollupLevel.NATIONAL)
    assert national.aggregate(n=Sum("tickets"))["n"] == Ticket.objects.count()
    assert StaffingHour.objects.filter(region_code="141032").exists()
