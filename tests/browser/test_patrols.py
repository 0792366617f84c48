"""A patrol on the phone without a network, in a real (emulated 390×844 touch) Chromium: the worker starts a
patrol, the network goes (through the Chrome DevTools Protocol), the phone walks north (positions fed with
Emulation.setGeolocationOverride) and keeps the track in the offline queue ("待发送 (n)"), nothing reaching
the server; when the network returns the track is sent by itself, each position exactly once, and the
patrol's distance is that of the walk."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from cases.patrols import Patrol, PatrolPoint, PatrolStatus
from tests.browser.conftest import login, make_driver, set_geolocation, wait_for
from tests.browser.test_offline_queue import badge, network, tap

pytestmark = pytest.mark.django_db(transaction=True)

STEP = 0.0003  # degrees of latitude between positions: ≈ 33 m


def kept(phone) -> int:
    return phone.execute_script("return window.GovGridPatrol ? window.GovGridPatrol.kept() : -1")


def test_a_track_recorded_offline_is_sent_once_when_the_network_returns(live_server, tiny_city, settings, tmp_path):
    settings.PATROL_POINT_SECONDS = 1  # a position a second, a batch every two (a real phone: 15 s, 60 s)
    settings.PATROL_BATCH_SECONDS = 2
    phone = make_driver(390, 844, mobile=True, profile=str(tmp_path / "profile"))
    try:
        login(phone, live_server, "g1_worker")
        set_geolocation(phone, 113.005, 23.001)
        phone.get(live_server.url + "/m/patrol/")
        tap(phone, wait_for(phone, "#start-patrol"))
        wait_for(phone, "#patrol")
        patrol = Patrol.objects.get(worker=tiny_city.g1_worker, status=PatrolStatus.ACTIVE)
        WebDriverWait(phone, 10).until(lambda d: kept(d) >= 1)
        WebDriverWait(phone, 10).until(lambda d: PatrolPoint.objects.filter(patrol=patrol).count() >= 1)
        online_before = PatrolPoint.objects.filter(patrol=patrol).count()

        network(phone, online=False)
        start = kept(phone)
        for step in range(1, 7):  # walk north, a position every 1.2 s
            set_geolocation(phone, 113.005, 23.001 + STEP * step)
            time.sleep(1.2)
        WebDriverWait(phone, 10).until(lambda d: "待发送" in badge(d))
        offline_kept = kept(phone) - start
        assert offline_kept >= 4
        assert PatrolPoint.objects.filter(patrol=patrol).count() <= online_before + 1  # nothing more arrived
        shot = tmp_path / "patrol-offline.png"
        phone.save_screenshot(str(shot))

        network(phone, online=True)
        # Stop recording (as the end button does) so the count holds still, then wait for the queue to drain.
        phone.set_script_timeout(15)
        phone.execute_async_script("window.GovGridPatrol.stop().then(function () { arguments[0](); }.bind(null, "
                                   "arguments[0]))")
        total = kept(phone)
        WebDriverWait(phone, 20).until(lambda d: badge(d) == "")
        WebDriverWait(phone, 10).until(lambda d: PatrolPoint.objects.filter(patrol=patrol).count() >= total)
        points = list(PatrolPoint.objects.filter(patrol=patrol).order_by("recorded_at"))
        assert len(points) == total  # each position once
        assert len({p.recorded_at for p in points}) == total
        patrol.refresh_from_db()
        walked = 6 * STEP * 110_750  # metres north in the offline part
        assert patrol.distance_m >= walked * 0.9

        tap(phone, phone.find_element(By.ID, "end-patrol"))
        WebDriverWait(phone, 10).until(lambda d: d.find_elements(By.ID, "start-patrol"))
        patrol.refresh_from_db()
        assert patrol.status == PatrolStatus.ENDED
        assert PatrolPoint.objects.filter(patrol=patrol).count() == total  # the end sent nothing twice
    finally:
        phone.quit()
