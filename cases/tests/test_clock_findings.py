"""Findings of issue #8 about clocks, each pinned by a test that failed before the fix:

- a dispatch keeps the limit it runs on (a centre may override the category's), and its unit decides
  when the light turns yellow and how a suspension moves the deadline (a 30-minute pause moved a
  2-natural-hour dispatch's deadline *earlier* when it was taken for working time);
- each stage resumes in its own unit;
- a suspended case cannot be closed;
- the yellow share is per category and stage.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases import actions, deadlines
from cases.choices import DispatchRole, Light, Stage
from cases.tests.conftest import photo
from govgrid.errors import Conflict
from govgrid.workcalendar import TimeUnit

SHANGHAI = ZoneInfo("Asia/Shanghai")
G1 = {"lon": 113.005, "lat": 23.005}
# Wednesday 2026-11-18, a plain working day; 17:00 is an hour before the end of the working day.
LATE_AFTERNOON = datetime(2026, 11, 18, 17, 0, tzinfo=SHANGHAI)


def accepted(city, category, moment):
    with time_machine.travel(moment, tick=False):
        case, _ = actions.report_case(reporter=city.g1_worker, category=category, description="垃圾", **G1)
        return actions.accept_case(case, actor=city.t1_operator)


def lead(case):
    return case.dispatches.get(role=DispatchRole.LEAD)


def test_a_dispatch_keeps_its_own_limit_and_its_unit_sets_the_yellow_light(tiny_city, categories):
    # The category runs on 4 working hours; the centre gives 2 natural hours instead.
    case = accepted(tiny_city, categories.garbage, LATE_AFTERNOON)
    with time_machine.travel(LATE_AFTERNOON, tick=False):
        case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um,
                                     time_limit=Decimal(2), time_unit=TimeUnit.NATURAL_HOURS)
        dispatch = lead(case)
        assert (dispatch.time_limit, dispatch.time_unit) == (Decimal(2), TimeUnit.NATURAL_HOURS)
        case = actions.sign_dispatch(dispatch, actor=tiny_city.handler)
    assert case.due_at == LATE_AFTERNOON + timedelta(hours=2)
    # 75 % of two natural hours: 18:30, although the working day ends at 18:00.
    assert case.warn_at == LATE_AFTERNOON + timedelta(minutes=90)
    assert case.light == Light.GREEN


def test_a_pause_moves_a_natural_hour_dispatch_later_by_the_pause(tiny_city, categories):
    case = accepted(tiny_city, categories.garbage, LATE_AFTERNOON)
    with time_machine.travel(LATE_AFTERNOON, tick=False):
        case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um,
                                     time_limit=Decimal(2), time_unit=TimeUnit.NATURAL_HOURS)
        case = actions.sign_dispatch(lead(case), actor=tiny_city.handler)
        due = case.handle_due_at
    with time_machine.travel(LATE_AFTERNOON + timedelta(minutes=30), tick=False):
        case = actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待")
    with time_machine.travel(LATE_AFTERNOON + timedelta(minutes=60), tick=False):
        case = actions.resume_case(case, actor=tiny_city.t1_operator)
    assert case.handle_due_at == due + timedelta(minutes=30)
    assert lead(case).due_at == due + timedelta(minutes=30)
    assert case.due_at == due + timedelta(minutes=30)


def test_each_stage_resumes_in_its_own_unit(tiny_city, categories, settings):
    # Acceptance on natural hours, signing on working hours: a pause across the evening moves the first
    # by the whole pause and the second by the working time in it (none).
    settings.CASE_STAGE_LIMITS = {Stage.ACCEPT: ("3", TimeUnit.NATURAL_HOURS)}
    with time_machine.travel(LATE_AFTERNOON, tick=False):
        case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, description="x",
                                      **G1)
    due = case.accept_due_at
    assert due == LATE_AFTERNOON + timedelta(hours=3)
    with time_machine.travel(LATE_AFTERNOON + timedelta(hours=2), tick=False):  # 19:00
        actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待")
    with time_machine.travel(LATE_AFTERNOON + timedelta(hours=4), tick=False):  # 21:00
        case = actions.resume_case(case, actor=tiny_city.t1_operator)
    assert case.accept_due_at == due + timedelta(hours=2)
    assert case.due_at == case.accept_due_at and case.stage == Stage.ACCEPT


def test_a_suspended_case_cannot_be_closed(tiny_city, categories):
    case = accepted(tiny_city, categories.garbage, LATE_AFTERNOON)
    case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    case = actions.sign_dispatch(lead(case), actor=tiny_city.handler)
    case = actions.feedback_dispatch(lead(case), actor=tiny_city.handler, note="已清理")
    case = actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[photo()])
    case = actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待回访")
    with pytest.raises(Conflict):
        actions.close_case(case, actor=tiny_city.t1_operator)
    case = actions.resume_case(case, actor=tiny_city.t1_operator)
    assert actions.close_case(case, actor=tiny_city.t1_operator).status == "closed"


def test_the_yellow_share_is_per_category_and_stage(tiny_city, categories):
    categories.garbage.accept_yellow_share = Decimal("0.50")
    categories.garbage.save()
    assert deadlines.yellow_share(categories.garbage, Stage.ACCEPT) == Decimal("0.50")
    assert deadlines.yellow_share(categories.garbage, Stage.SIGN) == deadlines.default_yellow_share()
    assert deadlines.yellow_share(categories.hazard, Stage.HANDLE) == Decimal("0.5")
    monday_morning = datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(monday_morning, tick=False):
        case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, description="x",
                                      **G1)
    # Two working hours to accept; half of them used at 10:00.
    assert case.due_at == monday_morning + timedelta(hours=2)
    assert case.warn_at == monday_morning + timedelta(hours=1)
