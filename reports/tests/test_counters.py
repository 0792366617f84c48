"""The counters move with the actions, in the actions' transactions, at the cost of one statement on intake."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import actions
from cases.actions import event_recorded
from cases.models import Case, CaseEvent
from govgrid.errors import Conflict
from govgrid.workcalendar import TimeUnit
from reports import kpis
from reports.models import AreaDailyCount, CaseCounterState, DailyCount
from reports.rebuild import rebuild_counters
from reports.tests import scenario
from reports.tests.scenario import live_lead


@pytest.fixture
def clock():
    with time_machine.travel(scenario.at(12, 9), tick=False) as traveller:  # Monday 12 Oct 2026
        yield traveller


def local_date(moment):
    return timezone.localtime(moment).date()


def counts(area, day=None):
    day = day or scenario.at(12, 9).date()
    return kpis.kpis(area, day, day)["counts"]


def nonzero(figures):
    return {name: value for name, value in figures.items() if value}


def test_a_report_is_counted_at_every_level_of_its_grid_path_in_one_statement(tiny_city, categories, clock):
    with CaptureQueriesContext(connection) as queries:
        scenario.report(tiny_city, categories)
    writes = [q["sql"] for q in queries if "reports_" in q["sql"]]
    assert len(writes) == 1 and writes[0].lstrip().startswith("WITH")
    for area in (tiny_city.city, tiny_city.district, tiny_city.town1, tiny_city.comm_a, tiny_city.g1):
        assert nonzero(counts(area)) == {"reported": 1}
    assert nonzero(counts(tiny_city.town2)) == {}
    assert DailyCount.objects.count() == 5 and AreaDailyCount.objects.count() == 5
    assert not CaseCounterState.objects.exists()  # nothing to remember yet


def test_dispatch_counts_each_department_and_the_deadline_on_its_day(tiny_city, categories, clock):
    case = scenario.report(tiny_city, categories)
    actions.accept_case(case, actor=tiny_city.t1_operator)
    case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um,
                                 assists=[tiny_city.district_um], time_limit=Decimal(3),
                                 time_unit=TimeUnit.WORKING_DAYS)
    day = local_date(case.handle_due_at)
    assert day == scenario.at(15, 9).date()  # Monday 09:00 + 3 working days
    rows = {row.department_id: row for row in DailyCount.objects.filter(area=tiny_city.city, day=scenario.at(12, 9))}
    assert (rows[tiny_city.town1_um.pk].dispatched, rows[tiny_city.town1_um.pk].dispatched_cases) == (1, 1)
    assert (rows[tiny_city.district_um.pk].dispatched, rows[tiny_city.district_um.pk].dispatched_cases) == (1, 0)
    assert nonzero(counts(tiny_city.city, day)) == {"due": 1}
    state = CaseCounterState.objects.get(case=case)
    assert (state.lead_department_id, state.due_day, state.due_department_id) == (tiny_city.town1_um.pk, day,
                                                                               tiny_city.town1_um.pk)


def test_an_approved_extension_moves_the_deadline_to_its_new_day(tiny_city, categories, clock):
    case = scenario.report(tiny_city, categories)
    actions.accept_case(case, actor=tiny_city.t1_operator)
    case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    old_day = local_date(case.handle_due_at)
    extension = actions.request_extension(live_lead(case), actor=tiny_city.handler, amount=2,
                                          unit=TimeUnit.WORKING_DAYS, reason="需要协调")
    actions.decide_extension(extension, actor=tiny_city.t1_operator, approve=True)
    case.refresh_from_db()
    new_day = local_date(case.handle_due_at)
    assert new_day != old_day
    assert counts(tiny_city.city, old_day)["due"] == 0
    assert nonzero(counts(tiny_city.city, new_day)) == {"due": 1}
    assert counts(tiny_city.city)["extended"] == 1


def test_the_leads_return_takes_the_deadline_off(tiny_city, categories, clock):
    case = scenario.report(tiny_city, categories)
    actions.accept_case(case, actor=tiny_city.t1_operator)
    actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    actions.return_dispatch(live_lead(case), actor=tiny_city.handler, reason="不属本部门")
    figures = counts(tiny_city.city)
    assert (figures["due"], figures["returned"], figures["dispatched"]) == (0, 1, 1)
    assert kpis.kpis(tiny_city.city, clock_day(), clock_day())["rates"]["dispatch_accuracy"] == 0.0


def clock_day():
    return scenario.at(12, 9).date()


def test_suspension_counts_the_deadline_as_suspended_and_resuming_moves_it(tiny_city, categories, clock):
    case = scenario.report(tiny_city, categories)
    actions.accept_case(case, actor=tiny_city.t1_operator)
    actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待法院裁定")
    figures = counts(tiny_city.city)
    assert (figures["due"], figures["due_suspended"]) == (1, 1)
    assert kpis.kpis(tiny_city.city, clock_day(), clock_day())["rates"]["closure_rate"] is None
    clock.move_to(scenario.at(15, 9))
    actions.resume_case(case, actor=tiny_city.t1_operator)
    case.refresh_from_db()
    assert counts(tiny_city.city)["due"] == 0
    assert nonzero(counts(tiny_city.city, local_date(case.handle_due_at))) == {"due": 1}


def test_a_dissatisfied_call_reopens_a_closed_case_and_takes_its_closure_back(tiny_city, categories, clock):
    case = scenario.report(tiny_city, categories)  # a grid worker's case: closed without a call first
    op = tiny_city.t1_operator
    actions.accept_case(case, actor=op)
    actions.dispatch_case(case, actor=op, lead=tiny_city.town1_um)
    actions.sign_dispatch(live_lead(case), actor=tiny_city.handler)
    actions.feedback_dispatch(live_lead(case), actor=tiny_city.handler, note="已处理")
    actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[scenario.photo()])
    actions.close_case(case, actor=op)
    assert (counts(tiny_city.city)["closed"], counts(tiny_city.city)["closed_on_time"]) == (1, 1)
    clock.move_to(scenario.at(13, 9))
    actions.follow_up(case, actor=op, satisfaction="dissatisfied")
    assert (counts(tiny_city.city)["closed"], counts(tiny_city.city)["closed_on_time"]) == (0, 0)
    reopened = counts(tiny_city.city, scenario.at(13, 9).date())
    assert (reopened["reopened"], reopened["reworked"], reopened["surveyed"]) == (1, 1, 1)
    assert rebuild_counters(repair=False).clean


def handled_case(city, categories, **limit):
    case = scenario.report(city, categories)
    op = city.t1_operator
    actions.accept_case(case, actor=op)
    actions.dispatch_case(case, actor=op, lead=city.town1_um, **limit)
    actions.sign_dispatch(live_lead(case), actor=city.handler)
    actions.feedback_dispatch(live_lead(case), actor=city.handler, note="已处理")
    return case


def due_figures(city, case):
    case.refresh_from_db()
    figures = counts(city, local_date(case.handle_due_at))
    return tuple(figures[name] for name in ("due", "due_suspended", "due_closed", "due_closed_on_time"))


def test_a_closed_case_counts_as_closed_on_its_deadlines_day_and_the_reopening_takes_it_back(
        tiny_city, categories, clock):
    case = handled_case(tiny_city, categories, time_limit=Decimal(2), time_unit=TimeUnit.WORKING_DAYS)
    due_day = local_date(Case.objects.get(pk=case.pk).handle_due_at)
    assert due_day == scenario.at(14, 9).date()
    actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[scenario.photo()])
    assert due_figures(tiny_city.city, case) == (1, 0, 0, 0)
    actions.close_case(case, actor=tiny_city.t1_operator)
    assert due_figures(tiny_city.city, case) == (1, 0, 1, 1)
    rates = kpis.kpis(tiny_city.city, due_day, due_day)["rates"]
    assert (rates["closure_rate"], rates["on_time_rate"]) == (1.0, 1.0)
    # The closure was made today, but the rates belong to the deadline's day: today's rate is empty.
    assert kpis.kpis(tiny_city.city, clock_day(), clock_day())["rates"]["closure_rate"] is None
    clock.move_to(scenario.at(13, 9))
    actions.follow_up(case, actor=tiny_city.t1_operator, satisfaction="dissatisfied")  # rework, a new deadline
    assert nonzero(counts(tiny_city.city, due_day)) == {}
    assert due_figures(tiny_city.city, case) == (1, 0, 0, 0)
    assert rebuild_counters(repair=False).clean


def test_a_case_closed_while_suspended_is_not_counted_as_suspended(tiny_city, categories, clock):
    # The pipeline may refuse to close a suspended case; the counters stay right whichever it does.
    case = handled_case(tiny_city, categories)
    op = tiny_city.t1_operator
    actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[scenario.photo()])
    actions.suspend_case(case, actor=op, reason="等待裁定")
    assert due_figures(tiny_city.city, case) == (1, 1, 0, 0)
    with contextlib.suppress(Conflict):
        actions.close_case(case, actor=op)
    case.refresh_from_db()
    if case.status == "closed":
        assert due_figures(tiny_city.city, case) == (1, 0, 1, 1)
    clock.move_to(scenario.at(14, 9))
    actions.resume_case(case, actor=op)
    if case.status != "closed":
        actions.close_case(case, actor=op)
    assert due_figures(tiny_city.city, case) == (1, 0, 1, 1)
    case.refresh_from_db()
    day = local_date(case.handle_due_at)
    assert kpis.kpis(tiny_city.city, day, day)["rates"]["closure_rate"] == 1.0
    assert rebuild_counters(repair=False).clean


def test_the_cohort_parts_follow_the_report_the_first_handling_and_the_dispatch(tiny_city, categories, clock):
    op = tiny_city.t1_operator
    accepted, merged = scenario.report(tiny_city, categories), scenario.report(tiny_city, categories)
    case = handled_case(tiny_city, categories)
    clock.move_to(scenario.at(13, 9))  # everything below happens a day later
    actions.accept_case(accepted, actor=op)
    actions.merge_case(merged, actor=op, master=accepted)
    actions.verify_case(case, actor=tiny_city.g1_worker, passed=False, note="未处理完", photos=[scenario.photo()])
    actions.dispatch_case(accepted, actor=op, lead=tiny_city.town1_um)
    clock.move_to(scenario.at(14, 9))
    actions.return_dispatch(live_lead(accepted), actor=tiny_city.handler, reason="不属本部门")
    monday, tuesday = clock_day(), scenario.at(13, 9).date()
    first = counts(tiny_city.city, monday)
    assert (first["reported"], first["reported_accepted"], first["reported_merged"], first["accepted"]) == (3, 2, 1, 1)
    assert (first["handled"], first["handled_reworked"], first["reworked"]) == (1, 1, 0)
    assert (first["dispatched"], first["dispatched_returned"]) == (1, 0)
    second = counts(tiny_city.city, tuesday)
    assert (second["accepted"], second["merged"], second["reworked"], second["dispatched"]) == (1, 1, 1, 1)
    assert (second["reported_accepted"], second["handled_reworked"], second["dispatched_returned"]) == (0, 0, 1)
    assert counts(tiny_city.city, scenario.at(14, 9).date())["returned"] == 1
    rates = kpis.kpis(tiny_city.city, monday, monday)["rates"]
    assert (rates["acceptance_rate"], rates["rework_rate"]) == (1.0, 1.0)  # 2 of 3 − 1 merged; 1 of 1
    assert kpis.kpis(tiny_city.city, tuesday, tuesday)["rates"]["dispatch_accuracy"] == 0.0
    assert rebuild_counters(repair=False).clean


def test_satisfaction_counts_only_satisfied(tiny_city, categories, clock):
    for answer in ("satisfied", "basic"):
        case = handled_case(tiny_city, categories)
        actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[scenario.photo()])
        actions.follow_up(case, actor=tiny_city.t1_operator, satisfaction=answer)
    figures = kpis.kpis(tiny_city.city, clock_day(), clock_day())
    assert (figures["counts"]["surveyed"], figures["counts"]["satisfied"],
            figures["counts"]["basically_satisfied"]) == (2, 1, 1)
    assert figures["rates"]["satisfaction_rate"] == 0.5


def test_counters_roll_back_with_the_action(tiny_city, categories, clock):
    case = scenario.report(tiny_city, categories)
    before = list(AreaDailyCount.objects.order_by("id").values())

    def refuse(sender, **kwargs):  # a later step of the same action fails after the counters were written
        raise Conflict("no")

    event_recorded.connect(refuse, sender=CaseEvent, dispatch_uid="reports_test_refuse")
    try:
        with pytest.raises(Conflict):
            actions.accept_case(case, actor=tiny_city.t1_operator)
    finally:
        event_recorded.disconnect(sender=CaseEvent, dispatch_uid="reports_test_refuse")
    assert list(AreaDailyCount.objects.order_by("id").values()) == before
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.accept_case(case, actor=tiny_city.t1_operator)
        assert counts(tiny_city.city)["accepted"] == 1  # written in the transaction …
        raise RuntimeError("the caller's transaction fails")
    assert counts(tiny_city.city)["accepted"] == 0  # … and gone with it
    assert list(AreaDailyCount.objects.order_by("id").values()) == before


def test_a_refused_action_counts_nothing(tiny_city, categories, clock):
    case = scenario.report(tiny_city, categories)
    before = counts(tiny_city.city)
    with pytest.raises(Conflict):
        actions.close_case(case, actor=tiny_city.t1_operator)
    assert counts(tiny_city.city) == before
