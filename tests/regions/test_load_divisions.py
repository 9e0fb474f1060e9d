import csv
import shutil
from io import StringIO

import pytest
from django.core.management import call_command

from regions.models import CatalogueImport, Division, DivisionAlias
from regions.services import CATALOGUE_DIR, resolve

pytestmark = pytest.mark.django_db


def test_session_catalogue_has_every_row_with_paths_and_pinyin():
    # given: the test session loaded fixtures/regions/divisions.csv through catalogue_load()
    with (CATALOGUE_DIR / "divisions.csv").open(encoding="utf-8") as handle:
        expected = sum(1 for _ in csv.DictReader(handle))
    # then
    assert Division.objects.count() == expected == 41951
    county = Division.objects.get(code="141032")
    assert (county.full_name, county.pinyin, county.initials) == ("山西省 临汾市 永和县", "yonghexian", "yhx")
    assert county.ancestor_codes == ["140000", "141000"]
    assert county.province_id == "140000"
    # 重庆 is read chong, not zhong: the loader uses phrase-aware pinyin
    assert Division.objects.get(code="500000").initials == "cqs"


def test_short_forms_and_former_names_are_stored_as_aliases():
    assert DivisionAlias.objects.filter(
        name="大理", division_id="532900", kind=DivisionAlias.Kind.ABBREVIATION
    ).exists()
    assert DivisionAlias.objects.filter(name="湘西州", division_id="433100").exists()
    assert DivisionAlias.objects.filter(name="宁夏", division_id="640000").exists()
    assert DivisionAlias.objects.filter(name="毛阳", division_id="469001102").exists()
    assert DivisionAlias.objects.filter(
        name="湾里区", division_id="360112", kind=DivisionAlias.Kind.HISTORICAL
    ).exists()
    # one-character stems are never generated: 岚县 stays 岚县
    assert not DivisionAlias.objects.filter(name="岚").exists()


@pytest.fixture
def small_catalogue(tmp_path):
    """A two-province slice of the real catalogue, as its own directory."""
    rows = [
        row
        for row in csv.DictReader((CATALOGUE_DIR / "divisions.csv").open(encoding="utf-8"))
        if row["code"][:2] in {"11", "64"}
    ]
    with (tmp_path / "divisions.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    shutil.copy(CATALOGUE_DIR / "aliases.csv", tmp_path / "aliases.csv")
    return tmp_path, len(rows)


def _snapshot():
    return list(Division.objects.filter(code__startswith="64").order_by("code").values()), list(
        DivisionAlias.objects.order_by("name", "division_id", "kind").values_list("name", "division_id", "kind")
    )


def test_loading_twice_changes_nothing(small_catalogue, catalogue_changes):
    # given
    directory, row_count = small_catalogue
    out = StringIO()
    call_command("load_divisions", directory=directory, force=True, stdout=out)
    assert f"Loaded {row_count} divisions" in out.getvalue()
    before = _snapshot()
    imports = CatalogueImport.objects.count()
    # when: the same catalogue again
    out = StringIO()
    call_command("load_divisions", directory=directory, stdout=out)
    # then: recognised as loaded, no new import and no row changed
    assert "already loaded" in out.getvalue()
    assert CatalogueImport.objects.count() == imports
    assert _snapshot() == before
    # and forcing the reload rewrites the same rows to the same values
    call_command("load_divisions", directory=directory, force=True, stdout=StringIO())
    assert _snapshot() == before
    assert resolve("宁夏石嘴山市平罗县").code == "640221"


def test_rejects_a_catalogue_whose_parent_is_missing(tmp_path, catalogue_changes):
    # given: a county whose province is not in the file
    (tmp_path / "divisions.csv").write_text(
        "code,name,level,parent_code,official,source\n999901,测试县,county,990000,1,mca\n", encoding="utf-8"
    )
    (tmp_path / "aliases.csv").write_text("old_name,old_code,new_code,change_year,note,source\n", encoding="utf-8")
    imports = CatalogueImport.objects.count()
    # when / then
    with pytest.raises(KeyError):
        call_command("load_divisions", directory=tmp_path, stdout=StringIO())
    assert not Division.objects.filter(code="999901").exists()
    assert CatalogueImport.objects.count() == imports
