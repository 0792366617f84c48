"""The shared pages in a real browser: login, the role's home, the case list, a case's page, the map."""

import pytest
from selenium.webdriver.common.by import By

from cases import actions
from tests.browser.conftest import login, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_lands_each_role_on_its_home(live_server, browser, tiny_city):
    login(browser, live_server, "t1_operator")
    assert "/centre/" in browser.current_url or "/cases/" in browser.current_url
    browser.delete_all_cookies()
    login(browser, live_server, "handler")
    assert "/dept/" in browser.current_url or "/cases/" in browser.current_url


def test_wrong_password_says_so_in_chinese(live_server, browser, tiny_city):
    browser.get(live_server.url + "/login/")
    browser.find_element(By.NAME, "username").send_keys("t1_operator")
    browser.find_element(By.NAME, "password").send_keys("wrong")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    error = wait_for(browser, "[role=alert]")
    assert "用户名" in error.text or "密码" in error.text


def test_language_switch_to_english(live_server, browser, tiny_city):
    login(browser, live_server, "t1_operator")
    browser.get(live_server.url + "/cases/")
    assert "案件" in browser.find_element(By.CSS_SELECTOR, "h1").text
    select = browser.find_element(By.CSS_SELECTOR, ".userbar select[name=language]")
    select.find_element(By.CSS_SELECTOR, "option[value=en]").click()
    wait_for(browser, "h1")
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == "Cases"


def test_case_page_shows_actions_and_the_map(live_server, browser, tiny_city, categories):
    case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.005, lat=23.005,
                                  description="路边垃圾")
    login(browser, live_server, "t1_operator")
    browser.get(f"{live_server.url}/cases/{case.pk}/")
    assert "路边垃圾" in browser.page_source
    summaries = [s.text for s in browser.find_elements(By.CSS_SELECTOR, "details.action > summary")]
    assert "受理立案" in summaries and "不予立案" in summaries
    # The map draws on a canvas; it marks itself when the case's grid is outlined and in view.
    wait_for(browser, "#case-map[data-grid_shown='1']")


def test_the_map_shows_grids_and_open_cases(live_server, browser, tiny_city, categories):
    for lon in (113.004, 113.006, 113.015):  # the last in grid A-2, reported by the town's centre
        reporter = tiny_city.g1_worker if lon < 113.01 else tiny_city.t1_operator
        actions.report_case(reporter=reporter, category=categories.garbage, lon=lon, lat=23.005,
                            description="路边垃圾")
    login(browser, live_server, "t1_operator")
    browser.get(f"{live_server.url}/cases/map/")
    element = wait_for(browser, "#map[data-cases]")
    # Town One's operator sees the three cases of Town One and nothing else.
    assert element.get_attribute("data-cases") == "3"
    assert browser.find_elements(By.CSS_SELECTOR, "#map .marker-cluster, #map canvas")
