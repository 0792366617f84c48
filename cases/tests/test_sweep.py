"""The deadline sweep with frozen time: lights move at warn_at and after due_at, each change writes one
`light` event whose notices reach the right people, unaccepted reports climb the centres, and a
sweep with nothing due reads one index and writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases import actions, jobs, notifications
from cases.choices import ACTIVE_DISPATCH_STATUSES, Action, DispatchRole, Light, Stage, Status
from cases.models import Case, CaseEvent, Notification
from govgrid import workcalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
INSIDE_G1 = {"lon": 113.005, "lat": 23.005}
NOTHING = {"yellow": 0, "red": 0, "escalated": 0}


def at(hour: int, minute: int = 0, second: int = 0, *, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY_0900, tick=False) as traveller:
        yield traveller


def reported(city, cats) -> Case:
    case, _created = actions.report_case(reporter=city.g1_worker, category=cats.garbage, **INSIDE_G1,
                                         description="路边有一堆暴露垃圾")
    return case


def lead_of(case: Case):
    return case.dispatches.get(role=DispatchRole.LEAD, status__in=ACTIVE_DISPATCH_STATUSES)


def in_progress(city, cats) -> Case:
    """Signed by the town 城管中队 at the frozen moment: 4 working hours to handle it."""
    case = actions.accept_case(reported(city, cats), actor=city.t1_operator)
    case = actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)
    return actions.sign_dispatch(lead_of(case), actor=city.handler)


def light_events(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, action=Action.LIGHT).order_by("id"))


def notified(event: CaseEvent) -> set[str]:
    notifications.notify(event.pk)
    return set(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# --- lights ------------------------------------------------------------------------------------


def test_the_handling_light_turns_yellow_at_warn_at_and_red_after_due_at(tiny_city, categories, clock):
    case = in_progress(tiny_city, categories)
    # 3 of the 4 working hours are used up exactly at noon, the end of the morning window.
    assert (case.warn_at, case.due_at) == (at(12), at(15))

    clock.move_to(at(11, 59, 59))
    assert jobs.sweep_deadlines() == NOTHING
    assert fresh(case).light == Light.GREEN and light_events(case) == []

    clock.move_to(at(12))
    assert jobs.sweep_deadlines()["yellow"] == 1
    case = fresh(case)
    assert case.light == Light.YELLOW and case.next_check_at == case.due_at + timedelta(microseconds=1)
    [yellow] = light_events(case)
    assert (yellow.actor, yellow.at, yellow.from_status, yellow.to_status) == (None, at(12), "in_progress",
                                                                             "in_progress")
    assert (yellow.payload["stage"], yellow.payload["from"], yellow.payload["to"]) == ("handle", "green", "yellow")
    assert notified(yellow) == {"handler"}  # the department is warned; the centre not yet

    clock.move_to(at(15))  # due, not yet overdue
    assert jobs.sweep_deadlines() == NOTHING
    clock.move_to(at(15, 0, 1))
    assert jobs.sweep_deadlines()["red"] == 1
    case = fresh(case)
    assert case.light == Light.RED and case.next_check_at is None
    red = light_events(case)[-1]
    assert (red.payload["from"], red.payload["to"]) == ("yellow", "red")
    assert notified(red) == {"handler", "t1_operator"}  # overdue: the owning centre hears of it too
    assert Notification.objects.get(event=red, recipient__username="handler").case_id == case.pk


def test_a_light_that_skipped_yellow_goes_straight_to_red_with_one_event(tiny_city, categories, clock):
    case = in_progress(tiny_city, categories)
    clock.move_to(at(16))
    assert jobs.sweep_deadlines() == {"yellow": 0, "red": 1, "escalated": 0}
    [event] = light_events(case)
    assert (event.payload["from"], event.payload["to"]) == ("green", "red")


def test_the_acceptance_light_warns_the_owning_centre(tiny_city, categories, clock):
    case = reported(tiny_city, categories)  # accept by 11:00, yellow from 10:30
    clock.move_to(at(10, 30))
    jobs.sweep_deadlines()
    [event] = light_events(case)
    assert event.payload["stage"] == "accept"
    assert notified(event) == {"t1_operator"}


def test_the_verification_light_warns_the_assigned_verifier(tiny_city, categories, clock):
    case = actions.feedback_dispatch(lead_of(in_progress(tiny_city, categories)), actor=tiny_city.handler,
                                     note="已清理")
    actions.assign_verification(case, actor=tiny_city.t1_operator, verifier=tiny_city.g1_leader)
    case = fresh(case)
    assert case.stage == Stage.VERIFY
    clock.move_to(case.warn_at)
    jobs.sweep_deadlines()
    [event] = light_events(case)
    assert notified(event) == {"g1_leader"}


# --- a sweep with nothing to do ------------------------------------------------------------------


def test_a_sweep_with_nothing_due_reads_one_index_and_writes_nothing(
        tiny_city, categories, clock, django_assert_max_num_queries):
    cases = [reported(tiny_city, categories), in_progress(tiny_city, categories)]
    clock.move_to(at(10))
    before = {case.pk: (case.light, case.next_check_at, case.updated_at) for case in map(fresh, cases)}
    events = CaseEvent.objects.count()

    with django_assert_max_num_queries(3):
        assert jobs.sweep_deadlines() == NOTHING

    assert {case.pk: (case.light, case.next_check_at, case.updated_at) for case in map(fresh, cases)} == before
    assert CaseEvent.objects.count() == events


def test_the_cost_of_a_sweep_follows_the_changes_not_the_open_cases(
        tiny_city, categories, clock, django_assert_max_num_queries):
    for _ in range(6):
        in_progress(tiny_city, categories)  # yellow from 12:00
    clock.move_to(at(14))
    with django_assert_max_num_queries(8):
        assert jobs.sweep_deadlines()["yellow"] == 6
    assert CaseEvent.objects.filter(action=Action.LIGHT).count() == 6


def test_running_the_sweep_twice_at_the_same_moment_applies_once(tiny_city, categories, clock):
    case = in_progress(tiny_city, categories)
    clock.move_to(at(14, 30))
    assert jobs.sweep_deadlines()["yellow"] == 1
    assert jobs.sweep_deadlines() == NOTHING
    assert len(light_events(case)) == 1


# --- escalation of unaccepted reports (分级响应) ----------------------------------------------------


def test_an_unaccepted_report_climbs_from_the_town_to_the_district_to_the_city(tiny_city, categories, clock):
    centres = tiny_city.centres
    case = reported(tiny_city, categories)
    assert case.centre == centres["980101001"] and case.accept_due_at == at(11)

    clock.move_to(at(11, 1))
    assert jobs.sweep_deadlines() == {"yellow": 0, "red": 0, "escalated": 1}
    case = fresh(case)
    assert case.centre == centres["980101"] and case.escalation_count == 1 and case.status == Status.REPORTED
    # The district gets its own two working hours rather than a case already red.
    assert case.accept_due_at == case.due_at == workcalendar.add_working_hours(at(11, 1), 2) == at(15, 1)
    assert case.light == Light.GREEN and case.next_check_at == case.warn_at
    escalation = CaseEvent.objects.filter(case=case, action=Action.ESCALATE).get()
    assert escalation.actor is None
    assert escalation.payload == {"from_centre": centres["980101001"].pk, "to_centre": centres["980101"].pk}
    assert notified(escalation) == {"district_lead"}
    assert light_events(case) == []

    clock.move_to(at(15, 2))
    assert jobs.sweep_deadlines()["escalated"] == 1
    case = fresh(case)
    assert case.centre == centres["9801"] and case.escalation_count == 2 and case.accept_due_at == at(17, 2)

    # At the city centre there is nowhere higher: the light turns red and stays.
    clock.move_to(at(17, 3))
    assert jobs.sweep_deadlines() == {"yellow": 0, "red": 1, "escalated": 0}
    case = fresh(case)
    assert case.centre == centres["9801"] and case.light == Light.RED and case.next_check_at is None
    clock.move_to(at(10, day=25))
    assert jobs.sweep_deadlines() == NOTHING
    assert fresh(case).escalation_count == 2
    assert list(CaseEvent.objects.filter(case=case).values_list("action", flat=True).order_by("id")) == [
        "report", "escalate", "escalate", "light"]


def test_an_accepted_case_is_not_escalated_when_its_clock_runs_out(tiny_city, categories, clock):
    case = actions.accept_case(reported(tiny_city, categories), actor=tiny_city.t1_operator)
    clock.move_to(at(11, 1))
    assert jobs.sweep_deadlines() == {"yellow": 0, "red": 1, "escalated": 0}
    assert fresh(case).centre == tiny_city.centres["980101001"]


# --- suspension and extension ----------------------------------------------------------------------


def test_the_sweep_leaves_a_suspended_case_alone(tiny_city, categories, clock):
    case = in_progress(tiny_city, categories)
    clock.move_to(at(10))
    actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待法院裁定")
    clock.move_to(at(10, day=25))  # long past the deadline
    assert jobs.sweep_deadlines() == NOTHING
    case = fresh(case)
    assert case.light == Light.GREEN and case.next_check_at is None and light_events(case) == []


def approve_extension(city, case, amount: str, unit: str) -> Case:
    extension = actions.request_extension(lead_of(case), actor=city.handler, amount=amount, unit=unit,
                                          reason="需协调环卫车辆")
    actions.decide_extension(extension, actor=city.t1_operator, approve=True)
    return fresh(case)


def test_an_extended_case_goes_back_to_green_and_turns_yellow_again_later(tiny_city, categories, clock):
    case = in_progress(tiny_city, categories)  # due 15:00, yellow from 12:00
    clock.move_to(at(14, 30))
    jobs.sweep_deadlines()
    assert fresh(case).light == Light.YELLOW

    case = approve_extension(tiny_city, case, "1", "working_days")
    assert case.due_at == case.handle_due_at == at(15, day=24)
    # 75 % of the 11.5 working hours from Monday 09:00 is Tuesday 10:07:30.
    assert case.light == Light.GREEN and case.warn_at == case.next_check_at == at(10, 7, 30, day=24)
    clock.move_to(at(15, 0, 1))  # the old deadline passes without a red light
    assert jobs.sweep_deadlines() == NOTHING

    clock.move_to(at(10, 7, 30, day=24))
    assert jobs.sweep_deadlines()["yellow"] == 1
    assert [(e.payload["from"], e.payload["to"]) for e in light_events(case)] == [
        ("green", "yellow"), ("green", "yellow")]


def test_a_short_extension_leaves_the_case_yellow(tiny_city, categories, clock):
    case = in_progress(tiny_city, categories)
    clock.move_to(at(14, 30))
    jobs.sweep_deadlines()

    case = approve_extension(tiny_city, case, "30", "natural_minutes")
    assert case.due_at == at(15, 30) and case.warn_at == at(14, 22, 30)
    assert case.light == Light.YELLOW and case.next_check_at == at(15, 30) + timedelta(microseconds=1)
    clock.move_to(at(15, 30, 1))
    assert jobs.sweep_deadlines()["red"] == 1
    assert fresh(case).light == Light.RED


def test_lost_notifications_are_sent_by_the_reconcile_task(tiny_city, categories):
    """In a test transaction on_commit never fires, exactly like a notify task lost with Redis down."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from cases import actions as case_actions
    from cases import tasks
    from cases.models import Notification

    case, _ = case_actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.005,
                                       lat=23.005, description="垃圾")
    assert not Notification.objects.filter(case=case).exists()
    assert tasks.reconcile_notifications() == 0  # too young: its own task may still come
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert tasks.reconcile_notifications() == 1
        assert tasks.reconcile_notifications() == 0  # once only
    assert list(Notification.objects.filter(case=case).values_list("recipient__username", flat=True)) == [
        "t1_operator"
    ]
