"""The whole pipeline through the centre and department pages in a real browser.

A grid worker's report is accepted and dispatched in the centre inbox, signed and fed back in the
department inbox, verification is assigned in the approvals, the worker verifies on the case page, the
centre closes it, and an official puts a yellow card on another case. Every step is checked in the
database. Screenshots of each page go to $GOVGRID_SHOTS (default /tmp/centre-shots) to be looked at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from cases import actions, jobs
from cases.choices import Status
from cases.models import Case, Dispatch
from cases.tests.conftest import PNG
from tests.browser.conftest import login, logout, make_driver, wait_for, wait_text

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path(os.environ.get("GOVGRID_SHOTS", "/tmp/centre-shots"))
G1 = {"lon": 113.005, "lat": 23.005}
G2 = {"lon": 113.015, "lat": 23.006}


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def until(driver, predicate, what: str, timeout: float = 10) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: predicate(), message=what)


def status_of(case: Case) -> str:
    return Case.objects.values_list("status", flat=True).get(pk=case.pk)


def as_user(driver, live_server, username: str, path: str) -> None:
    logout(driver, live_server)
    login(driver, live_server, username)
    driver.get(live_server.url + path)


def click(driver, css: str) -> None:
    wait_for(driver, css).click()


def background(city, categories) -> list[Case]:
    """A few more cases at other steps, so the pages look like a working day."""
    made = []
    for i, (text, where, category) in enumerate([
        ("小区门口垃圾桶满溢，气味较大", G2, categories.garbage),
        ("人行道井盖缺失，存在安全隐患", G1, categories.hazard),
        ("绿化带内堆放建筑垃圾", G2, categories.garbage),
        ("路口垃圾未清运", G1, categories.garbage),
    ]):
        case, _created = actions.report_case(reporter=city.g1_worker if where is G1 else city.t1_operator,
                                             category=category, description=text, address=f"幸福路{12 + i}号", **where)
        made.append(case)
    actions.accept_case(made[2], actor=city.t1_operator)
    case = actions.accept_case(made[3], actor=city.t1_operator)
    actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)
    return made


def test_the_pipeline_through_the_pages(live_server, browser, tiny_city, categories, tmp_path):
    photo = tmp_path / "after.png"
    photo.write_bytes(PNG)
    case, _created = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage,
                                         description="路边有一堆暴露垃圾，影响通行", address="幸福路1号", **G1)
    others = background(tiny_city, categories)
    for pk in Case.objects.values_list("pk", flat=True):
        jobs.triage_case(pk)
    row = f"#row-inbox-{case.pk}"

    # The centre accepts with the keyboard: Tab from the case number to the accept button, then Enter.
    as_user(browser, live_server, "t1_operator", "/centre/")
    wait_for(browser, row)
    shot(browser, "inbox")
    browser.execute_script("arguments[0].focus()", browser.find_element(By.CSS_SELECTOR, f"{row} td.c-number a"))
    accept = browser.find_element(By.CSS_SELECTOR, f"{row} form[hx-post$='/accept/'] button")
    for _ in range(8):
        if browser.switch_to.active_element == accept:
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element == accept
    accept.send_keys(Keys.ENTER)
    until(browser, lambda: status_of(case) == Status.ACCEPTED, "accepted")
    wait_for(browser, f"{row}.just-done button[hx-get*='/form/dispatch/']")
    wait_text(browser, "#h-new .count", "2")  # the counts follow

    # Dispatch in place: the lead is preselected from the triage, and the deadline preview follows it.
    click(browser, f"{row} button[hx-get*='/form/dispatch/']")
    lead = Select(wait_for(browser, f"{row} select[name='dispatch-lead']"))
    assert lead.first_selected_option.get_attribute("value") == str(tiny_city.town1_um.pk)
    assert "→" in browser.find_element(By.CSS_SELECTOR, f"#due-{case.pk}").text
    lead.select_by_value(str(tiny_city.district_um.pk))
    wait_text(browser, f"#due-{case.pk}", tiny_city.district_um.name)
    Select(browser.find_element(By.CSS_SELECTOR, f"{row} select[name='dispatch-lead']")).select_by_value(
        str(tiny_city.town1_um.pk))
    wait_text(browser, f"#due-{case.pk}", tiny_city.town1_um.name)
    shot(browser, "inbox-dispatch-form")
    click(browser, f"{row} form.inplace button[type=submit]")
    wait_for(browser, f"{row}.row-done")
    assert status_of(case) == Status.DISPATCHED
    lead_dispatch = Dispatch.objects.get(case=case, role="lead")
    assert lead_dispatch.department_id == tiny_city.town1_um.pk

    browser.get(live_server.url + "/centre/board/")
    wait_for(browser, f".lane-sign a[href='/cases/{case.pk}/']")
    shot(browser, "board")

    # The department signs in its inbox, then feeds back with a photo.
    row = f"#row-dept-{lead_dispatch.pk}"
    as_user(browser, live_server, "handler", "/dept/")
    wait_for(browser, row)
    shot(browser, "department-inbox")
    click(browser, f"{row} form[hx-post$='/sign/'] button")
    until(browser, lambda: status_of(case) == Status.IN_PROGRESS, "signed")
    click(browser, f"{row}.just-done button[hx-get*='/form/feedback/']")
    wait_for(browser, f"{row} textarea[name='feedback-note']").send_keys("已安排环卫工人清理完毕")
    browser.find_element(By.CSS_SELECTOR, f"{row} input[name='feedback-photos']").send_keys(str(photo))
    click(browser, f"{row} form.inplace button[type=submit]")
    wait_for(browser, f"{row}.row-done")
    assert status_of(case) == Status.HANDLED
    assert case.attachments.filter(kind="feedback").count() == 1

    # One owner for the verification: the reporting grid worker has it, so the centre's approvals do not
    # list it to assign.
    assert Case.objects.get(pk=case.pk).verifier == tiny_city.g1_worker
    as_user(browser, live_server, "t1_operator", "/centre/approvals/")
    wait_for(browser, "main h1")
    assert not browser.find_elements(By.CSS_SELECTOR, f"#row-verification-{case.pk}")
    shot(browser, "approvals")

    # The worker verifies on the case page (desktop here; the phone flow has its own tests).
    as_user(browser, live_server, "g1_worker", f"/cases/{case.pk}/")
    click(browser, "#action-verify > summary")
    click(browser, "#action-verify input[name='verify-passed'][value='pass']")
    browser.find_element(By.CSS_SELECTOR, "#action-verify input[name='verify-photos']").send_keys(str(photo))
    click(browser, "#action-verify button[type=submit]")
    until(browser, lambda: status_of(case) == Status.VERIFIED, "verified")

    # The centre closes it.
    row = f"#row-closing-{case.pk}"
    as_user(browser, live_server, "t1_operator", "/centre/approvals/")
    wait_for(browser, row).find_element(By.CSS_SELECTOR, "input[name='close-note']").send_keys("核查通过，办结")
    click(browser, f"{row} form[hx-post$='/close/'] button")
    wait_for(browser, f"{row}.row-done")
    assert status_of(case) == Status.CLOSED

    # An official puts a yellow card on an open case from its page.
    open_case = others[3]
    as_user(browser, live_server, "city_official", f"/cases/{open_case.pk}/")
    click(browser, "#action-supervise > summary")
    click(browser, "#action-supervise input[name='supervise-level'][value='yellow']")
    note = browser.find_element(By.CSS_SELECTOR, "#action-supervise textarea[name='supervise-note']")
    note.send_keys("今日内处理完毕")
    click(browser, "#action-supervise button[type=submit]")
    until(browser, lambda: Case.objects.get(pk=open_case.pk).supervision == "yellow", "supervised")
    wait_for(browser, "h1 ~ .chip-yellow")
    shot(browser, "case-page")

    phone = make_driver(390, 844, mobile=True)
    try:
        login(phone, live_server, "t1_operator")
        phone.get(f"{live_server.url}/cases/{open_case.pk}/")
        wait_for(phone, "#action-dispatch, #action-supervise")
        shot(phone, "case-page-phone")
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= 391, "the case page scrolls sideways on a phone"
    finally:
        phone.quit()
