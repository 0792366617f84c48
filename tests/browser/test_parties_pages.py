"""People and places in a real (emulated 390×844 touch) browser: a grid worker records a visit on the
phone and reports its finding in one more tap; the report form fills in the address as the pin moves;
the map shows the building layer. Screenshots go to /tmp/parties-shots/ for people to look at."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cases.models import Case
from cases.tests.conftest import PNG, categories  # noqa: F401 (fixture)
from parties.models import Visit
from parties.tests.test_pages import town  # noqa: F401 (fixture)
from tests.browser.conftest import login, set_geolocation, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/parties-shots")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def png(tmp_path) -> str:
    path = tmp_path / "photo.png"
    path.write_bytes(PNG)
    return str(path)


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / name))


def tap(driver, element) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def value(driver, name: str) -> str:
    return driver.find_element(By.NAME, name).get_attribute("value")


def test_a_visit_on_the_phone_and_its_finding_reported_in_one_more_tap(live_server, phone, town,  # noqa: F811
                                                                        categories, png):  # noqa: F811
    login(phone, live_server, "g1_worker")
    tap(phone, phone.find_element(By.ID, "my-grid-people"))
    wait_for(phone, "#visits-due")
    rows = phone.find_elements(By.CSS_SELECTOR, "#visits-due .caselist li a")
    assert [r.find_element(By.CSS_SELECTOR, ".title").text.split(" · ")[0] for r in rows] == ["王阿婆", "李租客"]
    assert "超期" in rows[0].text  # overdue first, and marked
    shot(phone, "my-grid.png")
    phone.get(f"{live_server.url}/m/grid/buildings/{town.b1.pk}/")
    assert "李租客" in wait_for(phone, "main").text and "159****4321" in phone.page_source
    shot(phone, "building.png")
    phone.back()
    wait_for(phone, "#visits-due")
    rows = phone.find_elements(By.CSS_SELECTOR, "#visits-due .caselist li a")

    tap(phone, rows[0])
    wait_for(phone, "#visit-form")
    phone.find_element(By.NAME, "note").send_keys("身体尚好，按时服药")
    phone.find_element(By.NAME, "photo").send_keys(png)
    WebDriverWait(phone, 5).until(lambda d: "photo.png" in d.find_element(By.ID, "photo-label").text)
    phone.find_element(By.NAME, "findings").send_keys("楼道灯坏了")
    shot(phone, "visit-form.png")
    tap(phone, phone.find_element(By.ID, "visit-submit"))

    wait_for(phone, "#visit-done")
    visit = Visit.objects.get()
    assert (visit.key_person, visit.note, visit.findings, bool(visit.photo)) == (
        town.alone, "身体尚好，按时服药", "楼道灯坏了", True)
    shot(phone, "visit-done.png")

    tap(phone, phone.find_element(By.ID, "report-finding"))
    wait_for(phone, "#report-form")
    assert value(phone, "description") == "楼道灯坏了"
    assert (value(phone, "lon"), value(phone, "lat"), value(phone, "address")) == ("113.005", "23.005", "幸福路8号")
    tap(phone, phone.find_element(By.XPATH, "//div[@id='category-chips']/button[normalize-space()='暴露垃圾']"))
    shot(phone, "report-from-finding.png")
    phone.execute_script("document.getElementById('f-address').scrollIntoView({block: 'center'})")
    shot(phone, "report-from-finding-address.png")
    phone.find_element(By.ID, "report-submit").click()
    WebDriverWait(phone, 10).until(lambda d: "/m/cases/" in d.current_url)
    case = Case.objects.get()
    assert (case.description, case.address, case.reporter) == ("楼道灯坏了", "幸福路8号", town.city.g1_worker)


def test_the_report_form_fills_in_the_address_as_the_pin_moves(live_server, phone, town, categories):  # noqa: F811
    login(phone, live_server, "g1_worker")
    set_geolocation(phone, 113.0052, 23.005)  # ~20 m from 幸福路8号
    phone.get(live_server.url + "/m/report/")
    WebDriverWait(phone, 10).until(lambda d: value(d, "address") == "幸福路8号")
    hint = phone.find_element(By.ID, "address-hint").text
    assert "20" in hint or "21" in hint
    phone.execute_script("document.getElementById('f-address').scrollIntoView({block: 'center'})")
    shot(phone, "report-address.png")
    phone.execute_script("document.getElementById('id_lon').value = '113.008';"
                         "document.getElementById('id_lat').value = '23.008';")  # the pin moved away
    WebDriverWait(phone, 10).until(lambda d: value(d, "address") == "Community A A-1")
    field = phone.find_element(By.NAME, "address")
    field.clear()
    field.send_keys("幸福路8号东侧花坛")
    phone.execute_script("document.getElementById('id_lon').value = '113.0051';")  # moved back: typed text stays
    time.sleep(1.5)  # three looks of address.js at the point
    assert value(phone, "address") == "幸福路8号东侧花坛"


def test_the_map_shows_the_buildings_in_scope(live_server, browser, town):  # noqa: F811
    login(browser, live_server, "t1_operator")
    browser.get(live_server.url + "/cases/map/")
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "map").get_attribute("data-buildings") == "1")
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "map").get_attribute("data-cases"))
    # The layer starts off (a city's buildings would bury the cases) and the control switches it on.
    shown = "return document.getElementById('map').dataset.buildingsShown || '0'"
    assert browser.execute_script(shown) == "0"
    box = browser.find_element(By.XPATH, "//label[contains(., 'Buildings') or contains(., '楼栋')]//input")
    assert not box.is_selected()
    box.click()
    WebDriverWait(browser, 5).until(lambda d: d.execute_script(shown) == "1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "map-buildings.png"))
    browser.get(live_server.url + "/people/?area=" + town.city.town1.code)
    wait_for(browser, "#figures")
    browser.save_screenshot(str(SHOTS / "figures.png"))
