"""Disputes in the tiny city: the dispute categories, the town's and the district's resolution centres
and their mediators (the ``mediation`` fixture, registered in cases/tests/conftest.py), and a dispute
registered through the real actions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from cases import actions
from cases.actions import disputes as d
from cases.disputes import Mediator, MediatorKind, ResolutionCentre
from cases.models import Case, Category
from govgrid import clock
from govgrid.workcalendar import TimeUnit
from grids.choices import Role
from grids.models import Membership

SH = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SH)
G1 = {"lon": 113.005, "lat": 23.005}
G3 = {"lon": 113.025, "lat": 23.005}


@pytest.fixture
def mediation(tiny_city):
    """Dispute categories, the town's and the district's resolution centres and their mediators."""
    family = Category.objects.create(code="07", name="矛盾纠纷")
    neighbour = Category.objects.create(code="0701", name="邻里纠纷", parent=family, time_limit=Decimal(5),
                                        time_unit=TimeUnit.WORKING_DAYS)
    labour = Category.objects.create(code="0703", name="劳资纠纷", parent=family, time_limit=Decimal(10),
                                     time_unit=TimeUnit.WORKING_DAYS)
    garbage = Category.objects.create(code="0101", name="暴露垃圾", time_limit=Decimal(4),
                                      time_unit=TimeUnit.WORKING_HOURS,
                                      parent=Category.objects.create(code="01", name="市容环境"))
    town_rc = ResolutionCentre.objects.create(name="一镇矛调中心", area=tiny_city.town1)
    town_rc.departments.add(tiny_city.town1_um)
    town2_rc = ResolutionCentre.objects.create(name="二镇矛调中心", area=tiny_city.town2)
    district_rc = ResolutionCentre.objects.create(name="东区矛调中心", area=tiny_city.district)
    User = get_user_model()
    lawyer = User.objects.create_user("lawyer", password="pw")  # a stationed lawyer: no area of their own
    mediator = User.objects.create_user("mediator", password="pw")
    judge = User.objects.create_user("judge", password="pw")
    Mediator.objects.create(centre=town_rc, user=lawyer, kind=MediatorKind.LAWYER)
    Mediator.objects.create(centre=town_rc, user=mediator, kind=MediatorKind.PEOPLES_MEDIATOR)
    Mediator.objects.create(centre=district_rc, user=judge, kind=MediatorKind.COURT)
    district_official = User.objects.create_user("district_official", password="pw")
    Membership.objects.create(user=district_official, role=Role.OFFICIAL, area=tiny_city.district)
    return SimpleNamespace(neighbour=neighbour, labour=labour, garbage=garbage, town_rc=town_rc, town2_rc=town2_rc,
                           district_rc=district_rc, lawyer=lawyer, mediator=mediator, judge=judge,
                           district_official=district_official)


def registered(city, m, *, category=None, at=MONDAY, where=G1, reporter=None, operator=None, **details) -> Case:
    """A dispute reported in a grid, accepted by its centre and registered at the town's resolution centre."""
    with clock.at(at):
        case, _ = actions.report_case(reporter=reporter or city.g1_worker, category=category or m.neighbour,
                                      description="楼上漏水，两户争执", **where)
        case = actions.accept_case(case, actor=operator or city.t1_operator)
        centre = details.pop("centre", m.town_rc)
        return d.open_dispute(case, actor=operator or city.t1_operator, centre=centre.pk,
                              source=details.pop("source", "screening"), **details)
