from datetime import date

import pytest

from dashboard.exceptions import RegionNotAllowed
from dashboard.selectors import fact_list, scope_for
from tests.dashboard.builders import local, new_ticket, sync

pytestmark = pytest.mark.django_db
START, END = date(2026, 11, 23), date(2026, 11, 29)


def test_a_regional_manager_sees_only_their_provinces(regional_manager, xiaodian, yuyao):
    # given: a ticket in 山西 and one in 浙江
    new_ticket(division=xiaodian, at=local(24, 9))
    new_ticket(division=yuyao, at=local(24, 9))
    sync()
    # when
    scope = scope_for(user=regional_manager, start=START, end=END)
    # then
    assert scope.provinces == ("140000",)
    assert list(fact_list(scope=scope).values_list("province_code", flat=True)) == ["140000"]
    with pytest.raises(RegionNotAllowed):
        scope_for(user=regional_manager, start=START, end=END, region_code="330281")
    assert scope_for(user=regional_manager, start=START, end=END, region_code="140105").region.code == "140105"


def test_a_manager_without_provinces_and_an_administrator_see_the_country(manager, administrator, regional_manager):
    assert scope_for(user=manager, start=START, end=END).provinces == ()
    assert scope_for(user=administrator, start=START, end=END).provinces == ()


def test_rejects_a_township_or_unknown_code(manager):
    with pytest.raises(RegionNotAllowed):
        scope_for(user=manager, start=START, end=END, region_code="141032100")
    with pytest.raises(RegionNotAllowed):
        scope_for(user=manager, start=START, end=END, region_code="999999")
