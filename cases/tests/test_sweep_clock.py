"""The sweep's clock table (CaseClock, migration 0019): one row per case whose light can still change,
kept in step with ``Case.next_check_at`` by a trigger whoever writes the case, so that a light change
is a HOT update of the case row (no index of the case table mentions the light columns).

- after every kind of write (each action that moves a clock, the sweep, escalation, emergency
  re-planning, a plain ``update()``), the clock table says exactly what the cases say;
- the sweep re-checks the case's own ``next_check_at`` on the row it locked: a clock row that says
  "due" for a case an action has just re-planned does not give it a stale light;
- a case an action holds is skipped, and after that action it keeps the light the action gave it;
- a green → yellow change writes no index of the case table.
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction

from cases import actions, jobs, replan
from cases.actions import emergency
from cases.choices import ACTIVE_DISPATCH_STATUSES, Action, DispatchRole, Light, Status
from cases.models import Case, CaseClock, CaseEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTHING = {"yellow": 0, "red": 0, "escalated": 0}
INSIDE_G1 = {"lon": 113.005, "lat": 23.005}


def at(hour: int, minute: int = 0, *, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(at(9), tick=False) as traveller:
        yield traveller


def reported(city, cats) -> Case:
    case, _created = actions.report_case(reporter=city.g1_worker, category=cats.garbage, **INSIDE_G1,
                                         description="路边有一堆暴露垃圾")
    return case


def lead_of(case: Case):
    return case.dispatches.get(role=DispatchRole.LEAD, status__in=ACTIVE_DISPATCH_STATUSES)


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def assert_clock_in_step(step: str) -> None:
    clocks = set(CaseClock.objects.values_list("case_id", "next_check_at"))
    cases = set(Case.objects.filter(next_check_at__isnull=False).values_list("pk", "next_check_at"))
    assert clocks == cases, step


def test_the_clock_table_follows_every_write_of_a_case(tiny_city, categories, clock):
    city = tiny_city
    case = reported(city, categories)  # accept by 11:00, yellow from 10:30
    assert CaseClock.objects.get(case=case).next_check_at == fresh(case).warn_at
    assert_clock_in_step("report")
    clock.move_to(at(10, 30))
    assert jobs.sweep_deadlines()["yellow"] == 1
    assert_clock_in_step("sweep: yellow")
    case = actions.accept_case(case, actor=city.t1_operator)
    assert_clock_in_step("accept")
    case = actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)
    assert_clock_in_step("dispatch")
    case = actions.sign_dispatch(lead_of(case), actor=city.handler)
    assert_clock_in_step("sign")
    extension = actions.request_extension(lead_of(case), actor=city.handler, amount="1", unit="working_days",
                                          reason="需协调环卫车辆")
    actions.decide_extension(extension, actor=city.t1_operator, approve=True)
    assert_clock_in_step("extension")
    case = actions.suspend_case(fresh(case), actor=city.t1_operator, reason="等待法院裁定")
    assert not CaseClock.objects.filter(case=case).exists()
    assert_clock_in_step("suspend")
    clock.move_to(at(11))
    case = actions.resume_case(case, actor=city.t1_operator)
    assert CaseClock.objects.filter(case=case).exists()
    assert_clock_in_step("resume")
    case = actions.feedback_dispatch(lead_of(case), actor=city.handler, note="已清理")
    assert_clock_in_step("feedback")
    clock.move_to(at(17, day=25))  # long past the verification deadline
    assert jobs.sweep_deadlines()["red"] == 1
    assert fresh(case).light == Light.RED and not CaseClock.objects.filter(case=case).exists()
    assert_clock_in_step("sweep: red")

    # Escalation by the sweep, emergency re-planning, and writes that bypass the model.
    other = reported(city, categories)  # Wednesday 17:00: two working hours to accept, into Thursday
    clock.move_to(at(17, day=26))
    assert jobs.sweep_deadlines()["escalated"] == 1
    assert_clock_in_step("escalation")
    emergency.switch_on(actor=city.city_official, area=city.district.code, level=1, reason="台风")
    count, _after = replan.replan_batch(city.district.path)
    assert count >= 1
    assert_clock_in_step("emergency re-planning")
    Case.objects.filter(pk=other.pk).update(next_check_at=at(9, day=30))
    assert CaseClock.objects.get(case=other).next_check_at == at(9, day=30)
    assert_clock_in_step("plain update")
    Case.objects.filter(pk=other.pk).update(next_check_at=None)
    assert not CaseClock.objects.filter(case=other).exists()
    Case.objects.filter(pk=other.pk).update(next_check_at=at(9, day=30))
    assert_clock_in_step("plain update back")


def endless(signum, frame):
    raise AssertionError("the sweep kept claiming the same cases")


def test_a_clock_row_ahead_of_its_case_moves_no_light(tiny_city, categories, clock):
    """The claim re-checks the case's own next_check_at on the locked row: the clock row alone never
    decides (it is what a concurrent action's re-plan looks like between the sweep's snapshot and its lock)."""
    case = reported(tiny_city, categories)  # yellow from 10:30
    CaseClock.objects.filter(case=case).update(next_check_at=at(9, 30))  # out of step, by hand
    clock.move_to(at(10))
    # Without the re-check the sweep would claim this case again and again (its next check does not
    # move, so neither does the clock row): the alarm turns that endless loop into a failure.
    signal.signal(signal.SIGALRM, endless)
    signal.alarm(30)
    try:
        assert jobs.sweep_deadlines() == NOTHING
    finally:
        signal.alarm(0)
    assert fresh(case).light == Light.GREEN
    assert not CaseEvent.objects.filter(case=case, action=Action.LIGHT).exists()


@pytest.mark.django_db(transaction=True)
def test_a_case_held_by_an_action_is_skipped_and_keeps_the_light_the_action_gave_it(tiny_city, categories):
    city = tiny_city
    with time_machine.travel(at(9), tick=False) as clock:
        case = actions.sign_dispatch(lead_of(actions.dispatch_case(
            actions.accept_case(reported(city, categories), actor=city.t1_operator),
            actor=city.t1_operator, lead=city.town1_um)), actor=city.handler)  # handle by 15:00, yellow 12:00
        extension = actions.request_extension(lead_of(case), actor=city.handler, amount="1",
                                              unit="working_days", reason="需协调环卫车辆")
        clock.move_to(at(14, 30))  # due for yellow since 12:00
        locked, go_on, failures = threading.Event(), threading.Event(), []

        def centre_approves() -> None:
            try:
                with transaction.atomic():
                    Case.objects.select_for_update(no_key=True).get(pk=case.pk)  # the action's lock, held
                    locked.set()
                    go_on.wait(timeout=30)
                    actions.decide_extension(extension, actor=city.t1_operator, approve=True)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
                locked.set()
            finally:
                connection.close()

        thread = threading.Thread(target=centre_approves)
        thread.start()
        assert locked.wait(timeout=30)
        assert jobs.sweep_deadlines() == NOTHING  # SKIP LOCKED: not waited for, not touched
        go_on.set()
        thread.join(timeout=60)
        assert not failures, failures

        case = fresh(case)  # extended by a working day: green again, yellow only tomorrow
        assert case.light == Light.GREEN and case.next_check_at == case.warn_at > at(14, 30)
        assert jobs.sweep_deadlines() == NOTHING
        assert fresh(case).light == Light.GREEN
        assert not CaseEvent.objects.filter(case=case, action=Action.LIGHT).exists()
        assert_clock_in_step("after the concurrent extension")
        clock.move_to(case.warn_at)
        assert jobs.sweep_deadlines()["yellow"] == 1


def test_no_index_of_the_case_table_reads_the_columns_a_light_change_writes(db):
    """light, next_check_at and updated_at: any index on them (or in an index's condition) makes every
    light change write all of the case table's indexes (a non-HOT update)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attname = ANY(%s) "
            "WHERE x.indrelid = 'cases_case'::regclass AND (a.attnum = ANY(x.indkey) "
            "  OR pg_get_expr(x.indexprs, x.indrelid) ~ ('\\m' || a.attname || '\\M') "
            "  OR pg_get_expr(x.indpred, x.indrelid) ~ ('\\m' || a.attname || '\\M'))",
            [["light", "next_check_at", "updated_at"]],
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = 'cases_case'::regclass")
        assert "fillfactor=90" in cursor.fetchone()[0]


def test_a_light_turning_yellow_is_a_hot_update(tiny_city, categories, clock):
    cases = [reported(tiny_city, categories) for _ in range(3)]  # yellow from 10:30
    clock.move_to(at(10, 30))

    def updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_get_xact_tuples_updated('cases_case'::regclass), "
                           "pg_stat_get_xact_tuples_hot_updated('cases_case'::regclass)")
            return cursor.fetchone()

    before = updates()
    assert jobs.sweep_deadlines()["yellow"] == 3
    after = updates()
    assert after[0] - before[0] == 3  # one UPDATE row per case
    assert after[1] - before[1] == 3  # … each heap-only: no index entry written
    assert {fresh(case).light for case in cases} == {Light.YELLOW}


def test_the_red_lights_filter_and_the_overdue_tally_read_is_red(tiny_city, categories, clock):
    case = actions.accept_case(reported(tiny_city, categories), actor=tiny_city.t1_operator)
    clock.move_to(at(11, 1))
    assert jobs.sweep_deadlines()["red"] == 1
    red = fresh(case)
    assert red.light == Light.RED and red.is_red and red.status == Status.ACCEPTED
    assert list(Case.objects.filter(is_red=True).values_list("pk", flat=True)) == [case.pk]
    from cases.pages.centre import _tallies

    assert _tallies(Case.objects.all(), tiny_city.t1_operator)["overdue"] == 1
    red.light = Light.GREEN  # a later clock (say an extension) turns it back: is_red follows light
    red.save(update_fields=["light"])
    assert not fresh(case).is_red and _tallies(Case.objects.all(), tiny_city.t1_operator)["overdue"] == 0
