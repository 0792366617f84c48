"""The live command screen in a real browser against a real live process: a case reported while the
screen is open appears in the feed, the figures and on the map within seconds, without a reload."""

import pytest
from selenium.webdriver.common.by import By

from cases import actions
from tests.browser.conftest import login, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_case_appears_on_the_open_screen_without_reloading(live_server, live_stream, settings, browser,
                                                                 tiny_city, categories):
    # As under `make run`: the page from the web server, the stream from the live process's own port.
    settings.LIVE_STREAM_PORT = live_stream.port
    settings.LIVE_ALLOWED_ORIGINS = [live_server.url]
    login(browser, live_server, "t1_operator")
    browser.get(f"{live_server.url}/command/live/")
    wait_for(browser, "#live[data-state='live']")
    assert "实时指挥" in browser.find_element(By.CSS_SELECTOR, "h1").text
    assert browser.find_element(By.ID, "live-state-text").text == "实时"
    wait_for(browser, "#live-map[data-areas]")
    browser.execute_script("window.stillTheSamePage = true;")

    def figure(name: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f"[data-counter='{name}'] .sc-value").text

    assert figure("new_today") == "0" and figure("open") == "0"
    case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.005,
                                  lat=23.005, description="路边有一堆暴露垃圾")

    item = wait_for(browser, f"#live-feed li[data-id='{case.pk}']", timeout=10)
    assert "暴露垃圾" in item.text and case.number in item.text
    assert figure("new_today") == "1" and figure("open") == "1"
    assert browser.find_element(By.ID, "live-map").get_attribute("data-cases") == "1"
    assert browser.execute_script("return window.stillTheSamePage === true;")

    # One column on a phone, nothing wider than the screen.
    browser.set_window_size(390, 844)
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth;")
