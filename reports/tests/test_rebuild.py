"""The nightly rebuild: it agrees with the live counters after any sequence of actions, and it finds and
repairs a counter that was tampered with."""

from __future__ import annotations

import contextlib

import time_machine
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govgrid.errors import ActionError
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

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.lists(st.integers(0, 10_000), min_size=1, max_size=4),
    steps=scenario.steps(),
)
def test_counters_equal_the_rebuild_after_any_sequence_of_actions(tiny_city, categories, first, steps):
    with time_machine.travel(scenario.sep30(9), tick=False) as clock, scenario.legacy_reports():
        world = scenario.World(tiny_city, categories, clock)
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
