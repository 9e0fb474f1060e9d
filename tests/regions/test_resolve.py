"""Resolver cases built from the catalogue in fixtures/regions/, one group per pattern the service-area list uses."""

import pytest

from regions.services import Outcome, resolve

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("临汾市永和县", "141032"),
        ("山西省临汾市永和县", "141032"),
        ("北京市大兴区", "110115"),  # municipality: districts hang directly under the province-level city
        ("重庆市忠县", "500233"),
        ("宜宾市高县", "511525"),  # one-character county names are written whole
        ("临汾市古县", "141025"),  # 古县 is the county, not 古县乡 (141033201) with its suffix dropped
        ("古县", "141025"),
        ("临高县东英镇", "469024102"),  # county governed directly by the province
        ("儋州市王五镇", "460400111"),  # prefecture-level city with no county level
        ("东莞市虎门镇", "441900121"),
        ("嘉峪关市文殊镇", "620201102"),  # township code does not start with its parent's code
        ("两江新区", "500157"),  # a real district since 2025, although its name ends in 新区
        ("宁波市江北区", "330205"),  # the current 江北区, not 重庆's abolished one
    ],
)
def test_resolves_official_names_exactly(text, code):
    resolution = resolve(text)

    assert (resolution.outcome, resolution.code) == (Outcome.EXACT, code)
    assert resolution.reason == ""


@pytest.mark.parametrize(
    ("text", "code", "path"),
    [
        ("宁夏石嘴山市平罗县", "640221", "宁夏回族自治区 石嘴山市 平罗县"),  # province short name
        ("内蒙古锡林郭勒盟正蓝旗", "152530", "内蒙古自治区 锡林郭勒盟 正蓝旗"),
        ("大理剑川县", "532931", "云南省 大理白族自治州 剑川县"),  # autonomous prefecture short name
        ("湘西州吉首市", "433101", "湖南省 湘西土家族苗族自治州 吉首市"),
        ("五指山市毛阳", "469001102", "海南省 五指山市 毛阳镇"),  # township without its suffix
        ("临汾永和", "141032", "山西省 临汾市 永和县"),
        ("东莞虎门", "441900121", "广东省 东莞市 虎门镇"),
        # 海南 is a province and a prefecture of 青海; only the prefecture contains 贵德县.
        ("海南贵德县", "632523", "青海省 海南藏族自治州 贵德县"),
        # 红河 is a prefecture and a county inside it; only the prefecture contains 河口瑶族自治县.
        ("红河河口瑶族自治县", "532532", "云南省 红河哈尼族彝族自治州 河口瑶族自治县"),
    ],
)
def test_resolves_short_names_from_the_whole_string(text, code, path):
    resolution = resolve(text)

    assert (resolution.outcome, resolution.code, resolution.path) == (Outcome.ABBREVIATED, code, path)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("南昌市湾里区", "360112"),  # 湾里区 merged into 新建区 in 2019
        ("平凉市华亭县", "620881"),  # 华亭县 became 华亭市 in 2018
        ("中山市南朗镇", "442000008"),  # township renamed 南朗街道 in 2021
        ("重庆市江北区", "500157"),  # abolished 2025, now 两江新区
        ("北京市崇文区", "110101"),  # merged into 东城区 in 2010
    ],
)
def test_resolves_renamed_and_abolished_units_to_their_successor(text, code):
    resolution = resolve(text)

    assert (resolution.outcome, resolution.code) == (Outcome.HISTORICAL, code)
    assert code in resolution.reason


def test_reports_statistical_unit_as_unofficial():
    resolution = resolve("大兴安岭地区新林区")

    assert (resolution.outcome, resolution.code) == (Outcome.UNOFFICIAL, "232763")
    assert "232763" in resolution.reason


def test_reports_unofficial_zone_with_the_district_it_lies_in():
    resolution = resolve("吉安市庐陵新区")

    assert (resolution.outcome, resolution.code) == (Outcome.UNOFFICIAL, "360802")
    assert "吉州区" in resolution.reason


def test_development_zone_is_unofficial_and_never_a_division():
    resolution = resolve("苏州工业园区")

    assert (resolution.outcome, resolution.code) == (Outcome.UNOFFICIAL, None)
    assert "苏州工业园区" in resolution.reason


@pytest.mark.parametrize(
    ("text", "expected_codes"),
    [
        ("鼓楼区", {"320106", "320302", "350102", "410204"}),  # 南京, 徐州, 福州, 开封
        ("江北区", {"330205", "500157"}),  # 宁波's current district, or 重庆's former one
    ],
)
def test_names_in_several_places_are_ambiguous_with_all_candidates(text, expected_codes):
    resolution = resolve(text)

    assert (resolution.outcome, resolution.code) == (Outcome.AMBIGUOUS, None)
    assert {candidate.code for candidate in resolution.candidates} == expected_codes
    assert str(len(expected_codes)) in resolution.reason


@pytest.mark.parametrize(
    ("text", "must_include"),
    [
        ("海南", {"460000", "632500"}),  # the province, and 青海's 海南藏族自治州
        ("吉林", {"220000", "220200"}),  # the province, and 吉林市
        ("大理", {"532900", "532901"}),  # the autonomous prefecture, and 大理市 inside it
    ],
)
def test_short_name_shared_by_a_province_and_a_prefecture_is_not_guessed(text, must_include):
    resolution = resolve(text)

    assert resolution.outcome == Outcome.AMBIGUOUS
    assert must_include <= {candidate.code for candidate in resolution.candidates}


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("", "空"),
        ("   ", "空"),
        ("abc", "abc"),
        ("%%%", "%%%"),
        ("临汾市锦江区", "成都市"),  # exists, but in 四川省 成都市, not in 临汾
        ("临汾市永和县某某村", "某某村"),  # villages are not in the catalogue
        ("北京市永和县", "临汾市"),
    ],
)
def test_rejects_text_that_names_no_division(text, reason_part):
    resolution = resolve(text)

    assert (resolution.outcome, resolution.code) == (Outcome.INVALID, None)
    assert reason_part in resolution.reason


def test_ignores_spaces_and_full_width_characters():
    assert resolve("山西省 临汾市 永和县").code == "141032"
    assert resolve("临汾市\u3000永和县").code == "141032"
    assert resolve(" 临汾市/永和县 ").code == "141032"
