"""Sweep task pages (排查任务) on a 390×844 phone and at 1366×900: the grid worker's list, targets and
report form, and the centre's send form and board, each without sideways scrolling, with the primary
actions on screen and tappable, and no serious or critical axe-core violation (test_phone_layout's Pages)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point

from cases.actions.sweeps import create_sweep_task
from govgrid import clock
from parties.models import Building, House
from tests.browser.conftest import login
from tests.browser.test_phone_layout import Pages

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = [{"label": "在住人数", "kind": "number", "required": True},
          {"label": "房屋状况", "kind": "choice", "options": ["正常", "群租", "空置"]},
          {"label": "门口照片", "kind": "photo"}]


def test_sweep_pages_on_a_phone_and_a_desk(live_server, phone, tiny_city):
    city = tiny_city
    building = Building.objects.create(number="1", address="幸福路1号东门小区北侧围墙外3栋", grid=city.g1,
                                       area_path=city.g1.path, point=Point(113.005, 23.005, srid=4326))
    for room in ("101", "102", "201"):
        House.objects.create(building=building, room=room, is_rental=True, grid=city.g1, area_path=city.g1.path)
    task = create_sweep_task(actor=city.t1_operator, area=city.town1, title="出租屋排查", fields=FIELDS,
                             target_kind="house", target_rental=True, deadline=clock.now() + timedelta(days=1))
    target = task.targets.first()

    login(phone, live_server, "g1_worker")
    pages = Pages(phone, live_server)
    pages.check("/m/sweeps/", primary=("#my-sweeps a",))
    pages.check(f"/m/sweeps/{task.pk}/", primary=(f"#zero-{city.g1.pk}",))
    pages.check(f"/m/sweeps/{task.pk}/t/{target.pk}/", primary=("#sweep-report input[name=answer_f1]",))
    pages.assert_fine()

    phone.delete_all_cookies()
    login(phone, live_server, "t1_operator")
    pages = Pages(phone, live_server)
    pages.check("/centre/sweeps/", primary=("#sweep-tasks a",), desktop=True)
    pages.check("/centre/sweeps/new/", desktop=True)
    pages.check(f"/centre/sweeps/{task.pk}/", primary=("#sweep-rows a",), desktop=True, axe_desktop=True)
    pages.assert_fine()
