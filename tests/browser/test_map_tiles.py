"""The map at city scale in a real browser: grids and cases come as vector tiles (cases/tiles.py), the cases
in scope are drawn (clusters far out, points close up) and a click on a case opens it. The thresholds are
set to 0 so the tiny city takes the city-scale path. A screenshot goes to /tmp/map-shots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cases import actions
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/map-shots")


def tile_requests(browser, layer: str) -> list[str]:
    return browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.indexOf('/tiles/' + arguments[0] + '/') >= 0)", layer)


def test_the_map_draws_cases_and_grids_from_vector_tiles(live_server, browser, tiny_city, categories, settings):
    from django.core.cache import cache

    cache.clear()
    settings.MAP_TILES_FROM_CASES = 0
    settings.MAP_TILES_FROM_GRIDS = 0
    cases = [actions.report_case(reporter=tiny_city.g1_worker if lon < 113.01 else tiny_city.t1_operator,
                                 category=categories.garbage, lon=lon, lat=23.005, description="路边垃圾")[0]
             for lon in (113.004, 113.006, 113.015)]
    actions.report_case(reporter=tiny_city.g3_worker, category=categories.garbage, lon=113.025, lat=23.005,
                        description="另一个镇")  # Town Two's: never in Town One's tiles
    login(browser, live_server, "t1_operator")
    browser.get(f"{live_server.url}/cases/map/")
    el = WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.ID, "map") if d.find_element(By.ID, "map").get_attribute("data-cases") else None)
    # Town One's operator: its three cases, whatever the zoom the outlines framed.
    assert el.get_attribute("data-cases") == "3"
    assert tile_requests(browser, "cases") and tile_requests(browser, "grids")
    assert not browser.find_elements(By.CSS_SELECTOR, "#map .leaflet-overlay-pane path[data-level='5']")
    WebDriverWait(browser, 10).until(lambda d: int(el.get_attribute("data-grid-tiles-loaded") or 0) >= 2)

    # Close up, each case is a dot; a click on one opens it.
    case = cases[0]
    browser.execute_script(
        "document.getElementById('map').govgridMap.setView([23.005, 113.004], 18, {animate: false});")
    WebDriverWait(browser, 10).until(lambda d: any("/tiles/cases/18/" in n for n in tile_requests(d, "cases")))
    WebDriverWait(browser, 10).until(lambda d: el.get_attribute("data-cases") in ("1", "2"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "tiles-close.png"))
    ActionChains(browser).move_to_element(el).click().perform()  # the map's centre: the case's dot
    WebDriverWait(browser, 10).until(lambda d: f"/cases/{case.pk}/" in d.current_url)
