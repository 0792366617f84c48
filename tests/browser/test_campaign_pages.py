"""Campaigns in a real browser: the campaign page's map draws the entries (green certified, red not)
within the CSP, and a town operator records an inspection on a 390 px phone, ticking the checklist
and attaching a photo, then certifies. Screenshots go to /tmp/campaign-shots/."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cases.tests.conftest import PNG
from plans import campaign_figures, campaigns
from plans.choices import EntryStatus
from plans.tests.test_campaigns import types  # noqa: F401 (fixture)
from tests.browser.conftest import login, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/campaign-shots")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_checklist_on_the_phone_and_the_map(live_server, phone, tiny_city, types, tmp_path):  # noqa: F811
    c = tiny_city
    campaign = campaigns.create_campaign(
        actor=c.t1_operator, type=types["safe_village"], area=c.town1, title="平安村居创建", year=2026,
        starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), lead_department=c.town1_um)
    entry = campaigns.add_entry(actor=c.t1_operator, campaign=campaign, area=c.g1)
    campaigns.add_entry(actor=c.t1_operator, campaign=campaign, area=c.g2)
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    login(phone, live_server, "t1_operator")
    phone.get(f"{live_server.url}/plans/campaigns/entries/{entry.pk}/")
    wait_for(phone, "#inspection-form")
    for fieldset in phone.find_elements(By.CSS_SELECTOR, "#inspection-form fieldset.criterion"):
        choice = fieldset.find_element(By.CSS_SELECTOR, "input[value=pass]")
        phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", choice)
        choice.click()
    phone.find_element(By.CSS_SELECTOR, "#inspection-form input[type=file]").send_keys(str(photo))
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.save_screenshot(str(SHOTS / "checklist.png"))
    phone.find_element(By.CSS_SELECTOR, "#inspection-form button[type=submit]").submit()
    wait_for(phone, "#inspections .photos img")
    phone.find_element(By.CSS_SELECTOR, f"form[action='/plans/campaigns/entries/{entry.pk}/certify/'] button").click()
    wait_for(phone, "#revoke")
    assert campaign_figures.entry_status(entry) == EntryStatus.CERTIFIED
    phone.get(f"{live_server.url}/plans/campaigns/{campaign.pk}/")
    WebDriverWait(phone, 10).until(
        lambda d: d.find_element(By.ID, "campaign-map").get_attribute("data-features") == "2")
    paths = phone.find_elements(By.CSS_SELECTOR, "#campaign-map path.leaflet-interactive")
    assert sorted(p.get_attribute("stroke") for p in paths) == ["#1f8a3b", "#c0392b"]
    phone.save_screenshot(str(SHOTS / "campaign.png"))
