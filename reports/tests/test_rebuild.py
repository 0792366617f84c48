"""The nightly rebuild: it agrees with the live counters after any sequence of actions, and it finds and
repairs a counter that was tampered with."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

import time_machine
from django.contrib.auth import get_user_model
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import actions
from cases.choices import ACTIVE_DISPATCH_STATUSES, ExtensionStatus
from cases.models import Dispatch, ExtensionRequest
from govgrid.errors import ActionError
from govgrid.workcalendar import TimeUnit
from grids.choices import Role
from grids.models import Membership
from reports import kpis, tasks
from reports.models import AreaDailyCount, CaseCounterState, CounterDrift, DailyCount
from reports.rebuild import rebuild_counters
from reports.tests import scenario
from reports.tests.scenario import END, START


def test_rebuild_agrees_with_the_live_counters_on_the_holiday_week(tiny_city, categories):
    scenario.build(tiny_city, categories)
    result = rebuild_counters()
    assert result.clean, result.drift[:5]
    assert (result.cases, result.cells, result.repaired) == (10, 0, False)
    check = CounterDrift.objects.get(pk=result.check_id)
    assert (check.cells, check.events) == (0, result.events)


def test_tampered_counters_are_reported_and_repaired(tiny_city, categories):
    scenario.build(tiny_city, categories)
    right = kpis.kpis(tiny_city.city, START, END)
    day = scenario.sep30(9).date()
    DailyCount.objects.filter(area=tiny_city.town1, day=day, department__isnull=True, legacy=False,
                              channel="grid_worker").update(reported=F("reported") + 5)
    AreaDailyCount.objects.filter(area=tiny_city.city, day=day, legacy=False).update(closed=F("closed") - 1)
    bogus = DailyCount.objects.filter(area=tiny_city.g1).first()
    DailyCount.objects.create(area=tiny_city.g2, day=day, category=bogus.category, channel="patrol", accepted=3)
    CaseCounterState.objects.filter(case=tiny_city_case(tiny_city)).delete()
    assert kpis.kpis(tiny_city.city, START, END)["counts"]["closed"] == right["counts"]["closed"] - 1

    result = rebuild_counters()
    assert (result.daily_rows, result.area_rows, result.states) == (2, 1, 1)
    assert result.cells == 3 and result.repaired
    found = {(d["table"], d.get("area"), d.get("measure")): d for d in result.drift}
    reported = found[("reports_dailycount", "980101001", "reported")]
    assert (reported["stored"], reported["expected"], reported["day"]) == (12, 7, "2026-09-30")
    assert found[("reports_areadailycount", "9801", "closed")]["expected"] == 2  # G and I closed on 30 Sep
    assert found[("reports_dailycount", "980101001001002", "accepted")]["expected"] == 0
    assert CounterDrift.objects.get(pk=result.check_id).cells == 3

    assert kpis.kpis(tiny_city.city, START, END) == right
    assert not DailyCount.objects.filter(area=tiny_city.g2).exists()  # the bogus row is gone, not zeroed
    again = rebuild_counters()
    assert again.clean and not again.repaired


def tiny_city_case(city):
    return CaseCounterState.objects.order_by("case_id").first().case


def test_report_only_rebuild_changes_nothing(tiny_city, categories):
    scenario.build(tiny_city, categories)
    DailyCount.objects.filter(area=tiny_city.city).update(reported=F("reported") + 1)
    result = rebuild_counters(repair=False)
    assert result.daily_rows > 0 and not result.repaired
    assert rebuild_counters(repair=False).daily_rows == result.daily_rows


def test_the_celery_task_runs_the_rebuild(tiny_city, categories):
    scenario.report(tiny_city, categories)
    DailyCount.objects.update(reported=0)
    assert tasks.rebuild_counters() == {"cases": 1, "events": 1, "daily_rows": 5, "area_rows": 0, "states": 0,
                                        "cells": 5, "repaired": True}
    assert tasks.rebuild_counters()["cells"] == 0


# --- random sequences of actions ------------------------------------------------------------------

# "advance" moves a case one step along the usual path, so that random sequences reach every stage.
OPS = ("advance",) * 10 + (
    "report", "report", "accept", "reject", "merge", "dispatch", "dispatch", "sign", "sign", "return", "extend",
    "decide", "feedback", "feedback", "verify", "verify", "close", "follow_up", "suspend", "resume", "supervise",
    "escalate", "sweep", "wait", "wait",
)
LIMITS = ((None, None), (Decimal(1), TimeUnit.WORKING_DAYS), (Decimal(3), TimeUnit.NATURAL_HOURS),
          (Decimal("0.5"), TimeUnit.WORKING_HOURS))


class World:
    """The tiny city's personas, and the actions a random step can take with them."""

    def __init__(self, city, cats, clock):
        self.city, self.cats, self.clock, self.cases = city, cats, clock, []
        User = get_user_model()
        self.operator, _ = User.objects.get_or_create(username="city_operator")
        Membership.objects.get_or_create(user=self.operator, role=Role.CENTRE_OPERATOR, area=city.city)
        justice, _ = User.objects.get_or_create(username="justice_handler")
        Membership.objects.get_or_create(user=justice, role=Role.DEPT_HANDLER, department=city.town2_justice)
        self.handlers = {city.town1_um.pk: city.handler, city.district_um.pk: scenario.district_handler(city),
                         city.town2_justice.pk: justice}
        self.departments = [city.town1_um, city.district_um, city.town2_justice]

    def step(self, op: str, which: int, r: int) -> None:
        if op == "report":
            self.report(r)
            return
        if op == "sweep":
            actions.sweep_deadlines()
            return
        if op == "wait":
            self.clock.shift(timedelta(minutes=17 * (r % 180) + 5))
            return
        if not self.cases:
            return
        case = self.cases[which % len(self.cases)]
        case.refresh_from_db()
        op_ = self.operator
        if op == "advance":
            op = self.next_step(case, r)
        if op == "accept":
            actions.accept_case(case, actor=op_)
        elif op == "reject":
            actions.reject_case(case, actor=op_, reason="不予受理")
        elif op == "merge":
            actions.merge_case(case, actor=op_, master=self.cases[(which + 1) % len(self.cases)])
        elif op == "dispatch":
            lead = self.departments[r % 3]
            assists = [self.departments[(r + 1) % 3]] if r % 4 == 0 else []
            limit, unit = LIMITS[r % len(LIMITS)]
            actions.dispatch_case(case, actor=op_, lead=lead, assists=assists, time_limit=limit, time_unit=unit)
        elif op in ("sign", "return", "extend", "feedback"):
            live = list(Dispatch.objects.filter(case=case, status__in=ACTIVE_DISPATCH_STATUSES).order_by("id"))
            if not live:
                return
            dispatch = live[r % len(live)]
            handler = self.handlers[dispatch.department_id]
            if op == "sign":
                actions.sign_dispatch(dispatch, actor=handler)
            elif op == "return":
                actions.return_dispatch(dispatch, actor=handler, reason="派错了")
            elif op == "extend":
                actions.request_extension(dispatch, actor=handler, amount=r % 3 + 1,
                                          unit=TimeUnit.WORKING_DAYS if r % 2 else TimeUnit.NATURAL_HOURS,
                                          reason="需要更多时间")
            else:
                actions.feedback_dispatch(dispatch, actor=handler, note="已处理")
        elif op == "decide":
            pending = ExtensionRequest.objects.filter(dispatch__case=case, status=ExtensionStatus.PENDING).first()
            if pending is not None:
                actions.decide_extension(pending, actor=op_, approve=r % 3 != 0, note="不同意")
        elif op == "verify":
            worker = self.city.g3_worker if case.grid_id == self.city.g3.pk else self.city.g1_worker
            actions.verify_case(case, actor=worker, passed=r % 3 != 0, note="仍未解决", photos=[scenario.photo()])
        elif op == "close":
            actions.close_case(case, actor=op_)
        elif op == "follow_up":
            actions.follow_up(case, actor=op_, satisfaction=("satisfied", "basic", "dissatisfied")[r % 3])
        elif op == "suspend":
            actions.suspend_case(case, actor=op_, reason="等待裁定")
        elif op == "resume":
            actions.resume_case(case, actor=op_)
        elif op == "supervise":
            actions.supervise_case(case, actor=self.city.city_official, level=("normal", "yellow", "red")[r % 3],
                                   note="抓紧办理")
        elif op == "escalate":
            actions.escalate_case(case, actor=op_)

    @staticmethod
    def next_step(case, r: int) -> str:
        live = list(Dispatch.objects.filter(case=case, status__in=ACTIVE_DISPATCH_STATUSES).values_list(
            "status", flat=True))
        if case.status in ("dispatched", "in_progress"):
            return "sign" if "dispatched" in live else "feedback"
        return {
            "reported": ("accept", "accept", "accept", "reject", "merge")[r % 5],
            "accepted": "dispatch",
            "handled": "verify",
            "verified": ("close", "follow_up")[r % 2],
            "closed": ("follow_up", "supervise")[r % 2],
        }.get(case.status, "sweep")

    def report(self, r: int) -> None:
        if len(self.cases) >= 6:
            return
        city, variant = self.city, r % 10
        category = (self.cats.garbage, self.cats.hazard, self.cats.internal)[r % 3]
        extra = {}
        if variant == 0:
            extra = {"self_resolve": True, "resolution_note": "当场解决", "after_photos": [scenario.photo()]}
        elif variant == 1:
            extra = {"report_only": True}
        elif variant == 2 and category.citizen_allowed:
            extra = {"reporter": self.operator, "channel": "hotline"}
        elif variant == 3:
            extra = {"description": f"{scenario.LEGACY_MARK}旧案"}
        elif variant == 4:
            extra = {"reporter": city.g3_worker, "where": scenario.IN_G3}
        self.cases.append(scenario.report(city, self.cats, category=category, **extra))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.lists(st.integers(0, 10_000), min_size=1, max_size=4),
    steps=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 5), st.integers(0, 10_000)),
                   min_size=5, max_size=60),
)
def test_counters_equal_the_rebuild_after_any_sequence_of_actions(tiny_city, categories, first, steps):
    with time_machine.travel(scenario.sep30(9), tick=False) as clock, scenario.legacy_reports():
        world = World(tiny_city, categories, clock)
        for r in first:
            world.report(r)
        for op, which, r in steps:
            with contextlib.suppress(ActionError):  # refused: nothing happened, and nothing may be counted
                world.step(op, which, r)
    result = rebuild_counters(repair=False)
    assert result.clean, result.drift[:10]


def test_a_state_moved_by_an_action_during_the_rebuild_is_left_for_the_next_one(tiny_city, categories, monkeypatch):
    from reports import rebuild

    scenario.build(tiny_city, categories)
    first, second = CaseCounterState.objects.order_by("case_id")[:2]
    CaseCounterState.objects.filter(pk__in=[first.pk, second.pk]).update(rework_count=7)  # both drifted
    real_apply = rebuild._apply

    def an_action_comes_first(result):  # between the snapshot and the repair, an action writes one state
        CaseCounterState.objects.filter(pk=first.pk).update(rework_count=8)
        real_apply(result)

    monkeypatch.setattr(rebuild, "_apply", an_action_comes_first)
    result = rebuild_counters()
    assert (result.states, result.states_skipped) == (2, 1)
    assert CaseCounterState.objects.get(pk=first.pk).rework_count == 8  # the action's write stands
    assert CaseCounterState.objects.get(pk=second.pk).rework_count == second.rework_count  # repaired
    monkeypatch.setattr(rebuild, "_apply", real_apply)
    assert rebuild_counters().states == 1 and rebuild_counters().clean
