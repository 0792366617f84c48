"""The grid worker's phone pages in a real (emulated 390×844 touch) browser: report with the
browser's location and a photo, report with the location refused, a flaky network, and an on-site
verification. Screenshots of the pages go to /tmp/worker-shots/ for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cases import actions
from cases.choices import DispatchRole, Status
from cases.models import Case
from cases.tests.conftest import PNG
from tests.browser.conftest import deny_geolocation, login, set_geolocation, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/worker-shots")


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


def value(driver, name: str) -> str:
    return driver.find_element(By.NAME, name).get_attribute("value")


def tap(driver, element) -> None:
    """Scroll the element to the middle of the screen (clear of the sticky bars), then tap it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def fill_report(driver, category: str, description: str, photo: str | None = None) -> None:
    tap(driver, driver.find_element(By.XPATH, f"//div[@id='category-chips']/button[normalize-space()='{category}']"))
    driver.find_element(By.NAME, "description").send_keys(description)
    if photo:
        driver.find_element(By.NAME, "photos").send_keys(photo)
        wait_for(driver, "#photos-preview img")


def landed_on_case(driver) -> Case:
    WebDriverWait(driver, 10).until(lambda d: "/m/cases/" in d.current_url)
    status = wait_for(driver, "#case-status").text
    assert status in ("已上报", "reported")
    return Case.objects.get(pk=int(driver.current_url.rstrip("/").rsplit("/", 1)[-1]))


def test_report_with_the_browsers_location_and_a_photo(live_server, phone, tiny_city, categories, png):
    actions.report_case(reporter=tiny_city.g1_worker, category=categories.hazard, lon=113.002, lat=23.002,
                        description="井盖缺失，已设警示")
    login(phone, live_server, "g1_worker")
    assert phone.current_url.endswith("/m/")
    assert phone.find_element(By.CSS_SELECTOR, "main .bigbutton").text.strip()
    shot(phone, "home.png")

    set_geolocation(phone, 113.004, 23.006)
    phone.find_element(By.CSS_SELECTOR, "main .bigbutton").click()
    WebDriverWait(phone, 10).until(lambda d: value(d, "lon"))
    assert (float(value(phone, "lon")), float(value(phone, "lat"))) == (113.004, 23.006)
    assert phone.find_element(By.CSS_SELECTOR, "#category-chips button").text == "井盖缺失"  # most used first
    fill_report(phone, "暴露垃圾", "路口东侧有一堆暴露垃圾", png)
    shot(phone, "report.png")
    phone.find_element(By.ID, "report-submit").click()

    case = landed_on_case(phone)
    assert (case.category, case.reporter, case.description) == (categories.garbage, tiny_city.g1_worker,
                                                                "路口东侧有一堆暴露垃圾")
    assert (round(case.location.x, 6), round(case.location.y, 6)) == (113.004, 23.006)
    assert case.attachments.count() == 1
    assert case.number in phone.page_source
    shot(phone, "case.png")


def test_location_refused_says_so_and_a_tap_on_the_map_places_the_pin(live_server, phone, tiny_city, categories):
    login(phone, live_server, "g1_worker")
    deny_geolocation(phone)
    phone.get(live_server.url + "/m/report/")
    status = wait_for(phone, "#loc-status.locstatus-warn")
    assert "图钉" in status.text or "pin" in status.text
    assert value(phone, "lon") == ""
    shot(phone, "report-no-location.png")

    fill_report(phone, "暴露垃圾", "人行道上有建筑垃圾")
    tap(phone, phone.find_element(By.CSS_SELECTOR, "input[name=mode][value=self_resolve]"))
    assert phone.find_element(By.NAME, "resolution_note").is_displayed()
    tap(phone, phone.find_element(By.CSS_SELECTOR, "input[name=mode][value=normal]"))
    assert not phone.find_element(By.NAME, "resolution_note").is_displayed()

    # Sent without a location: the server's answer is shown beside the map, nothing else is touched.
    phone.find_element(By.ID, "report-submit").click()
    error = wait_for(phone, "#f-location.field-error [data-error-for=location] li")
    assert "地图" in error.text or "map" in error.text
    assert value(phone, "description") == "人行道上有建筑垃圾" and not Case.objects.exists()
    shot(phone, "report-location-error.png")

    tap(phone, phone.find_element(By.ID, "report-map"))  # the map starts at the centre of the worker's grid
    WebDriverWait(phone, 5).until(lambda d: value(d, "lon"))
    lon, lat = float(value(phone, "lon")), float(value(phone, "lat"))
    assert 113.00 < lon < 113.01 and 23.00 < lat < 23.01
    assert not phone.find_elements(By.CSS_SELECTOR, "#f-location.field-error")
    phone.find_element(By.ID, "report-submit").click()
    case = landed_on_case(phone)
    assert case.grid == tiny_city.g1


