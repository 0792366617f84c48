"""Stage deadlines of real cases across weekends, holidays and swapped working days (调休), and the
moment each light turns yellow. Time is frozen; the calendar facts are read from chinesecalendar
first, so a test states what it relies on."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine

from cases import actions
from cases.choices import ACTIVE_DISPATCH_STATUSES, DispatchRole, Light, Stage
from govgrid import workcalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
INSIDE_G1 = {"lon": 113.005, "lat": 23.005}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def on(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def report_at(moment: datetime, city, category):
    with time_machine.travel(moment, tick=False):
        case, _created = actions.report_case(reporter=city.g1_worker, category=category, **INSIDE_G1,
                                             description="路边有一堆暴露垃圾")
    return case


def signed_at(moment: datetime, city, category):
    """Reported, accepted, dispatched to the town 城管中队 and signed, all at `moment`."""
    with time_machine.travel(moment, tick=False):
        case, _created = actions.report_case(reporter=city.g1_worker, category=category, **INSIDE_G1,
                                             description="井盖缺失")
        actions.accept_case(case, actor=city.t1_operator)
        case = actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)
        lead = case.dispatches.get(role=DispatchRole.LEAD, status__in=ACTIVE_DISPATCH_STATUSES)
        return actions.sign_dispatch(lead, actor=city.handler)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- the acceptance deadline (2 working hours) across non-working days ---------------------------


def test_a_friday_evening_report_is_due_on_monday_morning(tiny_city, categories):
    assert [chinese_calendar.is_workday(day) for day in days(date(2026, 11, 20), date(2026, 11, 23))] == [
        True, False, False, True]
    case = report_at(at(2026, 11, 20, 17, 0), tiny_city, categories.garbage)
    # One hour on Friday (17:00–18:00), the second from Monday 08:30.
    assert case.accept_due_at == case.due_at == at(2026, 11, 23, 9, 30)
    assert case.stage == Stage.ACCEPT and case.light == Light.GREEN


def test_the_acceptance_deadline_skips_the_national_day_holiday(tiny_city, categories):
    october = days(date(2026, 9, 20), date(2026, 10, 20))
    holiday = [day for day in october if chinese_calendar.get_holiday_detail(day) == (True, "National Day")]
    assert holiday and holiday[0] == date(2026, 10, 1) and len(holiday) >= 7
    assert chinese_calendar.is_workday(date(2026, 9, 30))
    back_to_work = min(day for day in october if day > holiday[-1] and chinese_calendar.is_workday(day))

    case = report_at(at(2026, 9, 30, 17, 0), tiny_city, categories.garbage)
    assert case.accept_due_at == on(back_to_work, 9, 30)
    assert workcalendar.working_time_between(case.reported_at, case.accept_due_at) == timedelta(hours=2)


def test_the_swapped_working_weekend_days_around_national_day_count_as_working_days(tiny_city, categories):
    autumn = days(date(2026, 9, 1), date(2026, 10, 31))
    swapped = [day for day in autumn
               if day.weekday() >= 5 and chinese_calendar.is_workday(day)
               and chinese_calendar.get_holiday_detail(day)[1] == "National Day"]
    assert swapped, "chinesecalendar lists no swapped working weekend day for National Day 2026"
    for weekend_day in swapped:
        last_workday_before = max(day for day in autumn if day < weekend_day and chinese_calendar.is_workday(day))
        case = report_at(on(last_workday_before, 17), tiny_city, categories.garbage)
        assert case.accept_due_at == on(weekend_day, 9, 30), weekend_day


def test_a_report_on_the_friday_before_spring_festival_is_due_on_the_working_saturday(tiny_city, categories):
    saturday = date(2026, 2, 14)
    assert saturday.weekday() == 5 and chinese_calendar.is_workday(saturday)
    assert chinese_calendar.get_holiday_detail(saturday) == (False, "Spring Festival")

    case = report_at(at(2026, 2, 13, 17, 0), tiny_city, categories.garbage)
    assert case.accept_due_at == at(2026, 2, 14, 9, 30)


def test_an_override_in_the_admin_table_wins_over_the_package(tiny_city, categories):
    from govgrid.models import WorkdayOverride

    WorkdayOverride.objects.create(date=date(2026, 11, 23), is_workday=False)
    case = report_at(at(2026, 11, 20, 17, 0), tiny_city, categories.garbage)
    assert case.accept_due_at == at(2026, 11, 24, 9, 30)


# --- the handling deadline and the yellow moment ------------------------------------------------------


def test_a_natural_hours_category_ignores_working_hours(tiny_city, categories):
    case = signed_at(at(2026, 11, 24, 23, 0), tiny_city, categories.hazard)  # 2 natural hours
    assert case.handle_due_at == case.due_at == at(2026, 11, 25, 1, 0)
    assert case.stage == Stage.HANDLE
    # Its yellow share is 50 %: half of the two natural hours.
    assert case.warn_at == at(2026, 11, 25, 0, 0)


def test_signing_is_on_working_time_even_for_a_natural_hours_category(tiny_city, categories):
    with time_machine.travel(at(2026, 11, 24, 23, 0), tick=False):
        case = report_at(at(2026, 11, 24, 23, 0), tiny_city, categories.hazard)
        actions.accept_case(case, actor=tiny_city.t1_operator)
        case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    assert case.stage == Stage.SIGN and case.sign_due_at == case.due_at == at(2026, 11, 25, 10, 30)
    assert case.handle_due_at == at(2026, 11, 25, 1, 0)


def test_the_handling_deadline_of_four_working_hours_spans_the_weekend(tiny_city, categories):
    case = signed_at(at(2026, 11, 20, 16, 0), tiny_city, categories.garbage)  # Friday 16:00
    lead = case.dispatches.get(role=DispatchRole.LEAD)
    # Two hours on Friday, two from Monday 08:30.
    assert case.handle_due_at == case.due_at == lead.due_at == at(2026, 11, 23, 10, 30)
    # The signing clock used Friday's last window exactly and stays at its end.
    assert case.sign_due_at == lead.sign_due_at == at(2026, 11, 20, 18, 0)


def test_yellow_comes_at_75_percent_of_the_working_time(tiny_city, categories):
    case = signed_at(at(2026, 11, 20, 16, 0), tiny_city, categories.garbage)
    # 3 of the 4 working hours: Friday 16:00–18:00 and Monday 08:30–09:30.
    assert case.warn_at == at(2026, 11, 23, 9, 30)
    assert workcalendar.working_time_between(case.stage_started_at, case.warn_at) == timedelta(hours=3)
    assert case.next_check_at == case.warn_at


def test_yellow_of_the_acceptance_clock_is_on_working_time_too(tiny_city, categories):
    case = report_at(at(2026, 11, 20, 17, 0), tiny_city, categories.garbage)
    # 1.5 of 2 working hours: Friday 17:00–18:00, Monday 08:30–09:00.
    assert case.warn_at == case.next_check_at == at(2026, 11, 23, 9, 0)


def test_a_category_yellow_share_applies_to_its_handling_clock(tiny_city, categories):
    case = signed_at(at(2026, 11, 23, 9, 0), tiny_city, categories.hazard)
    assert categories.hazard.yellow_share == pytest.approx(0.5)
    assert case.due_at - case.stage_started_at == timedelta(hours=2)
    assert case.warn_at - case.stage_started_at == timedelta(hours=1)
