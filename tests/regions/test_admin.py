import pytest

from regions.models import Division, ServiceArea

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client, administrator):
    client.force_login(administrator)
    return client


def test_division_list_shows_the_served_flag_per_row(admin_client_logged_in):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")

    response = admin_client_logged_in.get("/admin/regions/division/", {"q": "永和", "level__exact": "township"})

    assert response.status_code == 200
    rows = {division.code: division.is_served for division in response.context["cl"].result_list}
    assert rows["141032100"] is True  # 芝河镇, inside the served county
    assert any(served is False for served in rows.values())  # towns called 永和 elsewhere


def test_served_filter(admin_client_logged_in):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    in_shanxi = Division.objects.filter(ancestor_codes__contains=["140000"]).count() + 1

    served = admin_client_logged_in.get("/admin/regions/division/", {"served": "yes", "province": "140000"})
    not_served = admin_client_logged_in.get("/admin/regions/division/", {"served": "no", "province": "140000"})

    expected = {"141032", *Division.objects.filter(parent_id="141032").values_list("code", flat=True)}
    assert {division.code for division in served.context["cl"].result_list} == expected
    assert not_served.context["cl"].result_count == in_shanxi - len(expected)


def test_province_filter_keeps_only_that_province(admin_client_logged_in):
    response = admin_client_logged_in.get("/admin/regions/division/", {"province": "640000", "level__exact": "county"})

    result = response.context["cl"].result_list
    assert response.status_code == 200
    assert result and all(division.code.startswith("64") for division in result)


def test_catalogue_rows_cannot_be_added_or_deleted(admin_client_logged_in):
    assert admin_client_logged_in.get("/admin/regions/division/add/").status_code == 403
    assert admin_client_logged_in.get("/admin/regions/division/141032/delete/").status_code == 403


def test_service_area_admin_lists_entries(admin_client_logged_in):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")

    response = admin_client_logged_in.get("/admin/regions/servicearea/")

    assert response.status_code == 200
    assert "临汾市永和县" in response.content.decode()
