"""The report pages: the dashboard, the big screen and the map data, on the hand-built holiday week.

Figures are those of reports/tests/scenario.py (worked out by hand); every page and endpoint is tried
from outside the user's scope (404) and by roles the reports are not for (403).
"""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from reports import dashboard, kpis
from reports.tests import scenario
from reports.tests.scenario import CITY_COUNTS, END, START

PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


@pytest.fixture
def week(tiny_city, categories):
    return scenario.build(tiny_city, categories)


@pytest.fixture
def town_official(tiny_city):
    return scenario.town_official(tiny_city, tiny_city.town1)


def client_for(user) -> Client:
    """Logged in as ``user``, in English (the pages speak Chinese unless the language cookie says otherwise)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_city_dashboard_shows_the_weeks_figures(week, tiny_city, english):
    response = client_for(tiny_city.city_official).get("/reports/", {"area": "9801", **PERIOD})
    assert response.status_code == 200
    tiles = {tile["name"]: tile for tile in response.context["tiles"]}
    assert tiles["reported"]["value"] == CITY_COUNTS["reported"] == 9
    assert tiles["closed"]["display"] == "4" and tiles["accepted"]["display"] == "5"
    assert tiles["on_time_rate"]["display"] == "75.0%" and tiles["on_time_rate"]["tone"] == "neutral"
    assert tiles["rework_rate"]["display"] == "25.0%" and tiles["avg_handle_hours"]["display"] == "4.9 h"
    # The 12 days before had nothing: counts rise from 0 (no ratio), rates have no previous value.
    assert tiles["reported"]["arrow"] == "▲" and tiles["reported"]["change"] == "9"
    html = response.content.decode()
    for text in ("75.0%", "71.4%", "80.0%", "12.5%", "100.0%", "4.9 h", "East District", "Town One 城管中队"):
        assert text in html, text
    assert 'id="chart-trend"' in html and 'id="report-charts"' in html and 'id="report-map"' in html


def test_tiles_compare_with_the_previous_period(week, tiny_city):
    # 1–9 Oct against 22–30 Sep: the reports of 30 Sep fall in the previous period.
    response = client_for(tiny_city.city_official).get("/reports/", {"area": "9801", "start": "2026-10-01",
                                                                    "end": "2026-10-09"})
    tiles = {tile["name"]: tile for tile in response.context["tiles"]}
    change = kpis.change_from_previous(tiny_city.city, date(2026, 10, 1), date(2026, 10, 9))
    assert tiles["reported"]["value"] == 0 and tiles["reported"]["arrow"] == "▼"
    assert tiles["reported"]["change"] == "100%" and tiles["reported"]["previous"] == "9"
    assert tiles["closed"]["value"] == change["counts"]["closed"]["current"] == 2
    assert tiles["closed"]["arrow"] == "="  # 2 closed on 30 Sep, 2 on 8 Oct
    on_time = change["rates"]["on_time_rate"]
    assert tiles["on_time_rate"]["display"] == f"{on_time['current'] * 100:.1f}%"
    assert tiles["on_time_rate"]["tone"] == ("good" if on_time["delta"] > 0 else "bad")


def test_ranking_has_lights_and_drills_down_one_level(week, tiny_city):
    client = client_for(tiny_city.city_official)
    response = client.get("/reports/", {"area": "980101", **PERIOD})
    ranking = response.context["ranking"].rows
    assert [(row["code"], row["reported"], row["light"]) for row in ranking] == [
        ("980101001", 8, "yellow"),  # Town One: 3 of 4 due closed on time = 75 %
        ("980101002", 1, ""),  # Town Two: nothing due, no light
    ]
    html = response.content.decode()
    assert f'href="/reports/?area=980101001&amp;start={START}&amp;end={END}"' in html
    assert "light light-yellow" in html
    # One level down: Town One's page lists its community, with the way back up.
    town = client.get("/reports/", {"area": "980101001", **PERIOD})
    assert [row["code"] for row in town.context["ranking"].rows] == ["980101001001"]
    assert [crumb["code"] for crumb in town.context["breadcrumb"]] == ["9801", "980101", "980101001"]
    assert f'href="/reports/?area=980101&amp;start={START}&amp;end={END}">East District</a>' in town.content.decode()


def test_lights_follow_the_thresholds():
    assert dashboard.ON_TIME_GREEN == 0.90 and dashboard.ON_TIME_YELLOW == 0.75
    assert [dashboard.on_time_light(r) for r in (1.0, 0.9, 0.8999, 0.75, 0.7499, 0, None)] == [
        "green", "green", "yellow", "yellow", "red", "red", ""]


def test_a_town_official_sees_no_way_up_out_of_their_town(week, tiny_city, town_official):
    page = client_for(town_official).get("/reports/", {"area": tiny_city.comm_a.code, **PERIOD})
    assert [crumb["code"] for crumb in page.context["breadcrumb"]] == ["980101001", "980101001001"]
    html = page.content.decode()
    assert "area=980101&amp;" not in html and "area=9801&amp;" not in html


def test_a_grid_has_no_ranking_but_a_map(week, tiny_city):
    response = client_for(tiny_city.city_official).get("/reports/", {"area": tiny_city.g1.code, **PERIOD})
    assert response.status_code == 200 and response.context["ranking"] is None
    data = client_for(tiny_city.city_official).get("/reports/map.json", {"area": tiny_city.g1.code, **PERIOD}).json()
    assert [f["properties"]["code"] for f in data["features"]] == [tiny_city.g1.code]
    assert data["features"][0]["properties"]["reported"] == 8 and "cells" not in data


def test_departments_and_overdue_on_the_page(week, tiny_city):
    with time_machine.travel(scenario.at(20, 9), tick=False):
        response = client_for(tiny_city.city_official).get("/reports/", {"area": "9801", **PERIOD})
    assert [row["name"] for row in response.context["departments"].rows] == ["East 城管局", "Town One 城管中队"]
    overdue = response.context["overdue"].rows
    assert [row["id"] for row in overdue] == [week.h.pk, week.j.pk]
    html = response.content.decode()
    assert f'href="/cases/{week.h.pk}/"' in html and f'href="/cases/{week.j.pk}/"' in html


def test_default_area_and_period(week, tiny_city, town_official):
    with time_machine.travel(scenario.at(20, 9), tick=False):
        response = client_for(tiny_city.city_official).get("/reports/")
        assert response.context["area"].code == "9801"
        period = response.context["period"]
        assert (period.start, period.end, period.range) == (date(2026, 10, 1), date(2026, 10, 20), "month")
        assert client_for(town_official).get("/reports/").context["area"].code == "980101001"
        last_month = client_for(tiny_city.city_official).get("/reports/", {"range": "last_month"}).context["period"]
        assert (last_month.start, last_month.end) == (date(2026, 9, 1), date(2026, 9, 30))
        seven = client_for(tiny_city.city_official).get("/reports/", {"range": "7d"}).context["period"]
        assert (seven.start, seven.end) == (date(2026, 10, 14), date(2026, 10, 20))
        year = client_for(tiny_city.city_official).get("/reports/", {"range": "year"}).context["period"]
        assert (year.start, year.trend) == (date(2026, 1, 1), "month")


def test_a_bad_period_says_so_and_shows_this_month(tiny_city, english):
    response = client_for(tiny_city.city_official).get("/reports/", {"start": "2026-10-09", "end": "2026-09-28"})
    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()
    assert response.context["period"].range == "month"


PAGES = ("/reports/", "/reports/screen/", "/reports/map.json", "/reports/export/ranking.csv",
         "/reports/export/trend.xlsx", "/reports/export/overdue.csv")


@pytest.mark.parametrize("url", PAGES)
def test_a_town_official_cannot_see_another_town(week, tiny_city, town_official, url):
    client = client_for(town_official)
    assert client.get(url, {"area": tiny_city.town1.code, **PERIOD}).status_code == 200
    assert client.get(url, {"area": tiny_city.g1.code, **PERIOD}).status_code == 200  # below is in scope
    for outside in (tiny_city.town2.code, tiny_city.comm_b.code, tiny_city.district.code, "9801", "nope"):
        assert client.get(url, {"area": outside, **PERIOD}).status_code == 404, outside


@pytest.mark.parametrize("url", PAGES + ("/reports/monthly/",))
def test_the_reports_are_for_officials_centre_staff_and_admins(tiny_city, url):
    for user in (tiny_city.g1_worker, tiny_city.handler, tiny_city.nobody):
        assert client_for(user).get(url).status_code == 403, user
    assert Client().get(url).status_code == 302  # to the login page
    for user in (tiny_city.t1_operator, tiny_city.district_lead, tiny_city.admin):
        assert client_for(user).get(url).status_code == 200, user


def test_the_nav_link_shows_for_those_it_is_for(tiny_city):
    assert 'href="/reports/"' in client_for(tiny_city.t1_operator).get("/cases/").content.decode()
    assert 'href="/reports/"' in client_for(tiny_city.city_official).get("/cases/").content.decode()
    assert 'href="/reports/"' not in client_for(tiny_city.handler).get("/cases/").content.decode()


def test_the_map_colours_child_areas_and_their_grids(week, tiny_city):
    data = client_for(tiny_city.city_official).get("/reports/map.json", {"area": "980101", **PERIOD}).json()
    children = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    assert {code: p["reported"] for code, p in children.items()} == {"980101001": 8, "980101002": 1}
    assert children["980101001"]["url"] == f"/reports/?area=980101001&start={START}&end={END}"
    assert children["980101001"]["light"] == "yellow"
    cells = {f["properties"]["code"]: f["properties"]["reported"] for f in data["cells"]["features"]}
    assert cells == {tiny_city.g1.code: 8, tiny_city.g2.code: 0, tiny_city.g3.code: 1}
    assert data["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_the_big_screen_and_its_refresh(week, tiny_city, english):
    client = client_for(tiny_city.city_official)
    page = client.get("/reports/screen/", {"area": "9801", **PERIOD})
    html = page.content.decode()
    assert page.status_code == 200 and 'class="screen"' in html
    assert 'hx-trigger="every 60s"' in html and 'id="screen-trend"' in html and 'id="screen-map"' in html
    assert [tile["name"] for tile in page.context["screen_tiles"]] == [
        "reported", "accepted", "closed", "closure_rate", "on_time_rate", "satisfaction_rate"]
    assert len(page.context["charts"]["trend"]["labels"]) == 30  # the last 30 days, whatever the period
    partial = client.get("/reports/screen/", {"area": "9801", **PERIOD}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert body.startswith('<div id="screen-live"') and "<html" not in body
    assert "75.0%" in body and 'id="screen-charts"' in body


def test_the_dashboards_queries_do_not_grow_with_the_cases(week, tiny_city, categories):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(tiny_city.city_official)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/reports/", {"area": "9801", **PERIOD}).status_code == 200
        return len(captured)

    queries()  # warms the per-user caches (the emergency banner, cases.context): the first page reads it
    before = queries()
    with time_machine.travel(scenario.sep30(9, 30), tick=False):
        for _n in range(5):
            scenario.report(tiny_city, categories)
    # 20, the disputes card's 4 (cases.dispute_selectors.area_figures), the party card's 3 (parties.party_figures)
    assert queries() == before <= 27
