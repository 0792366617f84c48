"""Every role's main pages on a 390×844 phone (and at 1366×900): no sideways scrolling, the primary actions on
screen, at least 44 px and really tappable, the header's targets at least 44 px, and no serious or critical
accessibility violation found by axe-core.

One phone browser per role (the ``phone`` fixture); the desktop size is the same browser with other device
metrics. axe-core comes from node_modules (npm) and is run from the test, so the pages need no change of
Content Security Policy.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from django.conf import settings
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from cases import actions
from cases.models import Case, Dispatch
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(settings.BASE_DIR, "node_modules", "axe-core", "axe.min.js")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True}
DESKTOP = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}
G1 = {"lon": 113.005, "lat": 23.005}
TAP = 44  # px, the smallest tap target on a phone
HEADER = (".brand", ".mainnav a", ".bell", ".userbar select", ".userbar button")


class Pages:
    """Opens pages at a size and collects every problem found, so one run names them all."""

    def __init__(self, driver, live_server) -> None:
        self.driver, self.base, self.problems = driver, live_server.url, []
        self.axe = AXE.read_text(encoding="utf-8")
        driver.set_script_timeout(30)

    def open(self, path: str, metrics: dict) -> None:
        # chromedriver puts its phone metrics back on every navigation: other metrics go on after it
        self.driver.get(self.base + path)
        WebDriverWait(self.driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        with contextlib.suppress(TimeoutException):  # a page wider than a phone widens its viewport: fits() says so
            WebDriverWait(self.driver, 2).until(
                lambda d: d.execute_script("return window.innerWidth") == metrics["width"])

    def check(self, path: str, *, primary: tuple[str, ...] = (), header: bool = True, desktop: bool = False,
              axe_desktop: bool = False) -> None:
        """The page at phone size (and at desktop size when asked): width, primary actions, header, axe."""
        self.open(path, PHONE)
        self.fits(path, PHONE["width"])
        if header:
            for css in HEADER:
                for element in self.driver.find_elements(By.CSS_SELECTOR, css):
                    self.big_enough(path, css, element)
        for css in primary:
            self.tappable(path, css, phone=True)
        self.accessible(path + " (phone)")
        if desktop or axe_desktop:
            self.open(path, DESKTOP)
            self.fits(path, DESKTOP["width"])
            for css in primary:
                self.tappable(path, css, phone=False)
            if axe_desktop:
                self.accessible(path + " (desktop)")

    def fits(self, path: str, width: int) -> None:
        scroll, inner = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        if inner != width or scroll > width:
            wide = self.driver.execute_script(
                "const w = arguments[0]; return [...document.body.querySelectorAll('*')]"
                ".filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 5)"
                ".map(e => e.tagName.toLowerCase() + '.' + String(e.className).trim().replace(/\\s+/g, '.'))", width)
            self.problems.append(f"{path} at {width} px: document {scroll} px wide, viewport {inner} px ({wide})")

    def big_enough(self, path: str, css: str, element) -> None:
        if not element.is_displayed():
            return
        rect = element.rect
        if rect["height"] < TAP - 0.5 or rect["width"] < TAP - 0.5:
            self.problems.append(f"{path}: {css} {element.text[:20]!r} is {rect['width']:.0f}×{rect['height']:.0f} px")

    def tappable(self, path: str, css: str, *, phone: bool) -> None:
        """Shown, inside the viewport's width, at least 44 px on a phone, and the element a tap at its centre hits."""
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        if not found:
            self.problems.append(f"{path}: no {css}")
            return
        element = found[0]
        if not element.is_displayed():
            self.problems.append(f"{path}: {css} not displayed")
            return
        hit = self.driver.execute_script("""
            const e = arguments[0]; e.scrollIntoView({block: 'center', inline: 'nearest'});
            const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
            const at = document.elementFromPoint(x, y);
            return {left: r.left, right: r.right, width: r.width, height: r.height,
                    hits: at === e || e.contains(at), at: at ? at.tagName + '.' + at.className : null};""", element)
        where = "phone" if phone else "desktop"
        if hit["left"] < -0.5 or hit["right"] > self.driver.execute_script("return window.innerWidth") + 0.5:
            self.problems.append(f"{path} ({where}): {css} is off screen ({hit['left']:.0f}–{hit['right']:.0f} px)")
        if not hit["hits"]:
            self.problems.append(f"{path} ({where}): a tap on {css} lands on {hit['at']}")
        if phone and (hit["height"] < TAP - 0.5 or hit["width"] < TAP - 0.5):
            self.problems.append(f"{path}: {css} is {hit['width']:.0f}×{hit['height']:.0f} px on a phone")
        WebDriverWait(self.driver, 5).until(EC.element_to_be_clickable(element))

    def accessible(self, where: str) -> None:
        """axe-core's serious and critical violations on the page as it is."""
        if not self.driver.execute_script("return !!window.axe"):
            self.driver.execute_script(self.axe)
        violations = self.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ['violations']})
              .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.impact + ' ' + v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
              .catch(e => done(['axe failed: ' + e]));""")
        self.problems.extend(f"{where}: {v}" for v in violations)

    def assert_fine(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def report(city, categories, reporter=None, text: str = "路边有一堆暴露垃圾，影响通行，请尽快清理") -> Case:
    address = "幸福路1号附近一个很长的地址：东门小区北侧围墙外"  # long, as real ones are: it must wrap, not widen
    case, _created = actions.report_case(reporter=reporter or city.g1_worker, category=categories.garbage,
                                         description=text, address=address, **G1)
    return case


def dispatched(city, categories, **kwargs) -> Case:
    case = actions.accept_case(report(city, categories, **kwargs), actor=city.t1_operator)
    return actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)


def lead_of(case: Case) -> Dispatch:
    return case.dispatches.get(role="lead")


def signed(city, categories, **kwargs) -> Case:
    case = dispatched(city, categories, **kwargs)
    return actions.sign_dispatch(lead_of(case), actor=city.handler)


def handled(city, categories, **kwargs) -> Case:
    case = signed(city, categories, **kwargs)
    return actions.feedback_dispatch(lead_of(case), actor=city.handler, note="已清理完毕")


def test_grid_worker_pages_on_a_phone(live_server, phone, tiny_city, categories):
    report(tiny_city, categories)
    to_verify = handled(tiny_city, categories, reporter=tiny_city.t1_operator)
    actions.assign_verification(to_verify, actor=tiny_city.t1_operator, verifier=tiny_city.g1_worker)
    login(phone, live_server, "g1_worker")
    pages = Pages(phone, live_server)
    pages.check("/m/", primary=(".report-button",), axe_desktop=True)
    pages.check("/m/tasks/")
    pages.check("/m/report/", primary=("form.report-form button[type=submit]",))
    pages.check(f"/m/cases/{to_verify.pk}/", primary=(".verify .actions button[type=submit]",))
    pages.check("/m/grid/")
    pages.check("/cases/notifications/")
    pages.check("/m/patrol/", primary=("#start-patrol",))
    actions.start_patrol(worker=tiny_city.g1_worker)
    pages.check("/m/patrol/", primary=("#patrol-finding", "#checkin-submit", "#end-patrol"))
    pages.assert_fine()


def test_centre_pages_on_a_phone(live_server, phone, tiny_city, categories):
    new = report(tiny_city, categories)
    accepted = actions.accept_case(report(tiny_city, categories, text="人行道井盖缺失"), actor=tiny_city.t1_operator)
    to_assign = handled(tiny_city, categories, reporter=tiny_city.t1_operator)
    dispatched(tiny_city, categories)
    login(phone, live_server, "t1_operator")
    pages = Pages(phone, live_server)
    pages.check("/centre/", primary=(f"#row-inbox-{new.pk} button.primary", f"#row-inbox-{new.pk} button.danger",
                                     f"#row-inbox-{accepted.pk} button.primary"), desktop=True, axe_desktop=True)
    pages.check("/centre/approvals/", primary=(f"#row-verification-{to_assign.pk} button.primary",), desktop=True)
    pages.check("/centre/board/", primary=(".lane .item",), desktop=True)
    pages.check("/cases/", primary=("table.cards tbody tr a",), desktop=True)
    pages.check(f"/cases/{new.pk}/", primary=("#action-accept > summary",), desktop=True)
    pages.check("/cases/map/")
    pages.check("/people/")
    pages.check("/people/residents/")
    actions.start_patrol(worker=tiny_city.g1_worker)
    pages.check("/patrols/", primary=("#patrolling tbody tr",), desktop=True)
    pages.assert_fine()


def test_department_pages_on_a_phone(live_server, phone, tiny_city, categories):
    to_sign = lead_of(dispatched(tiny_city, categories))
    to_feed_back = lead_of(signed(tiny_city, categories, text="绿化带内堆放建筑垃圾"))
    login(phone, live_server, "handler")
    pages = Pages(phone, live_server)
    pages.check("/dept/", primary=(f"#row-dept-{to_sign.pk} button.primary", f"#row-dept-{to_sign.pk} button.danger",
                                   f"#row-dept-{to_sign.pk} button[hx-get*='request_extension']",
                                   f"#row-dept-{to_feed_back.pk} button.primary"), desktop=True, axe_desktop=True)
    pages.check(f"/cases/{to_sign.case_id}/", primary=("details.action > summary",), desktop=True)
    pages.check("/cases/")
    pages.assert_fine()
    # the sign button in the card works: a tap signs
    phone.get(live_server.url + "/dept/")
    button = phone.find_element(By.CSS_SELECTOR, f"#row-dept-{to_sign.pk} button.primary")
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    WebDriverWait(phone, 10).until(lambda d: Dispatch.objects.get(pk=to_sign.pk).status == "signed")


def test_official_pages_on_a_phone(live_server, phone, tiny_city, categories):
    handled(tiny_city, categories)
    login(phone, live_server, "city_official")
    pages = Pages(phone, live_server)
    pages.check("/reports/", primary=("form button.primary",), desktop=True, axe_desktop=True)
    pages.check("/reports/monthly/")
    pages.check("/reports/evaluation/", primary=("form button.primary",), desktop=True, axe_desktop=True)
    pages.check("/reports/screen/", header=False, desktop=True, axe_desktop=True)
    pages.check("/cases/", primary=("table.cards tbody tr a",))
    pages.assert_fine()


def test_admin_pages_on_a_phone(live_server, phone, tiny_city, categories):
    report(tiny_city, categories)
    login(phone, live_server, "root")
    pages = Pages(phone, live_server)
    pages.check("/cases/", primary=("table.cards tbody tr a",), desktop=True)
    pages.check("/admin/", header=False)
    pages.assert_fine()


def test_the_login_page_on_a_phone(live_server, phone):
    pages = Pages(phone, live_server)
    pages.check("/login/", primary=("form button[type=submit]",), header=False, axe_desktop=True)
    pages.assert_fine()
