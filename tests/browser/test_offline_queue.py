"""The grid worker's phone without a network, in a real (emulated 390×844 touch) Chromium: a report with
a photo, a visit and an on-site verification made offline are kept on the phone ("待发送 (3)"), survive
the browser being closed and opened again (the same profile), and are sent by themselves, each once,
when the network returns. The network is switched off and on through the Chrome DevTools Protocol;
nothing reaches the server while it is off."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cases import actions
from cases.choices import Action, AttachmentKind, DispatchRole, Status
from cases.models import Case, CaseEvent
from cases.tests.conftest import PNG, categories  # noqa: F401 (fixture)
from parties.models import Visit
from parties.tests.test_pages import town  # noqa: F401 (fixture)
from tests.browser.conftest import login, make_driver, set_geolocation, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/offline-shots")


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


def network(driver, *, online: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": not online, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    WebDriverWait(driver, 5).until(lambda d: d.execute_script("return navigator.onLine") is online)


def badge(driver) -> str:
    return driver.execute_script(
        "var b = document.getElementById('offline-queue'); return b && !b.hidden ? b.textContent : '';")


def handled_case(city, cats) -> Case:
    case, _ = actions.report_case(reporter=city.g1_leader, category=cats.garbage, lon=113.005, lat=23.005,
                                  description="井边垃圾")
    actions.accept_case(case, actor=city.t1_operator)
    actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)
    lead = case.dispatches.get(role=DispatchRole.LEAD)
    actions.sign_dispatch(lead, actor=city.handler)
    actions.feedback_dispatch(lead, actor=city.handler, note="已清理完毕")
    return actions.assign_verification(case, actor=city.t1_operator, verifier=city.g1_worker)


def sent() -> tuple[int, int, int]:
    """What the phone's queue has made on the server: cases, visits, verifications (by client_uuid)."""
    return (Case.objects.exclude(client_uuid=None).count(), Visit.objects.exclude(client_uuid=None).count(),
            CaseEvent.objects.filter(action=Action.VERIFY).exclude(client_uuid=None).count())


def test_made_offline_kept_through_a_closed_browser_and_sent_once_online(live_server, town, categories,  # noqa: F811
                                                                         png, tmp_path):
    case = handled_case(town.city, categories)
    profile = str(tmp_path / "profile")
    phone = make_driver(390, 844, mobile=True, profile=profile)
    try:
        login(phone, live_server, "g1_worker")
        set_geolocation(phone, 113.004, 23.006)
        # Online first: the service worker takes over the phone pages and keeps a copy of each.
        phone.set_script_timeout(15)
        phone.execute_async_script("navigator.serviceWorker.ready.then(function () { arguments[0](); }.bind(null, "
                                   "arguments[0]))")
        phone.get(live_server.url + "/m/")
        assert phone.execute_script("return !!navigator.serviceWorker.controller")
        pages = {"report": "/m/report/", "visit": f"/m/grid/key-persons/{town.alone.pk}/visit/",
                 "case": f"/m/cases/{case.pk}/"}
        for url in pages.values():
            phone.get(live_server.url + url)
            wait_for(phone, "main")
        assert badge(phone) == ""

        network(phone, online=False)
        phone.get(live_server.url + pages["report"])
        WebDriverWait(phone, 10).until(lambda d: d.find_element(By.NAME, "lon").get_attribute("value"))
        tap(phone, phone.find_element(By.XPATH, "//div[@id='category-chips']/button[normalize-space()='暴露垃圾']"))
        phone.find_element(By.NAME, "description").send_keys("断网时看到的垃圾")
        phone.find_element(By.NAME, "photos").send_keys(png)
        wait_for(phone, "#photos-preview img")
        tap(phone, phone.find_element(By.ID, "report-submit"))

        WebDriverWait(phone, 10).until(lambda d: "待发送 (1)" in badge(d))
        assert "已保存在手机上" in phone.find_element(By.CSS_SELECTOR, "#report-form .oq-notice").text
        shot(phone, "report-kept.png")

        phone.get(live_server.url + pages["visit"])
        wait_for(phone, "#visit-form")
        WebDriverWait(phone, 10).until(lambda d: "待发送 (1)" in badge(d))  # the badge is up: the page holds still
        phone.find_element(By.NAME, "note").send_keys("断网时走访，身体尚好")
        phone.find_element(By.NAME, "photo").send_keys(png)
        tap(phone, phone.find_element(By.ID, "visit-submit"))
        WebDriverWait(phone, 10).until(lambda d: "待发送 (2)" in badge(d))

        phone.get(live_server.url + pages["case"])
        wait_for(phone, "#verify")
        WebDriverWait(phone, 10).until(lambda d: "待发送 (2)" in badge(d))
        tap(phone, phone.find_element(By.CSS_SELECTOR, "#verify input[value=pass]"))
        phone.find_element(By.NAME, "verify-note").send_keys("现场已清理")
        phone.find_element(By.NAME, "verify-photos").send_keys(png)
        tap(phone, phone.find_element(By.CSS_SELECTOR, "#verify button[type=submit]"))
        WebDriverWait(phone, 10).until(lambda d: "待发送 (3)" in badge(d))
        assert not phone.find_element(By.CSS_SELECTOR, "#verify form").is_displayed()
        shot(phone, "verify-kept.png")
        assert sent() == (0, 0, 0)  # nothing reached the server
    finally:
        phone.quit()

    # The browser was closed; opened again with the same profile, still without a network.
    phone = make_driver(390, 844, mobile=True, profile=profile)
    try:
        phone.get(live_server.url + "/m/sw.js")  # a page of the origin, to switch the network off in
        network(phone, online=False)
        phone.get(live_server.url + "/m/")
        WebDriverWait(phone, 10).until(lambda d: "待发送 (3)" in badge(d))
        shot(phone, "reopened-offline.png")
        assert sent() == (0, 0, 0)

        network(phone, online=True)
        WebDriverWait(phone, 20).until(lambda d: badge(d) == "")
        assert sent() == (1, 1, 1)
        report = Case.objects.exclude(client_uuid=None).get()
        assert report.description == "断网时看到的垃圾" and report.attachments.filter(
            kind=AttachmentKind.REPORT).count() == 1
        visit = Visit.objects.exclude(client_uuid=None).get()
        assert visit.key_person == town.alone and visit.photo
        case.refresh_from_db()
        assert case.status == Status.VERIFIED and case.attachments.filter(kind=AttachmentKind.VERIFICATION).count() == 1
        # Loading a page again sends nothing more.
        phone.get(live_server.url + "/m/")
        wait_for(phone, "main")
        assert sent() == (1, 1, 1) and badge(phone) == ""
    finally:
        phone.quit()
