import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from regions.models import ServiceArea
from regions.services import Outcome, resolve, split_entries

pytestmark = pytest.mark.django_db

SERVICE_AREAS = settings.BASE_DIR / "fixtures" / "service_areas.txt"


def test_every_distinct_entry_is_resolved_or_reported_with_a_reason():
    entries = set(split_entries(SERVICE_AREAS.read_text(encoding="utf-8")))
    assert len(entries) == 359

    for entry in entries:
        resolution = resolve(entry)
        if resolution.outcome == Outcome.EXACT:
            assert resolution.code is not None
        else:
            assert resolution.reason, entry
        if resolution.outcome in {Outcome.AMBIGUOUS, Outcome.INVALID}:
            assert resolution.code is None


def test_stores_resolved_entries_and_reports_the_rest():
    # when
    out = StringIO()
    call_command("load_service_areas", str(SERVICE_AREAS), stdout=out)
    report = out.getvalue()
    # then
    assert "385 entries, 359 distinct." in report
    area = ServiceArea.objects.get(division_id="141032")
    assert (area.source_entry, area.outcome) == ("临汾市永和县", Outcome.EXACT)
    assert ServiceArea.objects.get(division_id="360112").outcome == Outcome.HISTORICAL
    assert "| 南昌市湾里区 | historical | 360112 |" in report
    # 金门县 resolves, but is administered from Taiwan: reported, not stored
    assert not ServiceArea.objects.filter(division_id="350527").exists()
    assert "| 泉州市金门县 | 350527 |" in report


def test_running_again_changes_nothing():
    call_command("load_service_areas", str(SERVICE_AREAS), stdout=StringIO())
    before = list(ServiceArea.objects.order_by("pk").values())

    out = StringIO()
    call_command("load_service_areas", str(SERVICE_AREAS), stdout=out)

    assert list(ServiceArea.objects.order_by("pk").values()) == before
    assert "0 new" in out.getvalue()


def test_unresolvable_entries_are_not_stored(tmp_path):
    path = tmp_path / "areas.txt"
    path.write_text("鼓楼区、火星基地\n临汾市永和县\n", encoding="utf-8")

    out = StringIO()
    call_command("load_service_areas", str(path), stdout=out)

    assert list(ServiceArea.objects.values_list("division_id", flat=True)) == ["141032"]
    assert "| 鼓楼区 | ambiguous |" in out.getvalue()
    assert "| 火星基地 | invalid |" in out.getvalue()


def test_resolve_regions_prints_one_json_object_per_entry(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("临汾市永和县、鼓楼区\nabc\n", encoding="utf-8")

    out = StringIO()
    call_command("resolve_regions", str(path), format="jsonl", stdout=out)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["input"] for line in lines] == ["临汾市永和县", "鼓楼区", "abc"]
    assert lines[0] == {
        "input": "临汾市永和县",
        "outcome": "exact",
        "code": "141032",
        "path": "山西省 临汾市 永和县",
        "candidates": [],
        "reason": "",
    }
    assert lines[1]["outcome"] == "ambiguous" and lines[1]["code"] is None and len(lines[1]["candidates"]) == 4
    assert set(lines[1]["candidates"][0]) == {"code", "path"}
    assert lines[2]["outcome"] == "invalid" and lines[2]["reason"]
