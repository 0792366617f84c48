"""Every case gets an address (issue #10, item 4): the nearest standard address within 50 m, else the
community and grid names; what the reporter typed stays; the phone form asks /m/address/ beforehand."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import actions
from cases.models import Case
from cases.tests.conftest import categories  # noqa: F401 (fixture)
from parties.addresses import nearest_address
from parties.models import Building

# At 23° N one thousandth of a degree is ~102 m of longitude and ~111 m of latitude.
AT = (113.005, 23.005)


def building(city, number: str, address: str, lon: float, lat: float, grid=None) -> Building:
    grid = grid or city.g1
    return Building.objects.create(number=number, address=address, point=Point(lon, lat, srid=4326), grid=grid,
                                   area_path=grid.path)


def report(city, cats, **extra) -> Case:
    case, _created = actions.report_case(reporter=city.g1_worker, category=cats.garbage, lon=AT[0], lat=AT[1],
                                         description="路口东侧有一堆暴露垃圾", **extra)
    return case


def test_a_case_without_address_gets_the_nearest_building_within_50_m(tiny_city, categories):  # noqa: F811
    building(tiny_city, "7", "幸福路7号", AT[0] + 0.0002, AT[1])          # ~20 m east
    building(tiny_city, "9", "幸福路9号", AT[0] + 0.0004, AT[1])          # ~41 m east
    building(tiny_city, "1", "幸福路1号", AT[0] - 0.002, AT[1])           # ~205 m west
    assert report(tiny_city, categories).address == "幸福路7号"


def test_nearest_is_in_metres_not_in_degrees(tiny_city):
    # 0.00045° of longitude (~46 m) is farther in degrees but nearer in metres than 0.00043° of latitude
    # (~47.6 m): the index's first neighbour alone would pick the wrong one.
    building(tiny_city, "E", "东楼", AT[0] + 0.00045, AT[1])
    building(tiny_city, "N", "北楼", AT[0], AT[1] + 0.00043)
    found, metres = nearest_address(Point(*AT, srid=4326))
    assert found.address == "东楼" and 45 < metres < 47.5


def test_nearest_uses_the_index_scan(tiny_city):
    building(tiny_city, "7", "幸福路7号", AT[0] + 0.0002, AT[1])
    with CaptureQueriesContext(connection) as queries:
        nearest_address(Point(*AT, srid=4326))
    sql = queries.captured_queries[-1]["sql"]
    assert "<->" in sql and "LIMIT" in sql


def test_without_a_building_within_50_m_the_community_and_grid_names(tiny_city, categories):  # noqa: F811
    building(tiny_city, "9", "幸福路9号", AT[0] + 0.0006, AT[1])  # ~61 m: too far
    assert report(tiny_city, categories).address == "Community A A-1"
    assert nearest_address(Point(*AT, srid=4326)) is None


def test_what_the_reporter_typed_is_kept(tiny_city, categories):  # noqa: F811
    building(tiny_city, "7", "幸福路7号", AT[0] + 0.0002, AT[1])
    assert report(tiny_city, categories, address="  幸福路7号后巷垃圾桶旁 ").address == "幸福路7号后巷垃圾桶旁"


def test_api_report_gets_an_address_too(api, tiny_city, categories):  # noqa: F811
    building(tiny_city, "7", "幸福路7号", AT[0] + 0.0002, AT[1])
    response = api.as_(tiny_city.g1_worker).post("/api/v1/cases/", {
        "category": categories.garbage.code, "description": "垃圾", "lon": AT[0], "lat": AT[1],
    }, format="json")
    assert response.status_code == 201, response.content
    assert Case.objects.get().address == "幸福路7号"


# --- the phone form ------------------------------------------------------------------------


@pytest.fixture
def worker(client, tiny_city):
    client.force_login(tiny_city.g1_worker)
    return client


def test_the_suggestion_endpoint_answers_the_address_for_a_point(worker, tiny_city):
    building(tiny_city, "7", "幸福路7号", AT[0] + 0.0002, AT[1])
    body = worker.get("/m/address/", {"lon": AT[0], "lat": AT[1]}).json()
    assert body["address"] == "幸福路7号" and body["source"] == "building" and 19 < body["distance_m"] < 22
    body = worker.get("/m/address/", {"lon": 113.008, "lat": 23.008}).json()
    assert body == {"address": "Community A A-1", "source": "grid", "distance_m": None}


def test_the_suggestion_endpoint_says_nothing_outside_the_users_grids_or_for_bad_input(worker, tiny_city):
    building(tiny_city, "B7", "B区7号", 113.025, 23.005, grid=tiny_city.g3)
    empty = {"address": "", "source": "", "distance_m": None}
    assert worker.get("/m/address/", {"lon": 113.025, "lat": 23.005}).json() == empty  # g3: not g1_worker's
    assert worker.get("/m/address/", {"lon": "x", "lat": "nan"}).json() == empty
    assert worker.get("/m/address/", {"lon": 120, "lat": 30}).json() == empty  # no grid there


def test_the_suggestion_endpoint_needs_a_login(client, tiny_city):
    assert client.get("/m/address/", {"lon": AT[0], "lat": AT[1]}).status_code == 302


def test_the_report_form_shows_the_address_field_and_files_blank_or_typed(worker, tiny_city, categories):  # noqa: F811
    building(tiny_city, "7", "幸福路7号", AT[0] + 0.0002, AT[1])
    html = worker.get("/m/report/").content.decode()
    assert 'name="address"' in html and 'data-address-url="/m/address/"' in html and "js/address.js" in html
    data = {"category": categories.garbage.pk, "description": "垃圾", "mode": "normal", "lon": AT[0], "lat": AT[1]}
    worker.post("/m/report/", {**data, "client_uuid": str(uuid.uuid4()), "address": ""})
    worker.post("/m/report/", {**data, "client_uuid": str(uuid.uuid4()), "address": "幸福路7号东门"})
    assert list(Case.objects.order_by("pk").values_list("address", flat=True)) == ["幸福路7号", "幸福路7号东门"]
