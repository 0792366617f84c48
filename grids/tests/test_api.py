"""The governance map over /api/v1/: scope, the within filter, locate, errors, schema."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

AREAS = "/api/v1/areas/"


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_anonymous_is_refused_with_a_json_message(tiny_city, client):
    response = client.get(AREAS)
    assert response.status_code in (401, 403)
    assert response.json()["detail"]


def test_token_authentication(tiny_city, client):
    token = Token.objects.create(user=tiny_city.t1_operator)
    response = client.get(AREAS, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert len(results(response)) == 4


def test_within_returns_exactly_the_subtree(tiny_city, api):
    client = api.as_(tiny_city.city_official)
    rows = results(client.get(AREAS, {"within": "980101001"}))
    assert [row["code"] for row in rows] == ["980101001", "980101001001", "980101001001001", "980101001001002"]
    assert rows[0]["level"] == 3 and rows[0]["parent_code"] == "980101"


def test_within_and_level_combine(tiny_city, api):
    client = api.as_(tiny_city.city_official)
    rows = results(client.get(AREAS, {"within": "980101", "level": 5}))
    assert {row["code"] for row in rows} == {"980101001001001", "980101001001002", "980101002001001"}


def test_within_an_unknown_code_is_a_400_that_names_it(tiny_city, api):
    response = api.as_(tiny_city.city_official).get(AREAS, {"within": "123"})
    assert response.status_code == 400
    assert "123" in response.json()["detail"]
    assert "within" in response.json()["errors"]


def test_within_another_towns_subtree_shows_nothing(tiny_city, api):
    assert results(api.as_(tiny_city.t1_operator).get(AREAS, {"within": "980101002"})) == []


def test_area_detail_by_code_carries_the_boundary(tiny_city, api):
    response = api.as_(tiny_city.t1_operator).get(f"{AREAS}980101001001001/")
    assert response.status_code == 200
    assert response.json()["boundary"]["type"] == "MultiPolygon"
    assert "boundary" not in results(api.as_(tiny_city.t1_operator).get(AREAS))[0]


def test_area_outside_scope_is_404(tiny_city, api):
    response = api.as_(tiny_city.t1_operator).get(f"{AREAS}980101002001001/")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_grids_list_with_profiles_and_filters(tiny_city, api):
    client = api.as_(tiny_city.district_lead)
    rows = results(client.get("/api/v1/grids/"))
    assert len(rows) == 3 and rows[0]["profile"]["households"] == 400
    assert results(client.get("/api/v1/grids/", {"outside_guidance": "true"})) == []


def test_grid_worker_lists_only_own_grid(tiny_city, api):
    rows = results(api.as_(tiny_city.g1_worker).get("/api/v1/grids/"))
    assert [row["code"] for row in rows] == ["980101001001001"]


def test_departments_are_scoped(tiny_city, api):
    rows = results(api.as_(tiny_city.t2_operator).get("/api/v1/departments/"))
    assert {row["name"] for row in rows} == {"Town Two 司法所", "East 城管局"}
    rows = results(api.as_(tiny_city.handler).get("/api/v1/departments/"))
    assert [row["name"] for row in rows] == ["Town One 城管中队"]
    other = tiny_city.town2_justice.pk
    assert api.as_(tiny_city.handler).get(f"/api/v1/departments/{other}/").status_code == 404


def test_departments_filter_by_subtree_and_kind(tiny_city, api):
    client = api.as_(tiny_city.admin)
    rows = results(client.get("/api/v1/departments/", {"within": "980101001"}))
    assert [row["name"] for row in rows] == ["Town One 城管中队"]
    rows = results(client.get("/api/v1/departments/", {"kind": "justice"}))
    assert [row["name"] for row in rows] == ["Town Two 司法所"]


def test_cursor_pagination(tiny_city, api):
    client = api.as_(tiny_city.admin)
    first = client.get(AREAS, {"page_size": 4}).json()
    assert len(first["results"]) == 4 and first["next"]
    second = client.get(first["next"]).json()
    assert {r["code"] for r in first["results"]}.isdisjoint({r["code"] for r in second["results"]})


def test_locate_in_scope(tiny_city, api):
    response = api.as_(tiny_city.g1_worker).get("/api/v1/locate/", {"lon": 113.005, "lat": 23.005})
    assert response.status_code == 200
    assert response.json()["code"] == "980101001001001"


def test_locate_outside_scope_looks_like_outside_the_map(tiny_city, api):
    client = api.as_(tiny_city.g1_worker)
    elsewhere = client.get("/api/v1/locate/", {"lon": 113.025, "lat": 23.005})
    nowhere = client.get("/api/v1/locate/", {"lon": 120.0, "lat": 23.005})
    assert elsewhere.status_code == nowhere.status_code == 404
    assert elsewhere.json() == nowhere.json()


def test_locate_outside_every_grid_tells_an_admin(tiny_city, api):
    response = api.as_(tiny_city.admin).get("/api/v1/locate/", {"lon": 120.0, "lat": 23.005})
    assert response.status_code == 404
    assert "outside every grid" in response.json()["detail"] or "网格" in response.json()["detail"]


@pytest.mark.parametrize("params", [{}, {"lon": "abc", "lat": 23}, {"lon": 200, "lat": 23}])
def test_locate_bad_input_is_a_400_naming_the_field(tiny_city, api, params):
    response = api.as_(tiny_city.admin).get("/api/v1/locate/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and set(body["errors"]) <= {"lon", "lat"}


def test_errors_are_in_the_users_language(tiny_city, api):
    client = api.as_(tiny_city.admin)
    chinese = client.get("/api/v1/locate/", {"lat": 23}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    english = client.get("/api/v1/locate/", {"lat": 23}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["errors"]["lon"] == ["This field is required."]
    assert chinese["errors"]["lon"] == ["该字段是必填项。"]


def test_openapi_schema_lists_the_endpoints(tiny_city, client):
    response = client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/areas/", "/api/v1/grids/", "/api/v1/departments/", "/api/v1/locate/"):
        assert path in paths


def test_swagger_ui_is_served_without_internet(tiny_city, client):
    html = client.get(reverse("swagger-ui")).content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html


def test_openapi_schema_is_valid_without_warnings(db, tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/cases/{id}/dispatch/" in (tmp_path / "schema.yml").read_text()