def test_a_send_without_network_is_kept_on_the_phone_and_sent_once_later(live_server, phone, tiny_city, categories,
                                                                           png):
    """No network: the report is kept on the phone (static/js/offline.js) and sent by itself when the
    network is back, once; a double tap on a slow network sends once (tests/browser/test_offline_queue.py
    takes a report, a visit and a verification through a closed browser)."""
    login(phone, live_server, "g1_worker")
    set_geolocation(phone, 113.005, 23.005)
    phone.get(live_server.url + "/m/report/")
    WebDriverWait(phone, 10).until(lambda d: value(d, "lon"))
    fill_report(phone, "暴露垃圾", "垃圾桶满溢", png)
    network = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}

    phone.execute_cdp_cmd("Network.enable", {})
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", {**network, "offline": True})
    phone.find_element(By.ID, "report-submit").click()
    notice = wait_for(phone, "#report-form .oq-notice:not([hidden])")
    assert "已保存在手机上" in notice.text
    assert "待发送 (1)" in wait_for(phone, "#offline-queue:not([hidden])").text
    assert not Case.objects.exists()
    assert phone.find_element(By.ID, "report-submit").is_enabled()
    shot(phone, "report-kept-offline.png")

    phone.execute_cdp_cmd("Network.emulateNetworkConditions", {**network, "offline": False})
    WebDriverWait(phone, 15).until(lambda d: d.find_element(By.ID, "offline-queue").get_attribute("hidden"))
    case = Case.objects.get()
    assert case.description == "垃圾桶满溢" and case.attachments.count() == 1

    # Online but slow: the button is disabled while sending, so a second tap sends nothing.
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", {**network, "offline": False, "latency": 600})
    fill_report(phone, "暴露垃圾", "又满了", png)
    submit = phone.find_element(By.ID, "report-submit")
    submit.click()
    assert not submit.is_enabled()
    phone.execute_script("arguments[0].click()", submit)
    landed_on_case(phone)
    assert Case.objects.count() == 2 and Case.objects.get(description="又满了").attachments.count() == 1


def test_verify_on_site_with_a_photo_from_the_phone(live_server, phone, tiny_city, categories, png):
    case, _ = actions.report_case(reporter=tiny_city.g1_leader, category=categories.garbage, lon=113.005,
                                  lat=23.005, description="井边垃圾")
    actions.accept_case(case, actor=tiny_city.t1_operator)
    actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    lead = case.dispatches.get(role=DispatchRole.LEAD)
    actions.sign_dispatch(lead, actor=tiny_city.handler)
    actions.feedback_dispatch(lead, actor=tiny_city.handler, note="已清理完毕")
    actions.assign_verification(case, actor=tiny_city.t1_operator, verifier=tiny_city.g1_worker)

    login(phone, live_server, "g1_worker")
    phone.find_element(By.CSS_SELECTOR, f"a[href='/m/cases/{case.pk}/']").click()
    wait_for(phone, "#verify")
    tap(phone, phone.find_element(By.CSS_SELECTOR, "#verify input[value=pass]"))
    phone.find_element(By.NAME, "verify-note").send_keys("现场已清理干净")
    phone.find_element(By.NAME, "verify-photos").send_keys(png)
    shot(phone, "case-verify.png")
    tap(phone, phone.find_element(By.CSS_SELECTOR, "#verify button[type=submit]"))
    WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, "case-status").text in ("已核查", "verified"))
    case.refresh_from_db()
    assert case.status == Status.VERIFIED and case.attachments.filter(kind="verification").count() == 1
    assert not phone.find_elements(By.CSS_SELECTOR, "#verify")
