import pytest
from django.urls import reverse

from regions.models import ServiceArea

pytestmark = pytest.mark.django_db

URL = reverse("regions-api:search")


def _search(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


def test_chinese_name_matches_anywhere_in_the_path_county_first(client, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")

    response = _search(client, operator, q="永和")

    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0] == {
        "code": "141032",
        "name": "永和县",
        "level": "county",
        "level_label": "县级",
        "path": "山西省 临汾市 永和县",
        "served": True,
    }
    # then the towns called 永和 elsewhere, none of them served
    assert results[1]["level"] == "township" and results[1]["name"].startswith("永和")
    assert not any(result["served"] for result in results[1:] if not result["path"].startswith("山西省 临汾市 永和县"))


def test_path_only_matches_come_after_name_matches(client, operator):
    results = _search(client, operator, q="永和", limit=50).json()["results"]

    ranks = [0 if result["name"].startswith("永和") else 1 for result in results]
    assert ranks == sorted(ranks)
    assert any(result["path"] == "山西省 临汾市 永和县 芝河镇" for result in results)


def test_pinyin_initials_match_the_name(client, operator):
    results = _search(client, operator, q="yhx").json()["results"]

    assert "141032" in [result["code"] for result in results]
    assert all(result["level"] in {"county", "township"} for result in results[:5])


def test_several_words_narrow_the_search(client, operator):
    results = _search(client, operator, q="临汾 永和").json()["results"]

    assert results[0]["code"] == "141032"
    assert all("临汾" in result["path"] and "永和" in result["path"] for result in results)


def test_township_served_through_its_county(client, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")

    results = _search(client, operator, q="芝河镇").json()["results"]

    assert {(r["code"], r["served"]) for r in results if r["code"] == "141032100"} == {("141032100", True)}


def test_blank_query_gets_a_translated_message(client, operator):
    response = _search(client, operator, q="  ")

    assert response.status_code == 400
    assert response.json()["q"] == ["请输入地名的一部分或拼音首字母。"]


def test_no_match_is_an_empty_list(client, operator):
    response = _search(client, operator, q="火星基地")

    assert (response.status_code, response.json()) == (200, {"results": []})


@pytest.mark.parametrize("role", ["operator", "manager", "reviewer", "admin"])
def test_staff_roles_may_search(client, users_by_role, role):
    assert _search(client, users_by_role[role], q="永和").status_code == 200


def test_technicians_and_anonymous_callers_may_not(client, technician):
    assert client.get(URL, {"q": "永和"}).status_code == 403
    assert _search(client, technician, q="永和").status_code == 403


def test_query_count_does_not_grow_with_results(client, operator, django_assert_max_num_queries):
    client.force_login(operator)
    # session + user + permissions, the search, and one query for the served flags of all results
    with django_assert_max_num_queries(6):
        response = client.get(URL, {"q": "镇", "limit": 50})
    assert len(response.json()["results"]) == 50
