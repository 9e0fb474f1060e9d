import pytest

from regions.models import Division, ServiceArea
from regions.selectors import is_served

pytestmark = pytest.mark.django_db


def _division(code: str) -> Division:
    return Division.objects.get(code=code)


def test_county_entry_serves_the_county_and_its_townships():
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")

    assert is_served(_division("141032"))
    assert is_served(_division("141032100"))  # 芝河镇
    assert not is_served(_division("141000"))  # the prefecture around it
    assert not is_served(_division("141025"))  # a neighbouring county


def test_township_entry_serves_only_that_township():
    ServiceArea.objects.create(division_id="469024102", source_entry="临高县东英镇", outcome="exact")

    assert is_served(_division("469024102"))
    assert not is_served(_division("469024"))  # 临高县 itself
    assert not is_served(_division("469024100"))  # another town of 临高县


def test_inactive_area_serves_nothing():
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact", is_active=False)

    assert not is_served(_division("141032100"))


def test_nearest_served_looks_in_the_county_then_wider():
    from regions.selectors import division_list_nearest_served

    ServiceArea.objects.create(division_id="141032100", source_entry="芝河镇", outcome="exact")
    ServiceArea.objects.create(division_id="140100", source_entry="太原市", outcome="exact")

    # another town of 永和县: the served town next door
    assert [d.code for d in division_list_nearest_served(division=_division("141032101"))] == ["141032100"]
    # 古县, same prefecture: still 芝河镇 (临汾市), not 太原
    assert [d.code for d in division_list_nearest_served(division=_division("141025"))] == ["141032100"]
    # nothing served anywhere in 北京
    assert division_list_nearest_served(division=_division("110115")) == []
