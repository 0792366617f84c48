"""The report dashboard and the big screen in a real browser: charts drawn, map filled, drill-down."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from reports.tests import scenario
from tests.browser.conftest import login, make_driver, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PERIOD = f"start={scenario.START}&end={scenario.END}"


@pytest.fixture
def week(tiny_city, categories):
    return scenario.build(tiny_city, categories)


def test_the_dashboard_draws_its_charts_and_drills_down(live_server, browser, tiny_city, week):
    login(browser, live_server, "city_official")
    browser.get(f"{live_server.url}/reports/?area=980101&{PERIOD}")
    # ECharts draws on a canvas inside each chart's box; the map marks itself once its areas are in.
    wait_for(browser, "#chart-trend[data-drawn='1'] canvas")
    wait_for(browser, "#chart-categories[data-drawn='1'] canvas")
    assert wait_for(browser, "#report-map[data-areas]").get_attribute("data-areas") == "2"
    assert browser.find_elements(By.CSS_SELECTOR, "#report-map path.leaflet-interactive")
    tiles = {t.get_attribute("data-kpi"): t.find_element(By.CSS_SELECTOR, ".rp-value").text
             for t in browser.find_elements(By.CSS_SELECTOR, ".rp-tile")}
    assert tiles["reported"] == "9" and tiles["on_time_rate"] == "75.0%"

    browser.find_element(By.CSS_SELECTOR, "#ranking a.drill").click()  # Town One, first in the ranking
    WebDriverWait(browser, 10).until(lambda d: "area=980101001" in d.current_url)
    assert "Town One" in browser.find_element(By.CSS_SELECTOR, "h1").text
    wait_for(browser, "#chart-trend[data-drawn='1'] canvas")
    crumbs = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".crumbs a")]
    assert crumbs == ["Testville", "East District"]
    browser.find_element(By.LINK_TEXT, "East District").click()  # and back up
    WebDriverWait(browser, 10).until(lambda d: "area=980101&" in d.current_url or d.current_url.endswith("=980101"))


def test_the_big_screen_draws_and_refreshes(live_server, tiny_city, week):
    driver = make_driver(1920, 1080)
    try:
        login(driver, live_server, "city_official")
        driver.get(f"{live_server.url}/reports/screen/?area=9801&{PERIOD}")
        wait_for(driver, "#screen-trend[data-drawn='1'] canvas")
        wait_for(driver, "#screen-categories[data-drawn='1'] canvas")
        wait_for(driver, "#screen-map[data-areas]")
        assert driver.find_element(By.CSS_SELECTOR, "[data-kpi=reported] .sc-value").text == "9"
        # What the minute's refresh does, now: htmx swaps the figures in and the charts are drawn again.
        driver.execute_script("""
            document.querySelector('#screen-trend').dataset.old = '1';
            var live = document.querySelector('#screen-live');
            htmx.ajax('GET', live.getAttribute('hx-get'), {target: '#screen-live', swap: 'outerHTML'});""")
        wait_for(driver, "#screen-trend[data-drawn='1']:not([data-old]) canvas")
        assert driver.find_element(By.CSS_SELECTOR, "[data-kpi=reported] .sc-value").text == "9"
    finally:
        driver.quit()
