"""The monthly roll-up of the counters (reports.rollup): every KPI of a whole month is the same before and
after, the nightly rebuild still checks (and repairs) every count, a second run changes nothing, and no
count is lost to an action writing meanwhile or later."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
import time_machine
from django.db import connection, connections
from django.db.models import F

from reports import dashboard, kpis, tasks
from reports.models import MEASURE_NAMES, AreaDailyCount, AreaMonthlyCount, DailyCount, MonthlyCount
from reports.rebuild import rebuild_counters
from reports.rollup import daily_from, roll_up_counters
from reports.tests import scenario
from reports.tests.scenario import SHANGHAI

# On 20 January 2027 with 62 days kept by day, the window starts on 1 November: September and October
# (the scenario's holiday week) are folded into months.
LATER = datetime(2027, 1, 20, 9, 0, tzinfo=SHANGHAI)
SEPTEMBER, OCTOBER = (date(2026, 9, 1), date(2026, 9, 30)), (date(2026, 10, 1), date(2026, 10, 31))
BOTH = (date(2026, 9, 1), date(2026, 10, 31))


@pytest.fixture
def later(settings):
    settings.COUNTER_DAILY_RETENTION_DAYS = 62
    with time_machine.travel(LATER, tick=False):
        yield


def figures(city) -> dict:
    """Everything the dashboards and reports read from the counters, for whole months."""
    out: dict = {}
    for name, (start, end) in (("sep", SEPTEMBER), ("oct", OCTOBER), ("both", BOTH)):
        for area in (city.city, city.town1, city.town2, city.g1):
            for by in (None, "area", "category", "family", "department", "channel", "month"):
                out[name, area.code, by] = kpis.kpis(area, start, end, by=by)
            out[name, area.code, "trend"] = kpis.trend(area, start, end, period="month")
            out[name, area.code, "league"] = kpis.department_league(area, start, end)
            out[name, area.code, "grids"] = dashboard.grid_reports(area, start, end)
    out["change"] = kpis.change_from_previous(city.city, *OCTOBER)
    return out


def stored(model) -> list[tuple]:
    cell = [f.name for f in model._meta.concrete_fields if not f.primary_key and f.name not in MEASURE_NAMES]
    return sorted(model.objects.values_list(*cell, *MEASURE_NAMES), key=repr)


def test_roll_up_keeps_every_kpi_of_whole_months_and_shrinks_the_tables(tiny_city, categories, later):
    scenario.build(tiny_city, categories)
    assert daily_from() == date(2026, 11, 1)
    before = figures(tiny_city)
    daily_rows, area_rows = DailyCount.objects.count(), AreaDailyCount.objects.count()
    assert before["oct", tiny_city.city.code, None]["counts"]["closed"] == 2  # A and B, on 8 October

    result = roll_up_counters()

    assert (result.before, result.daily_rows, result.area_rows) == (date(2026, 11, 1), daily_rows, area_rows)
    assert not DailyCount.objects.exists() and not AreaDailyCount.objects.exists()
    # Sep 30, Oct 2 and Oct 8 of each area become one row per month; a deadline moved within a month is gone.
    assert 0 < MonthlyCount.objects.count() < daily_rows
    assert AreaMonthlyCount.objects.count() < area_rows
    assert set(AreaMonthlyCount.objects.values_list("month", flat=True)) == {date(2026, 9, 1), date(2026, 10, 1)}
    assert figures(tiny_city) == before


def test_a_period_inside_rolled_months_is_counted_by_whole_months(tiny_city, categories, later):
    scenario.build(tiny_city, categories)
    # The widening follows the window, rolled up yet or not: the same answer before and after.
    before = kpis.kpis(tiny_city.city, date(2026, 10, 5), date(2026, 10, 9))
    roll_up_counters()

    result = kpis.kpis(tiny_city.city, date(2026, 10, 5), date(2026, 10, 9))
    assert (result["start"], result["end"], result["widened"]) == (*OCTOBER, True)
    assert result == before
    assert result["counts"] == kpis.kpis(tiny_city.city, *OCTOBER)["counts"]
    assert kpis.kpis(tiny_city.city, date(2026, 10, 5), date(2027, 1, 20))["start"] == date(2026, 10, 1)
    assert kpis.kpis(tiny_city.city, date(2026, 11, 5), date(2027, 1, 20))["widened"] is False
    with pytest.raises(kpis.RolledUpPeriod):
        kpis.trend(tiny_city.city, date(2026, 10, 1), date(2026, 10, 31), period="day")
    with pytest.raises(kpis.RolledUpPeriod):
        kpis.kpis(tiny_city.city, *OCTOBER, by="week")


def test_the_api_answers_whole_months_or_a_clear_400(tiny_city, categories, later, api):
    scenario.build(tiny_city, categories)
    roll_up_counters()
    api.force_authenticate(tiny_city.city_official)
    answer = api.get("/api/v1/reports/kpis/", {"area": "9801", "start": "2026-10-05", "end": "2026-10-09"})
    assert answer.status_code == 200, answer.content
    assert (answer.json()["start"], answer.json()["widened"]) == ("2026-10-01", True)
    answer = api.get("/api/v1/reports/trend/", {"area": "9801", "start": "2026-10-01", "end": "2026-10-31",
                                                "period": "day"})
    assert answer.status_code == 400 and "period" in answer.json()["errors"], answer.content


def test_rolling_up_twice_changes_nothing(tiny_city, categories, later):
    scenario.build(tiny_city, categories)
    roll_up_counters()
    tables = [stored(MonthlyCount), stored(AreaMonthlyCount)]
    again = roll_up_counters()
    assert (again.daily_rows, again.area_rows, again.monthly_rows, again.area_monthly_rows) == (0, 0, 0, 0)
    assert [stored(MonthlyCount), stored(AreaMonthlyCount)] == tables
    assert tasks.roll_up_counters()["daily_rows"] == 0


def test_the_drift_check_covers_the_monthly_rows(tiny_city, categories, later):
    scenario.build(tiny_city, categories)
    roll_up_counters()
    right = figures(tiny_city)
    assert rebuild_counters().clean

    assert MonthlyCount.objects.filter(area=tiny_city.town1, month=date(2026, 9, 1), department__isnull=True,
                                       channel="grid_worker", legacy=False).update(reported=F("reported") + 2) == 1
    assert AreaMonthlyCount.objects.filter(area=tiny_city.city, month=date(2026, 10, 1), legacy=False).update(
        closed=F("closed") - 1) == 1
    assert kpis.kpis(tiny_city.city, *OCTOBER)["counts"]["closed"] == 1

    result = rebuild_counters()
    assert (result.daily_rows, result.area_rows, result.monthly_rows, result.area_monthly_rows) == (0, 0, 1, 1)
    assert result.cells == 2 and result.repaired
    found = {(d["table"], d["area"], d["measure"]): d for d in result.drift}
    assert found[("reports_areamonthlycount", "9801", "closed")] == {
        "table": "reports_areamonthlycount", "area": "9801", "month": "2026-10-01", "legacy": False,
        "measure": "closed", "stored": 1, "expected": 2,
    }
    reported = found[("reports_monthlycount", "980101001", "reported")]
    assert (reported["month"], reported["stored"] - reported["expected"]) == ("2026-09-01", 2)
    assert figures(tiny_city) == right
    assert rebuild_counters().clean


def test_a_late_event_for_a_rolled_day_adds_to_its_month(tiny_city, categories, later):
    cases = scenario.build(tiny_city, categories)
    roll_up_counters()
    october = kpis.kpis(tiny_city.city, *OCTOBER)["counts"]

    # A was closed on 8 October; a dissatisfied call in January reopens it: the closure is taken off 8 October.
    from cases import actions

    actions.follow_up(cases.a, actor=tiny_city.t1_operator, satisfaction="dissatisfied")
    assert DailyCount.objects.filter(day=date(2026, 10, 8)).exists()  # a daily row before the window
    after = kpis.kpis(tiny_city.city, *OCTOBER)["counts"]
    assert (after["closed"], after["closed_on_time"]) == (october["closed"] - 1, october["closed_on_time"] - 1)
    assert rebuild_counters(repair=False).clean

    result = roll_up_counters()
    assert result.daily_rows > 0
    assert not DailyCount.objects.filter(day__lt=date(2026, 11, 1)).exists()
    assert kpis.kpis(tiny_city.city, *OCTOBER)["counts"] == after
    assert rebuild_counters(repair=False).clean


@pytest.mark.django_db(transaction=True)
def test_an_action_writing_to_a_day_being_rolled_up_is_not_lost(tiny_city, categories, settings):
    """A real second transaction holds the city's 30 September rows (as an action adding to them does)
    while the roll-up runs: the roll-up waits for it and folds its count in."""
    settings.COUNTER_DAILY_RETENTION_DAYS = 62
    with time_machine.travel(scenario.sep30(9), tick=False):
        scenario.report(tiny_city, categories)
    day, city = date(2026, 9, 30), tiny_city.city
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def action() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("BEGIN")
                for table in ("reports_dailycount", "reports_areadailycount"):
                    cursor.execute(f"UPDATE {table} SET reported = reported + 1 WHERE area_id = %s AND day = %s",
                                   [city.pk, day])
                holding.set()
                release.wait(10)
                cursor.execute("COMMIT")
        except BaseException as error:  # noqa: BLE001  (shown by the main thread)
            errors.append(error)
        finally:
            connections["default"].close()

    def rollup() -> None:
        try:
            results.append(roll_up_counters(today=LATER.date()))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections["default"].close()

    results: list = []
    writer = threading.Thread(target=action)
    writer.start()
    assert holding.wait(10)
    folder = threading.Thread(target=rollup)
    folder.start()
    with connection.cursor() as cursor:  # the roll-up waits on the writer's row locks
        for _attempt in range(200):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the roll-up never waited for the writer")
    release.set()
    writer.join(10)
    folder.join(10)
    assert not errors, errors
    assert results[0].daily_rows == 5  # the case's five areas, one row each
    assert not DailyCount.objects.exists()
    assert MonthlyCount.objects.get(area=city, month=date(2026, 9, 1)).reported == 2
    assert AreaMonthlyCount.objects.get(area=city, month=date(2026, 9, 1)).reported == 2
    assert AreaMonthlyCount.objects.get(area=tiny_city.g1, month=date(2026, 9, 1)).reported == 1


def test_the_dashboard_page_counts_rolled_months_whole_and_says_so(tiny_city, categories, later):
    from reports.tests.test_pages import client_for

    scenario.build(tiny_city, categories)
    roll_up_counters()
    response = client_for(tiny_city.city_official).get(
        "/reports/", {"area": "9801", "start": "2026-10-05", "end": "2026-10-09", "period": "day"}
    )
    assert response.status_code == 200
    period = response.context["period"]
    assert (period.start, period.end, period.trend, period.widened) == (*OCTOBER, "month", True)
    tiles = {tile["name"]: tile for tile in response.context["tiles"]}
    assert tiles["closed"]["value"] == kpis.kpis(tiny_city.city, *OCTOBER)["counts"]["closed"] == 2
    assert "kept by month only" in response.content.decode()
    inside = client_for(tiny_city.city_official).get("/reports/", {"area": "9801", "range": "month"})
    assert "kept by month only" not in inside.content.decode()


def test_a_longer_window_later_puts_the_days_back(tiny_city, categories, later, settings):
    scenario.build(tiny_city, categories)

    def nonzero(model) -> list[tuple]:
        width = len(MEASURE_NAMES)
        return [row for row in stored(model) if any(row[-width:])]

    daily, area = nonzero(DailyCount), nonzero(AreaDailyCount)
    roll_up_counters()
    settings.COUNTER_DAILY_RETENTION_DAYS = 36500
    result = rebuild_counters()
    assert result.repaired and result.monthly_rows and result.area_monthly_rows
    assert (nonzero(DailyCount), nonzero(AreaDailyCount)) == (daily, area)
    assert not MonthlyCount.objects.exists() and not AreaMonthlyCount.objects.exists()
    assert rebuild_counters().clean


def test_beat_rolls_up_every_night_after_the_rebuild():
    from govgrid.celery import app

    rollup_entry, rebuild_entry = (app.conf.beat_schedule[name] for name in ("roll-up-counters", "rebuild-counters"))
    assert rollup_entry["task"] == "reports.tasks.roll_up_counters"
    assert rollup_entry["schedule"].hour == {3} and rebuild_entry["schedule"].hour == {2}
