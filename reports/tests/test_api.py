"""The reports API: figures of areas in scope only (404 outside), clear 400s, and in the OpenAPI schema."""

from __future__ import annotations

import pytest
import time_machine

from reports.tests import scenario
from reports.tests.scenario import CITY_COUNTS, CITY_RATES

KPIS, TREND, DEPARTMENTS, OVERDUE = (f"/api/v1/reports/{name}/" for name in ("kpis", "trend", "departments", "overdue"))
PERIOD = {"start": "2026-09-28", "end": "2026-10-09"}
ENDPOINTS = (KPIS, TREND, DEPARTMENTS, OVERDUE)


@pytest.fixture
def week(tiny_city, categories):
    return scenario.build(tiny_city, categories)


def get(client, url, **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


def test_city_official_reads_the_city_figures(week, tiny_city, api):
    response = get(api.as_(tiny_city.city_official), KPIS, area="9801", **PERIOD)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["counts"] == CITY_COUNTS and body["rates"] == CITY_RATES
    assert body["legacy"]["reported"] == 1 and body["start"] == "2026-09-28"
    by_area = get(api, KPIS, area="980101", by="area", **PERIOD).json()
    assert [(row["key"], row["counts"]["reported"]) for row in by_area["rows"]] == [("980101001", 8),
                                                                                  ("980101002", 1)]
    by_department = get(api, KPIS, area="9801", by="department", **PERIOD).json()["rows"]
    assert {row["label"] for row in by_department} == {"Town One 城管中队", "East 城管局"}


def test_trend_departments_and_overdue(week, tiny_city, api):
    client = api.as_(tiny_city.city_official)
    trend = get(client, TREND, area="9801", period="week", **PERIOD).json()
    assert [row["key"] for row in trend["rows"]] == ["2026-09-28", "2026-10-05"]
    league = get(client, DEPARTMENTS, area="9801", **PERIOD).json()
    assert [row["department"]["name"] for row in league["rows"]] == ["East 城管局", "Town One 城管中队"]
    with time_machine.travel(scenario.at(20, 9), tick=False):
        overdue = get(client, OVERDUE, area="9801", limit=5).json()
    assert [row["id"] for row in overdue["rows"]] == [week.h.pk, week.j.pk]  # accepted, never dispatched


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_town_official_cannot_read_another_towns_figures(week, tiny_city, api, url):
    official = scenario.town_official(tiny_city, tiny_city.town1)
    client = api.as_(official)
    assert get(client, url, area=tiny_city.town1.code, **PERIOD).status_code == 200
    for outside in (tiny_city.town2.code, tiny_city.district.code, tiny_city.city.code, "no-such-area"):
        response = get(client, url, area=outside, **PERIOD)
        assert response.status_code == 404, (outside, response.content)
    assert get(client, url, area=tiny_city.g1.code, **PERIOD).status_code == 200  # below is in scope


@pytest.mark.parametrize("url", ENDPOINTS)
def test_people_without_an_area_see_no_figures(week, tiny_city, api, url):
    for user in (tiny_city.handler, tiny_city.nobody):
        assert get(api.as_(user), url, area="9801", **PERIOD).status_code == 404
    assert get(api.as_(tiny_city.g3_worker), url, area="980101001001001", **PERIOD).status_code == 404
    api.logout()
    assert get(api, url, area="9801", **PERIOD).status_code in (401, 403)


@pytest.mark.parametrize(("params", "field"), [
    ({}, "area"),
    ({"area": "9801", "by": "colour"}, "by"),
    ({"area": "9801", "start": "2026-10-09", "end": "2026-09-28"}, "end"),
    ({"area": "9801", "start": "yesterday"}, "start"),
    ({"area": "9801", "start": "2020-01-01", "end": "2026-01-01"}, "start"),
])
def test_bad_parameters_are_400_naming_the_field(tiny_city, api, params, field):
    response = get(api.as_(tiny_city.city_official), KPIS, **params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_bad_trend_period_and_overdue_limit(tiny_city, api):
    client = api.as_(tiny_city.city_official)
    assert "period" in get(client, TREND, area="9801", period="year").json()["errors"]
    assert "limit" in get(client, OVERDUE, area="9801", limit=0).json()["errors"]


def test_the_period_defaults_to_the_last_30_days(tiny_city, api):
    body = get(api.as_(tiny_city.city_official), KPIS, area="9801").json()
    from datetime import date

    start, end = date.fromisoformat(body["start"]), date.fromisoformat(body["end"])
    assert (end - start).days == 29


def test_the_endpoints_are_in_the_openapi_schema(tiny_city, api):
    response = api.as_(tiny_city.admin).get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    for url in ENDPOINTS:
        assert url in paths
    parameters = {p["name"] for p in paths[KPIS]["get"]["parameters"]}
    assert {"area", "start", "end", "by"} <= parameters
