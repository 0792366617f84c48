"""Each KPI on the hand-built holiday week (reports/tests/scenario.py), whose answers are worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from reports import kpis
from reports.models import MEASURE_NAMES
from reports.tests import scenario
from reports.tests.scenario import CITY_COUNTS, CITY_RATES, END, START


@pytest.fixture
def week(tiny_city, categories):
    return scenario.build(tiny_city, categories)


def test_the_holiday_moves_one_deadline_and_not_the_other(week):
    # A: 2 working days from Wed 30 Sep 10:00 skip the 1–7 October holiday → due Fri 9 Oct, handled 8 Oct.
    assert week.a.handle_due_at == scenario.at(9, 10)
    assert week.a.closed_on_time is True
    # B: 2 natural days → due Fri 2 Oct, in the holiday; handled 8 Oct → late.
    assert week.b.handle_due_at == scenario.at(2, 10)
    assert week.b.closed_on_time is False


def test_city_counts_and_rates(week, tiny_city):
    result = kpis.kpis(tiny_city.city, START, END)
    assert result["counts"] == CITY_COUNTS
    assert result["rates"] == CITY_RATES
    assert result["area"] == {"code": "9801", "name": "Testville", "level": 1}


def test_legacy_cases_are_counted_apart_and_left_out_of_every_rate(week, tiny_city):
    legacy = kpis.kpis(tiny_city.city, START, END)["legacy"]
    assert {name: value for name, value in legacy.items() if value} == {"reported": 1, "accepted": 1,
                                                                        "reported_accepted": 1}


def test_every_level_of_the_path_has_the_same_figures_for_a_case_inside_it(week, tiny_city):
    town1 = kpis.kpis(tiny_city.town1, START, END)["counts"]
    town2 = kpis.kpis(tiny_city.town2, START, END)["counts"]
    assert town1["reported"] == 8 and town2["reported"] == 1
    assert {name: town1[name] + town2[name] for name in MEASURE_NAMES} == CITY_COUNTS
    assert kpis.kpis(tiny_city.comm_a, START, END)["counts"] == town1
    assert kpis.kpis(tiny_city.g1, START, END)["counts"] == town1
    assert kpis.kpis(tiny_city.g2, START, END)["counts"]["reported"] == 0


def test_breakdown_by_child_area(week, tiny_city):
    city = kpis.kpis(tiny_city.city, START, END, by="area")
    assert [(row["key"], row["counts"]["reported"]) for row in city["rows"]] == [("980101", 9)]
    district = kpis.kpis(tiny_city.district, START, END, by="area")
    rows = {row["key"]: row for row in district["rows"]}
    assert list(rows) == ["980101001", "980101002"]
    assert rows["980101002"]["counts"]["accepted"] == 1 and rows["980101002"]["rates"]["acceptance_rate"] == 1.0
    assert rows["980101001"]["rates"]["on_time_rate"] == 0.75
    assert rows["980101001"]["label"] == "Town One" and rows["980101001"]["level"] == 3
    grid = kpis.kpis(tiny_city.g1, START, END, by="area")
    assert grid["rows"] == []


def test_on_time_closure_in_a_shorter_period(week, tiny_city):
    # 8–9 Oct: A and B closed (A on time); due: G (8 Oct, after its rework) and A (9 Oct), both closed on
    # time. The rates are about the cases due in the period, not the closures made in it: B (due 2 Oct,
    # closed late on 8 Oct) is in the 30 Sep–4 Oct figures.
    result = kpis.kpis(tiny_city.city, date(2026, 10, 8), date(2026, 10, 9))
    counts, rates = result["counts"], result["rates"]
    assert (counts["closed"], counts["closed_on_time"], counts["due"]) == (2, 1, 2)
    assert (counts["due_closed"], counts["due_closed_on_time"]) == (2, 2)
    assert rates["closure_rate"] == 1.0 and rates["on_time_rate"] == 1.0
    before = kpis.kpis(tiny_city.city, date(2026, 9, 30), date(2026, 10, 4))
    figures = before["counts"]
    assert (figures["due"], figures["due_closed"], figures["due_closed_on_time"]) == (2, 2, 1)
    assert before["rates"]["on_time_rate"] == 0.5
    assert rates["acceptance_rate"] is None  # nothing reported in the period: no division by zero


def test_trend_by_day_puts_each_deadline_on_its_day(week, tiny_city):
    rows = kpis.trend(tiny_city.city, START, END, period="day")
    assert [row["key"] for row in rows] == [date(2026, 9, 28 + n) for n in range(3)] + [
        date(2026, 10, n) for n in range(1, 10)]
    due = {row["key"].isoformat(): row["counts"]["due"] for row in rows if row["counts"]["due"]}
    assert due == {"2026-09-30": 1, "2026-10-02": 1, "2026-10-08": 1, "2026-10-09": 1}
    overdue = {row["key"].isoformat(): row["counts"]["overdue"] for row in rows if row["counts"]["overdue"]}
    assert overdue == {"2026-10-02": 1}
    assert sum(row["counts"]["reported"] for row in rows) == 9


def test_trend_by_week_and_month(week, tiny_city):
    weeks = kpis.kpis(tiny_city.city, START, END, by="week")["rows"]
    assert [row["key"] for row in weeks] == [date(2026, 9, 28), date(2026, 10, 5)]
    assert [row["counts"]["closed"] for row in weeks] == [2, 2]
    months = kpis.trend(tiny_city.city, START, END, period="month")
    assert [(row["key"], row["counts"]["reported"]) for row in months] == [(date(2026, 9, 1), 9),
                                                                          (date(2026, 10, 1), 0)]


def test_breakdown_by_department(week, tiny_city):
    rows = {row["label"]: row for row in kpis.kpis(tiny_city.city, START, END, by="department")["rows"]}
    town, district = rows["Town One 城管中队"], rows["East 城管局"]
    assert (town["counts"]["dispatched"], town["counts"]["returned"]) == (4, 1)
    assert town["rates"]["dispatch_accuracy"] == 0.75
    assert (town["counts"]["due"], town["counts"]["closed_on_time"], town["counts"]["supervised"]) == (3, 2, 1)
    assert town["rates"]["on_time_rate"] == round(2 / 3, 4)
    assert (district["counts"]["reworked"], district["counts"]["handled"], district["counts"]["rehandled"]) == (1, 1, 1)
    assert district["rates"]["rework_rate"] == 1.0 and district["rates"]["on_time_rate"] == 1.0


def test_department_league_table(week, tiny_city):
    league = kpis.department_league(tiny_city.city, START, END)
    assert [row["department"]["name"] for row in league] == ["East 城管局", "Town One 城管中队"]
    town = league[1]
    assert (town["returned"], town["overdue"], town["supervised"], town["surveyed"]) == (1, 1, 1, 1)
    assert town["satisfaction_rate"] == 1.0


def test_breakdown_by_category_family_and_channel(week, tiny_city, categories):
    by_category = kpis.kpis(tiny_city.city, START, END, by="category")["rows"]
    assert [(row["key"], row["counts"]["reported"]) for row in by_category] == [("0101", 9)]
    by_family = kpis.kpis(tiny_city.city, START, END, by="family")["rows"]
    assert [(row["key"], row["label"], row["counts"]["closed"]) for row in by_family] == [("01", "市容环境", 4)]
    by_channel = {row["key"]: row["counts"] for row in kpis.kpis(tiny_city.city, START, END, by="channel")["rows"]}
    assert (by_channel["grid_worker"]["reported"], by_channel["hotline"]["reported"]) == (8, 1)
    assert by_channel["hotline"]["surveyed"] == 1


def test_change_from_previous_period(week, tiny_city):
    tiles = kpis.change_from_previous(tiny_city.city, date(2026, 10, 5), date(2026, 10, 11))
    assert tiles["previous"] == {"start": date(2026, 9, 28), "end": date(2026, 10, 4)}
    closed = tiles["counts"]["closed"]
    assert (closed["current"], closed["previous"], closed["delta"], closed["ratio"]) == (2, 2, 0, 0.0)
    reported = tiles["counts"]["reported"]
    assert (reported["current"], reported["previous"], reported["ratio"]) == (0, 9, -1.0)
    on_time = tiles["rates"]["on_time_rate"]
    # now: A (due 9 Oct) and G (8 Oct), both closed on time; before: I (30 Sep) on time, B (2 Oct) late
    assert (on_time["current"], on_time["previous"], on_time["delta"]) == (1.0, 0.5, 0.5)


def test_top_overdue_reads_open_cases_past_their_deadline(tiny_city, categories):
    import time_machine

    from cases import actions

    with time_machine.travel(scenario.sep30(9), tick=False) as clock:
        late = scenario.report(tiny_city, categories)
        actions.accept_case(late, actor=tiny_city.t1_operator)
        actions.dispatch_case(late, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
        clock.move_to(scenario.sep30(9, 30))
        fresh = scenario.report(tiny_city, categories)
        elsewhere = scenario.report(tiny_city, categories, reporter=tiny_city.g3_worker, where=scenario.IN_G3)
        clock.move_to(scenario.at(8, 10))
        rows = kpis.top_overdue(tiny_city.town1)
        # late: signing due 11:00 (dispatched at once); fresh: acceptance due 11:30
        assert [row["id"] for row in rows] == [late.pk, fresh.pk]
        assert rows[0]["overdue_hours"] > 0
        assert elsewhere.pk in [row["id"] for row in kpis.top_overdue(tiny_city.city)]
        assert kpis.top_overdue(tiny_city.town1, user=tiny_city.g3_worker) == []
        assert len(kpis.top_overdue(tiny_city.city, limit=1)) == 1


def test_kpis_read_counters_only_whatever_the_number_of_cases(week, tiny_city, django_assert_num_queries):
    with django_assert_num_queries(3):  # totals, child areas, their sums
        kpis.kpis(tiny_city.city, START, END, by="area")
    with django_assert_num_queries(2):  # totals, trend
        kpis.kpis(tiny_city.city, START, END, by="day")


def test_bad_arguments(tiny_city):
    with pytest.raises(ValueError):
        kpis.kpis(tiny_city.city, END, START)
    with pytest.raises(ValueError):
        kpis.kpis(tiny_city.city, START, END, by="colour")
    with pytest.raises(TypeError):
        kpis.kpis(tiny_city.city, "2026-10-01", END)
