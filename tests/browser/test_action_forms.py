"""The action forms in a real browser: the dispatch form never offers the lead chosen as an assisting
department (and follows a change of lead); feedback shows thumbnails of the photos chosen."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from cases import actions
from cases.tests.conftest import PNG
from tests.browser.conftest import login, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
G1 = {"lon": 113.005, "lat": 23.005}


def visible_assists(driver, row: str) -> set[str]:
    return {box.get_attribute("value") for box in driver.find_elements(
        By.CSS_SELECTOR, f"{row} div.assist-list input[type=checkbox]") if box.is_displayed()}


def test_assists_leave_out_the_lead_and_feedback_previews_photos(live_server, browser, tiny_city, categories,
                                                               tmp_path):
    city = tiny_city
    case, _ = actions.report_case(reporter=city.g1_worker, category=categories.garbage, description="路边垃圾", **G1)
    case = actions.accept_case(case, actor=city.t1_operator)
    login(browser, live_server, "t1_operator")
    browser.get(live_server.url + "/centre/")
    row = f"#row-inbox-{case.pk}"
    wait_for(browser, f"{row} button[hx-get*='/form/dispatch/']").click()
    lead = Select(wait_for(browser, f"{row} select[name='dispatch-lead']"))
    lead.select_by_value(str(city.town1_um.pk))
    wait_for(browser, f"{row} div.assist-list[data-ready]")
    assert visible_assists(browser, row) == {str(city.district_um.pk)}
    # Tick the district, then make it the lead: it leaves the list, unticked; town one comes back.
    assist = f"{row} input[name='dispatch-assists'][value='{{}}']"
    district = browser.find_element(By.CSS_SELECTOR, assist.format(city.district_um.pk))
    district.click()
    lead.select_by_value(str(city.district_um.pk))
    assert visible_assists(browser, row) == {str(city.town1_um.pk)}
    assert not district.is_selected()
    browser.find_element(By.CSS_SELECTOR, f"{row} form.inplace button[type=submit]").click()
    wait_for(browser, f"{row}.row-done")
    assert set(case.dispatches.values_list("department_id", "role")) == {(city.district_um.pk, "lead")}

    # Feedback, as town one's handler on a case of its own.
    other, _ = actions.report_case(reporter=city.g1_worker, category=categories.garbage, description="又一堆", **G1)
    other = actions.dispatch_case(actions.accept_case(other, actor=city.t1_operator), actor=city.t1_operator,
                                  lead=city.town1_um)
    browser.delete_all_cookies()
    login(browser, live_server, "handler")
    actions.sign_dispatch(other.dispatches.get(role="lead"), actor=city.handler)
    browser.get(f"{live_server.url}/cases/{other.pk}/")
    wait_for(browser, "#action-feedback summary").click()
    camera = wait_for(browser, "#action-feedback label.camera")
    assert camera.is_displayed() and camera.size["height"] >= 44
    photo = tmp_path / "after.png"
    photo.write_bytes(PNG)
    browser.find_element(By.CSS_SELECTOR, "#id_feedback-photos").send_keys(str(photo))
    wait_for(browser, "[data-preview-for='id_feedback-photos'] img")
