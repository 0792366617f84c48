"""The map looks like the city: with no tile server configured, the map page draws the demo city's
real-shaped outline, its districts and towns (SVG paths) with their names, on a land colour, and the
grids above. Screenshots go to /tmp/map-shots/ for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from grids.seed import DEFAULT_DEMO_PASSWORD, seed_city
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/map-shots")


def test_the_map_draws_the_real_outlines_with_their_names(live_server, browser, settings, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    settings.MAP_TILE_URL = ""
    seed_city("demo")
    login(browser, live_server, "official", DEFAULT_DEMO_PASSWORD)
    browser.get(live_server.url + "/cases/map/")
    el = WebDriverWait(browser, 15).until(
        lambda d: d.find_element(By.ID, "map") if d.find_element(By.ID, "map").get_attribute("data-outlines") else None
    )
    WebDriverWait(browser, 15).until(lambda d: el.get_attribute("data-cases") is not None)
    # City, districts and towns as SVG paths, one per area, each marked with its level.
    paths = {level: browser.find_elements(By.CSS_SELECTOR, f'#map svg path[data-level="{level}"]')
             for level in (1, 2, 3)}
    assert [len(paths[level]) for level in (1, 2, 3)] == [1, 2, 4]
    # The outline is the real (borrowed) shape, not a rectangle: its SVG path has many vertices.
    assert paths[1][0].get_attribute("d").count("L") > 100
    # Their names, placed without overlapping; the districts' at least.
    names = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "#map .map-label span")}
    assert {"东湖区", "西岭区"} <= names
    assert browser.find_elements(By.CSS_SELECTOR, "#map .map-label-city, #map .map-label-town")
    # No tiles, and a land colour instead of Leaflet's grey plane.
    assert not browser.find_elements(By.CSS_SELECTOR, "#map .leaflet-tile")
    assert "map-land" in el.get_attribute("class")
    assert el.value_of_css_property("background-color") not in ("rgba(221, 221, 221, 1)", "rgba(0, 0, 0, 0)")
    # The grids are drawn too (a canvas above the land and under the borders).
    assert browser.find_elements(By.CSS_SELECTOR, "#map .leaflet-overlay-pane canvas")
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "demo-map.png"))
