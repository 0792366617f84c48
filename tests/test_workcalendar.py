"""The work calendar (govgrid.workcalendar): days, working time, overrides, unknown years, admin."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from govgrid import workcalendar
from govgrid.models import WorkdayOverride
from govgrid.workcalendar import (
    TimeUnit,
    add_time,
    add_working_days,
    add_working_hours,
    add_working_time,
    is_workday,
    working_time_between,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    # Overrides created in a test are rolled back without a signal, so no snapshot may outlive a test.
    workcalendar.clear_cache()
    yield
    workcalendar.clear_cache()


# --- Days -------------------------------------------------------------------------------------------


def test_spring_festival_2026_swapped_saturday_is_a_workday():
    assert date(2026, 2, 14).weekday() == 5
    assert is_workday(date(2026, 2, 14))


def test_national_day_is_a_holiday_and_a_plain_saturday_is_not_a_workday():
    assert not is_workday(date(2026, 10, 1))
    assert not is_workday(date(2026, 3, 7))  # a Saturday with no swap
    assert is_workday(date(2026, 3, 9))  # a Monday


def test_national_day_2026_as_chinesecalendar_publishes_it():
    """Mid-Autumn 25–27 Sep and National Day 1–7 Oct are off; Sunday 20 Sep and Saturday 10 Oct are worked."""
    assert [day for day in _days(date(2026, 9, 18), date(2026, 10, 12)) if is_workday(day)] == [
        date(2026, 9, 18), date(2026, 9, 20), date(2026, 9, 21), date(2026, 9, 22), date(2026, 9, 23),
        date(2026, 9, 24), date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 8),
        date(2026, 10, 9), date(2026, 10, 10),
    ]
    # Wednesday 30 Sep 16:00: 2 h that day, then the holiday, then Thursday 8 Oct counts as the first day.
    assert add_working_days(at(2026, 9, 30, 16), 2) == at(2026, 10, 9, 16)
    assert add_working_hours(at(2026, 9, 30, 16), 4) == at(2026, 10, 8, 10, 30)
    # Friday 9 Oct plus one working day lands on the swapped Saturday, not on Monday.
    assert add_working_days(at(2026, 10, 9, 16), 1) == at(2026, 10, 10, 16)
    # Friday 18 Sep 17:00 plus 2 working hours: the swapped Sunday 20 Sep.
    assert add_working_hours(at(2026, 9, 18, 17), 2) == at(2026, 9, 20, 9, 30)
    assert working_time_between(at(2026, 9, 30, 8, 30), at(2026, 10, 9, 18)) == hours(7.5) * 3


def test_is_workday_reads_an_aware_datetime_as_its_local_date():
    # 17:00 UTC on Friday 13 Feb is 01:00 on Saturday 14 Feb in Shanghai, the swapped working day.
    assert is_workday(datetime(2026, 2, 13, 17, tzinfo=UTC))
    assert not is_workday(datetime(2026, 3, 6, 17, tzinfo=UTC))  # Saturday 7 Mar 01:00 in Shanghai


def _days(first: date, stop: date) -> list[date]:
    return [first + timedelta(days=index) for index in range((stop - first).days)]


# --- Working time -----------------------------------------------------------------------------------


def test_four_working_hours_from_friday_afternoon_land_on_monday_morning():
    assert add_working_hours(at(2026, 3, 6, 16), 4) == at(2026, 3, 9, 10, 30)
    assert working_time_between(at(2026, 3, 6, 16), at(2026, 3, 9, 10, 30)) == hours(4)


def test_two_working_days_keep_the_place_in_the_working_day():
    assert add_working_days(at(2026, 3, 9, 10), 2) == at(2026, 3, 11, 10)
    assert add_working_days(at(2026, 3, 12, 15), 2) == at(2026, 3, 16, 15)  # Thursday → Monday


def test_starting_at_lunch_begins_at_two():
    assert add_working_hours(at(2026, 3, 9, 12, 30), 1) == at(2026, 3, 9, 15)
    assert working_time_between(at(2026, 3, 9, 12, 30), at(2026, 3, 9, 14)) == timedelta(0)


def test_starting_outside_working_days_or_hours_begins_at_the_next_window():
    assert add_working_hours(at(2026, 3, 9, 6), 1) == at(2026, 3, 9, 9, 30)
    assert add_working_hours(at(2026, 3, 9, 20), 1) == at(2026, 3, 10, 9, 30)
    assert add_working_hours(at(2026, 3, 7, 10), 1) == at(2026, 3, 9, 9, 30)  # Saturday


def test_a_deadline_on_the_end_of_a_window_stays_there():
    assert add_working_hours(at(2026, 3, 9, 11), 1) == at(2026, 3, 9, 12)
    assert add_working_time(at(2026, 3, 9, 8, 30), hours(7.5)) == at(2026, 3, 9, 18)
    assert add_working_days(at(2026, 3, 9, 8, 30), 1) == at(2026, 3, 9, 18)
    assert add_working_days(at(2026, 3, 9, 12), 1) == at(2026, 3, 10, 12)


def test_zero_working_time_is_the_start_itself():
    assert add_working_time(at(2026, 3, 7, 10), timedelta(0)) == at(2026, 3, 7, 10)


def test_working_time_between_is_signed():
    assert working_time_between(at(2026, 3, 9, 10, 30), at(2026, 3, 6, 16)) == -hours(4)
    assert working_time_between(at(2026, 3, 9, 10), at(2026, 3, 9, 10)) == timedelta(0)


def test_a_year_of_working_time_is_the_published_number_of_working_days():
    days = sum(chinese_calendar.is_workday(day) for day in _days(date(2026, 1, 1), date(2027, 1, 1)))
    assert working_time_between(at(2026, 1, 1), at(2027, 1, 1)) == hours(7.5) * days


def test_results_are_in_the_project_time_zone():
    result = add_working_hours(datetime(2026, 3, 9, 2, tzinfo=UTC), 1)  # 10:00 in Shanghai
    assert result == at(2026, 3, 9, 11)
    assert result.tzinfo == SHANGHAI


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 3, 9, 10)  # noqa: DTZ001 — the point of the test
    with pytest.raises(ValueError, match="aware"):
        add_time(naive, 1, TimeUnit.WORKING_HOURS)
    with pytest.raises(ValueError, match="aware"):
        add_working_time(naive, hours(1))
    with pytest.raises(ValueError, match="aware"):
        working_time_between(at(2026, 3, 9), naive)
    with pytest.raises(ValueError, match="aware"):
        is_workday(naive)


def test_negative_limits_are_refused():
    with pytest.raises(ValueError):
        add_working_time(at(2026, 3, 9, 10), -hours(1))
    with pytest.raises(ValueError):
        add_time(at(2026, 3, 9, 10), -1, TimeUnit.NATURAL_HOURS)


# --- Units ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (90, TimeUnit.NATURAL_MINUTES, at(2026, 3, 6, 17, 30)),
        (2, TimeUnit.NATURAL_HOURS, at(2026, 3, 6, 18)),
        (1, TimeUnit.NATURAL_DAYS, at(2026, 3, 7, 16)),
        (4, TimeUnit.WORKING_HOURS, at(2026, 3, 9, 10, 30)),
        (Decimal("1.5"), TimeUnit.WORKING_HOURS, at(2026, 3, 6, 17, 30)),
        (2, TimeUnit.WORKING_DAYS, at(2026, 3, 10, 16)),
        (Decimal("0.5"), TimeUnit.WORKING_DAYS, at(2026, 3, 9, 10, 15)),
    ],
)
def test_add_time_in_every_unit(amount, unit, expected):
    assert add_time(at(2026, 3, 6, 16), amount, unit) == expected
    assert workcalendar.time_between(at(2026, 3, 6, 16), expected, unit) == workcalendar.duration(amount, unit)


def test_unit_labels_are_translatable_english_msgids():
    from django.utils import translation

    with translation.override("en"):
        assert str(TimeUnit.WORKING_DAYS.label) == "working days"
    with translation.override("zh-hans"):
        assert str(TimeUnit.WORKING_DAYS.label) == "工作日"
    assert TimeUnit("natural_minutes") == TimeUnit.NATURAL_MINUTES
    assert [unit.is_working_time for unit in TimeUnit] == [False, False, False, True, True]


def test_working_hours_come_from_settings(settings):
    settings.WORK_HOURS = [("09:00", "17:00")]
    assert workcalendar.working_day_length() == hours(8)
    assert add_working_days(at(2026, 3, 9, 16), 1) == at(2026, 3, 10, 16)
    assert add_working_hours(at(2026, 3, 9, 16), 2) == at(2026, 3, 10, 10)


@pytest.mark.parametrize(
    "windows",
    [[], [("14:00", "12:00")], [("08:00", "12:00"), ("11:00", "13:00")], [("8h", "12:00")]],
)
def test_bad_working_hours_fail_loudly(settings, windows):
    settings.WORK_HOURS = windows
    with pytest.raises(ImproperlyConfigured):
        add_working_hours(at(2026, 3, 9, 10), 1)


# --- Overrides --------------------------------------------------------------------------------------


def test_an_override_making_a_holiday_a_workday_wins():
    WorkdayOverride.objects.create(date=date(2026, 10, 5), is_workday=True, note="抢险值班")
    assert is_workday(date(2026, 10, 5))
    assert add_working_hours(at(2026, 10, 4, 10), 1) == at(2026, 10, 5, 9, 30)


def test_an_override_making_a_workday_a_holiday_wins_and_deleting_it_restores_the_package():
    override = WorkdayOverride.objects.create(date=date(2026, 3, 10), is_workday=False, note="台风停工")
    assert not is_workday(date(2026, 3, 10))
    assert add_working_hours(at(2026, 3, 9, 17), 2) == at(2026, 3, 11, 9, 30)
    override.delete()
    assert is_workday(date(2026, 3, 10))
    assert add_working_hours(at(2026, 3, 9, 17), 2) == at(2026, 3, 10, 9, 30)


def test_writes_without_signals_reach_the_calendar_after_the_reload_interval(settings):
    WorkdayOverride.objects.create(date=date(2026, 3, 10), is_workday=False)
    assert not is_workday(date(2026, 3, 10))
    WorkdayOverride.objects.filter(date=date(2026, 3, 10)).update(is_workday=True)  # sends no signal
    assert not is_workday(date(2026, 3, 10))  # still the snapshot, as another process would see it
    settings.WORKCALENDAR_RELOAD_SECONDS = 0
    assert is_workday(date(2026, 3, 10))


def test_deadlines_cost_no_query_once_the_overrides_are_loaded(django_assert_num_queries):
    with django_assert_num_queries(1):
        add_working_days(at(2026, 3, 9, 10), 40)
    with django_assert_num_queries(0):
        assert add_working_days(at(2026, 3, 9, 10), 40) == at(2026, 5, 8, 10)
        working_time_between(at(2025, 1, 1), at(2026, 12, 31))


# --- Years the package does not know ----------------------------------------------------------------


def test_an_unknown_year_falls_back_to_monday_to_friday_and_warns_once(caplog):
    workcalendar._package_year.cache_clear()
    with caplog.at_level(logging.WARNING, logger="govgrid.workcalendar"):
        assert is_workday(date(2099, 1, 2))  # a Friday
        assert not is_workday(date(2099, 1, 3))  # a Saturday
        assert add_working_hours(at(2099, 1, 2, 17), 2) == at(2099, 1, 5, 9, 30)
    warnings = [record.getMessage() for record in caplog.records if "2099" in record.getMessage()]
    assert len(warnings) == 1
    assert "falls back to Monday-Friday" in warnings[0]


def test_an_override_wins_in_an_unknown_year_too():
    WorkdayOverride.objects.create(date=date(2099, 1, 1), is_workday=False, note="元旦")
    assert not is_workday(date(2099, 1, 1))


def test_unknown_years_covers_this_year_next_year_and_override_years():
    with time_machine.travel(at(2025, 6, 1, 10), tick=False):
        assert workcalendar.unknown_years() == []
        WorkdayOverride.objects.create(date=date(2099, 5, 1), is_workday=False)
        assert workcalendar.unknown_years() == [2099]
        assert workcalendar.unknown_years(include_overrides=False) == []
    with time_machine.travel(at(2099, 3, 1, 10), tick=False):
        assert workcalendar.unknown_years() == [2099, 2100]


def test_the_system_check_warns_about_unknown_years():
    with time_machine.travel(at(2025, 6, 1, 10), tick=False):
        assert checks.run_checks(tags=["govgrid"]) == []
        WorkdayOverride.objects.create(date=date(2099, 5, 1), is_workday=False)
        # Without databases (every plain management command) the check stays quiet; migrate gives them.
        assert checks.run_checks(tags=["govgrid"]) == []
        messages = checks.run_checks(tags=["govgrid"], databases=["default"])
    assert [message.id for message in messages] == ["govgrid.W002"]
    assert "2099" in messages[0].msg
    assert messages[0].level == checks.WARNING
    with time_machine.travel(at(2099, 3, 1, 10), tick=False):
        assert checks.run_checks(tags=["govgrid"]) == []
        messages = checks.run_checks(tags=["govgrid"], databases=["default"])
    assert [message.id for message in messages] == ["govgrid.W002"]
    assert "2099, 2100" in messages[0].msg


@pytest.fixture
def city_admin(django_user_model):
    return django_user_model.objects.create_superuser("city_admin", "admin@example.org", "x")


def test_admins_see_the_unknown_year_banner_on_the_admin_index(client, city_admin):
    with time_machine.travel(at(2099, 3, 1, 10), tick=False):
        client.force_login(city_admin)  # inside the travel: a session from 2026 has expired by 2099
        response = client.get("/admin/")
    assert response.status_code == 200
    assert response.context["workcalendar_warning"] == workcalendar.unknown_years_message([2099, 2100])
    assert 'id="workcalendar-warning"' in response.content.decode()
    assert "2099, 2100" in response.content.decode()


def test_no_banner_when_every_year_in_use_is_known(client, city_admin):
    with time_machine.travel(at(2025, 6, 1, 10), tick=False):
        client.force_login(city_admin)
        response = client.get("/admin/")
    assert response.status_code == 200
    assert 'id="workcalendar-warning"' not in response.content.decode()


def test_the_override_admin_lists_filters_and_searches(client, city_admin):
    WorkdayOverride.objects.create(date=date(2026, 3, 10), is_workday=False, note="台风停工")
    WorkdayOverride.objects.create(date=date(2026, 10, 5), is_workday=True, note="抢险值班")
    client.force_login(city_admin)
    response = client.get("/admin/govgrid/workdayoverride/", {"is_workday__exact": "0", "q": "台风"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list.values_list("note", flat=True)) == ["台风停工"]
    assert "星期二" in response.content.decode()  # 10 Mar 2026, in the default language
    response = client.get("/admin/govgrid/workdayoverride/add/")
    assert response.status_code == 200


# --- Properties -------------------------------------------------------------------------------------

_BOUNDARIES = [timedelta(0), hours(8.5), hours(12), hours(14), hours(18), timedelta(hours=23, minutes=59)]

_any_minute = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31, 23, 59)).map(  # noqa: DTZ001
    lambda moment: moment.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
)
# Window edges and midnight are where off-by-one mistakes live, so a share of the examples sit on them.
_on_a_boundary = st.builds(
    lambda day, offset: datetime.combine(day, time(), tzinfo=SHANGHAI) + offset,
    st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    st.sampled_from(_BOUNDARIES),
)
moments = st.one_of(_any_minute, _on_a_boundary)
durations = st.one_of(
    st.integers(min_value=0, max_value=60 * 8 * 30).map(lambda minutes: timedelta(minutes=minutes)),
    st.sampled_from([hours(3.5), hours(4), hours(7.5), hours(15), hours(7.5) * 40]),
)
_properties = hypothesis_settings(
    deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_properties
@given(moments, moments, durations)
def test_adding_is_monotonic_in_the_start(first, second, delta):
    earlier, later = sorted([first, second])
    assert add_working_time(earlier, delta) <= add_working_time(later, delta)


@_properties
@given(moments, durations, durations)
def test_adding_is_monotonic_in_the_duration(start, first, second):
    shorter, longer = sorted([first, second])
    assert add_working_time(start, shorter) <= add_working_time(start, longer)


@_properties
@given(moments, durations, durations)
def test_adding_is_additive(start, first, second):
    assert add_working_time(add_working_time(start, first), second) == add_working_time(start, first + second)


@_properties
@given(moments, durations)
def test_adding_then_measuring_round_trips_to_the_earliest_moment(start, delta):
    deadline = add_working_time(start, delta)
    assert working_time_between(start, deadline) == delta
    if delta:
        assert working_time_between(start, deadline - timedelta(microseconds=1)) < delta


@_properties
@given(moments, moments, moments)
def test_measuring_is_additive_in_any_order(first, second, third):
    assert working_time_between(first, second) + working_time_between(second, third) == working_time_between(
        first, third
    )


def _reference_is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


@hypothesis_settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moments, st.integers(min_value=0, max_value=60 * 24 * 4))
def test_measuring_agrees_with_counting_minute_by_minute(start, span_minutes):
    """A slow, obviously right reference: count the working minutes one by one over up to four days."""
    end = start + timedelta(minutes=span_minutes)
    windows = [(hours(8.5), hours(12)), (hours(14), hours(18))]
    working_minutes = 0
    for index in range(span_minutes):
        minute = start + timedelta(minutes=index)
        offset = minute - datetime.combine(minute.date(), time(), tzinfo=SHANGHAI)
        if _reference_is_workday(minute.date()) and any(begin <= offset < stop for begin, stop in windows):
            working_minutes += 1
    assert working_time_between(start, end) == timedelta(minutes=working_minutes)
