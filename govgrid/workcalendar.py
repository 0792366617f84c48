"""The work calendar (工作日历) behind every deadline in GovGrid (DESIGN.md §5).

Which days are working days:
  1. a ``WorkdayOverride`` row for the date, entered by an admin, wins;
  2. otherwise the ``chinesecalendar`` package: statutory holidays and the swapped working weekends
     (调休);
  3. for a year the package does not know, Monday–Friday. The year is logged once per process and
     listed by :func:`unknown_years`, which feeds the ``govgrid.W002`` system check and the banner on
     the admin index page.

Working time is the part of a working day inside the windows of ``settings.WORK_HOURS`` (default
08:30–12:00 and 14:00–18:00), read as wall-clock time in ``settings.TIME_ZONE`` (Asia/Shanghai).

Every function takes aware datetimes and refuses naive ones with ``ValueError``. Results are aware
datetimes in the project time zone, so they print as a local reader expects; they compare and store
as the instants they are whatever the zone.

Model of working time: ``working_time_between(a, b)`` is W(b) − W(a), where W counts working time from
a fixed origin. It is therefore negative when ``b < a`` and additive over any three moments.
``add_working_time(start, d)`` is the earliest moment t ≥ start with W(t) − W(start) ≥ d. Two
consequences follow: starting outside working hours the clock starts at the next window, and a deadline
that uses up a window exactly stays at the window's end (12:00, not 14:00).

Cost: nothing steps minute by minute. A day's windows are walked once; whole days in between are
counted from per-year prefix sums of working days, so adding 40 working days or measuring a year of
working time costs a handful of list look-ups. The package's per-year data is built once per process
(~12 ms a year). Overrides are read from the database once and then at most every
``WORKCALENDAR_RELOAD_SECONDS`` (default 30): see :func:`_calendar` for why that, rather than a version
counter in Redis, keeps every process correct.
"""

from __future__ import annotations

import functools
import logging
import threading
import time as monotonic_clock
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import chinese_calendar
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)

DEFAULT_WORK_HOURS: tuple[tuple[str, str], ...] = (("08:30", "12:00"), ("14:00", "18:00"))
DEFAULT_RELOAD_SECONDS = 30.0

_ZERO = timedelta(0)
_WHOLE_DAY = timedelta(days=1)
_MICROSECONDS = Decimal(1_000_000)


class TimeUnit(models.TextChoices):
    """The unit of a time limit (时限单位): natural time runs round the clock, working time does not."""

    NATURAL_MINUTES = "natural_minutes", _("natural minutes")
    NATURAL_HOURS = "natural_hours", _("natural hours")
    NATURAL_DAYS = "natural_days", _("natural days")
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")

    @property
    def is_working_time(self) -> bool:
        return self in (TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS)


# --- Working-hour windows ---------------------------------------------------------------------------


def _parse_clock(value: str, *, setting: str) -> timedelta:
    """``"HH:MM"`` as the time since midnight; ``"24:00"`` is allowed as the end of a window."""
    try:
        hours, minutes = (int(part) for part in value.split(":"))
    except (AttributeError, ValueError):
        raise ImproperlyConfigured(f"{setting}: {value!r} is not a time like 08:30.") from None
    if not (0 <= minutes < 60 and (0 <= hours < 24 or (hours == 24 and minutes == 0))):
        raise ImproperlyConfigured(f"{setting}: {value!r} is not a time of day.")
    return timedelta(hours=hours, minutes=minutes)


@functools.lru_cache(maxsize=8)
def _parse_windows(config: tuple[tuple[str, str], ...]) -> tuple[tuple[tuple[timedelta, timedelta], ...], timedelta]:
    windows: list[tuple[timedelta, timedelta]] = []
    previous_end = _ZERO
    for start_text, end_text in config:
        start = _parse_clock(start_text, setting="WORK_HOURS")
        end = _parse_clock(end_text, setting="WORK_HOURS")
        if end <= start or start < previous_end:
            raise ImproperlyConfigured(
                f"WORK_HOURS: windows must be ascending and not overlap ({start_text}-{end_text})."
            )
        windows.append((start, end))
        previous_end = end
    if not windows:
        raise ImproperlyConfigured("WORK_HOURS: at least one working-hour window is needed.")
    return tuple(windows), sum((end - start for start, end in windows), _ZERO)


def _windows() -> tuple[tuple[tuple[timedelta, timedelta], ...], timedelta]:
    """The working windows as offsets from local midnight, and their total length.

    The setting is read on every call (a dictionary look-up, then a cached parse keyed by its value) so
    that a test's ``settings.WORK_HOURS = …`` takes effect without any cache clearing.
    """
    config = getattr(settings, "WORK_HOURS", DEFAULT_WORK_HOURS)
    return _parse_windows(tuple((start, end) for start, end in config))


def work_windows() -> list[tuple[timedelta, timedelta]]:
    """The configured windows as offsets from local midnight (an end of 24:00 is one day)."""
    return list(_windows()[0])


def working_day_length() -> timedelta:
    """The working time in one full working day: 7 h 30 min with the default windows."""
    return _windows()[1]


# --- Days: the package, the fallback, and the override table ----------------------------------------


@functools.cache
def package_knows_year(year: int) -> bool:
    """Whether ``chinesecalendar`` has holiday data for ``year`` (it raises NotImplementedError if not)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@functools.cache
def _package_year(year: int) -> bytes:
    """One byte per day of ``year``, 1 for a working day, before overrides. Built once per process."""
    first = date(year, 1, 1)
    days = [first + timedelta(days=index) for index in range((date(year + 1, 1, 1) - first).days)]
    if package_knows_year(year):
        return bytes(chinese_calendar.is_workday(day) for day in days)
    # Logged here, once per process and year, because this is the moment a deadline starts to rest on
    # a guess rather than on the published schedule.
    logger.warning(
        "chinesecalendar %s has no holiday data for %s; the work calendar falls back to Monday-Friday "
        "for that year (add WorkdayOverride rows or upgrade the package).",
        getattr(chinese_calendar, "__version__", "?"),
        year,
    )
    return bytes(day.weekday() < 5 for day in days)


def package_is_workday(day: date) -> bool:
    """Whether ``day`` is a working day before overrides: chinesecalendar, else Monday–Friday."""
    return bool(_package_year(day.year)[day.timetuple().tm_yday - 1])


@dataclass(frozen=True, slots=True)
class _Year:
    first_ordinal: int
    flags: bytes
    # cumulative[i] = working days among the first i days of the year; one entry more than days.
    cumulative: list[int]


class _Calendar:
    """The package's days with one snapshot of the override table applied.

    Threads share it without a lock: the only writes are ``loaded_at`` and the lazily filled per-year
    dictionary, where two threads racing would store equal values.
    """

    def __init__(self, overrides: dict[date, bool], loaded_at: float) -> None:
        self.overrides = overrides
        self.loaded_at = loaded_at
        self._by_year: dict[int, dict[date, bool]] = {}
        for day, is_working in overrides.items():
            self._by_year.setdefault(day.year, {})[day] = is_working
        self._years: dict[int, _Year] = {}

    def year(self, year: int) -> _Year:
        data = self._years.get(year)
        if data is None:
            first_ordinal = date(year, 1, 1).toordinal()
            flags = bytearray(_package_year(year))
            for day, is_working in self._by_year.get(year, {}).items():
                flags[day.toordinal() - first_ordinal] = is_working
            cumulative = [0]
            for flag in flags:
                cumulative.append(cumulative[-1] + flag)
            data = self._years[year] = _Year(first_ordinal, bytes(flags), cumulative)
        return data

    def is_workday(self, day: date) -> bool:
        data = self.year(day.year)
        return bool(data.flags[day.toordinal() - data.first_ordinal])

    def count_workdays(self, first: date, stop: date) -> int:
        """Working days in ``[first, stop)``."""
        if stop <= first:
            return 0
        total = 0
        # Up to the year of the last day counted, so that a range ending on 1 January does not build
        # (and warn about) a year it never looks at.
        for year in range(first.year, (stop - _WHOLE_DAY).year + 1):
            data = self.year(year)
            begin = max(first.toordinal(), data.first_ordinal) - data.first_ordinal
            end = min(stop.toordinal() - data.first_ordinal, len(data.flags))
            if end > begin:
                total += data.cumulative[end] - data.cumulative[begin]
        return total

    def nth_workday_after(self, day: date, n: int) -> date:
        """The ``n``-th working day strictly after ``day`` (``n`` ≥ 1)."""
        year = day.year
        index = day.toordinal() + 1 - date(year, 1, 1).toordinal()
        while True:
            data = self.year(year)
            base = data.cumulative[index]
            available = data.cumulative[-1] - base
            if n <= available:
                position = bisect_left(data.cumulative, base + n) - 1
                return date.fromordinal(data.first_ordinal + position)
            n -= available
            year += 1
            index = 0


_current: _Calendar | None = None
_load_lock = threading.Lock()


def _reload_seconds() -> float:
    return float(getattr(settings, "WORKCALENDAR_RELOAD_SECONDS", DEFAULT_RELOAD_SECONDS))


def _calendar() -> _Calendar:
    """The calendar with a recent snapshot of the override table.

    Why a timed re-read rather than a version counter in Redis: the table is a few dozen rows, so one
    SELECT of it per process every 30 s costs less than a single request's own queries, and it is correct in
    cases a counter bumped from signals misses: Redis down (deadlines must never fail on it, DESIGN §9),
    writes that send no signal (``QuerySet.update``, SQL, a restore), and a transaction that rolls back
    after a signal fired. Within the process that saves an override, the signal receivers below drop the
    snapshot at once and again on commit. When the re-read finds the same rows, the built years are kept,
    so the package is never consulted again.
    """
    global _current
    calendar = _current
    now = monotonic_clock.monotonic()
    if calendar is not None and now - calendar.loaded_at < _reload_seconds():
        return calendar
    from govgrid.models import WorkdayOverride

    overrides = dict(WorkdayOverride.objects.values_list("date", "is_workday"))
    with _load_lock:
        if _current is not None and _current.overrides == overrides:
            _current.loaded_at = now
            return _current
        _current = _Calendar(overrides, now)
        return _current


def clear_cache() -> None:
    """Forget the override snapshot, so the next call reads the table again."""
    global _current
    _current = None


@receiver(post_save, sender="govgrid.WorkdayOverride", dispatch_uid="workcalendar_override_saved")
@receiver(post_delete, sender="govgrid.WorkdayOverride", dispatch_uid="workcalendar_override_deleted")
def _override_changed(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Cleared now so that the saving request sees its own change, and again on commit because another
    # thread may have re-read the table between the two and cached the rows from before the commit.
    clear_cache()
    transaction.on_commit(clear_cache, using=using)


def is_workday(day: date) -> bool:
    """Whether ``day`` is a working day: override, else chinesecalendar, else Monday–Friday.

    An aware datetime is accepted and read as its local date; a naive one is refused.
    """
    if isinstance(day, datetime):
        day = _local(day).date()
    return _calendar().is_workday(day)


def unknown_years(*, include_overrides: bool = True) -> list[int]:
    """Years in use that ``chinesecalendar`` does not know, so they run on the Monday–Friday fallback.

    "In use" means this year and next year (local time), and every year that has an override: an admin
    entering overrides for a year is a sign it matters. ``include_overrides=False`` skips the database,
    as a system check must when it is run without ``--database``.
    """
    today = timezone.localdate()
    years = {today.year, today.year + 1}
    if include_overrides:
        years.update(day.year for day in _calendar().overrides)
    return sorted(year for year in years if not package_knows_year(year))


def unknown_years_message(years: Iterable[int]) -> str:
    """The warning shown to admins (system check and admin index) for ``years``."""
    years = list(years)
    return ngettext(
        "The work calendar has no holiday data for %(years)s, so that year falls back to Monday–Friday "
        "working days. Enter its holidays and swapped working weekends as workday overrides, or upgrade "
        "the chinesecalendar package.",
        "The work calendar has no holiday data for %(years)s, so those years fall back to Monday–Friday "
        "working days. Enter their holidays and swapped working weekends as workday overrides, or upgrade "
        "the chinesecalendar package.",
        len(years),
    ) % {"years": ", ".join(str(year) for year in years)}


# --- Moments ----------------------------------------------------------------------------------------


def _local(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the work calendar needs an aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.get_default_timezone())


def _split(local: datetime) -> tuple[date, timedelta]:
    """A local moment as its date and its wall-clock offset from that date's midnight."""
    day = local.date()
    return day, local.replace(tzinfo=None) - datetime.combine(day, clock_time.min)


def _at(day: date, offset: timedelta) -> datetime:
    # Wall-clock construction: the windows are local times, so 08:30 is 08:30 whatever the UTC offset.
    naive = datetime.combine(day, clock_time.min) + offset
    return naive.replace(tzinfo=timezone.get_default_timezone())


def _overlap(windows: tuple[tuple[timedelta, timedelta], ...], begin: timedelta, end: timedelta) -> timedelta:
    total = _ZERO
    for start, stop in windows:
        if stop > begin and start < end:
            total += min(stop, end) - max(start, begin)
    return total


def add_working_time(start: datetime, delta: timedelta) -> datetime:
    """The earliest moment at which ``delta`` of working time has passed since ``start``.

    Outside working hours the clock starts at the next window; a result that falls exactly on the end
    of a window stays there. ``delta`` must not be negative; zero returns ``start`` (in local time).
    """
    local = _local(start)
    if delta < _ZERO:
        raise ValueError("working time to add must not be negative")
    if not delta:
        return local
    windows, day_length = _windows()
    calendar = _calendar()
    day, offset = _split(local)
    remaining = delta
    if calendar.is_workday(day):
        for window_start, window_end in windows:
            if window_end <= offset:
                continue
            begin = max(window_start, offset)
            if remaining <= window_end - begin:
                return _at(day, begin + remaining)
            remaining -= window_end - begin
    # Whole working days are skipped by counting, not walking; "<=" above and the adjustment below keep
    # a remainder that exactly fills a day on that day's last window end rather than the next morning.
    whole_days, rest = divmod(remaining, day_length)
    if not rest:
        whole_days -= 1
        rest = day_length
    day = calendar.nth_workday_after(day, whole_days + 1)
    for window_start, window_end in windows:
        if rest <= window_end - window_start:
            return _at(day, window_start + rest)
        rest -= window_end - window_start
    raise AssertionError("unreachable: rest never exceeds a working day")  # pragma: no cover


def add_working_hours(start: datetime, hours: int | Decimal) -> datetime:
    """``start`` plus ``hours`` working hours."""
    return add_working_time(start, _scaled(hours, timedelta(hours=1)))


def add_working_days(start: datetime, days: int | Decimal) -> datetime:
    """``start`` plus ``days`` working days.

    A working day is the working time of a full day (7.5 h by default), so the result keeps its place
    in the working day: Monday 10:00 plus 2 working days is Wednesday 10:00 when both are working days.
    """
    return add_working_time(start, _scaled(days, working_day_length()))


def working_time_between(start: datetime, end: datetime) -> timedelta:
    """The working time from ``start`` to ``end``; negative when ``end`` is before ``start``.

    Signed so that ``between(a, b) + between(b, c) == between(a, c)`` for any three moments, which lets
    reports sum stage durations and lets a sweep show "overdue by 3 working hours".
    """
    local_start, local_end = _local(start), _local(end)
    if local_end < local_start:
        return -working_time_between(local_end, local_start)
    windows, day_length = _windows()
    calendar = _calendar()
    first_day, first_offset = _split(local_start)
    last_day, last_offset = _split(local_end)
    if first_day == last_day:
        return _overlap(windows, first_offset, last_offset) if calendar.is_workday(first_day) else _ZERO
    total = day_length * calendar.count_workdays(first_day + _WHOLE_DAY, last_day)
    if calendar.is_workday(first_day):
        total += _overlap(windows, first_offset, _WHOLE_DAY)
    if calendar.is_workday(last_day):
        total += _overlap(windows, _ZERO, last_offset)
    return total


# --- Amounts in units -------------------------------------------------------------------------------


def _as_decimal(amount: int | Decimal) -> Decimal:
    # repr() first so that a float 0.1 means one tenth, not the binary fraction nearest to it.
    number = Decimal(repr(amount)) if isinstance(amount, float) else Decimal(amount)
    if not number.is_finite():
        raise ValueError(f"a time limit must be a finite number, got {amount!r}")
    return number


def _scaled(amount: int | Decimal, unit_length: timedelta) -> timedelta:
    """``amount`` × ``unit_length`` rounded to the microsecond, exact for Decimal amounts like 1.5."""
    microseconds = _as_decimal(amount) * (unit_length // timedelta(microseconds=1))
    return timedelta(microseconds=int(microseconds.to_integral_value(rounding=ROUND_HALF_UP)))


_NATURAL_LENGTHS = {
    TimeUnit.NATURAL_MINUTES: timedelta(minutes=1),
    TimeUnit.NATURAL_HOURS: timedelta(hours=1),
    TimeUnit.NATURAL_DAYS: timedelta(days=1),
}


def duration(amount: int | Decimal, unit: TimeUnit | str) -> timedelta:
    """A time limit as a timedelta: natural time for natural units, working time for working units."""
    unit = TimeUnit(unit)
    if unit == TimeUnit.WORKING_HOURS:
        return _scaled(amount, timedelta(hours=1))
    if unit == TimeUnit.WORKING_DAYS:
        return _scaled(amount, working_day_length())
    return _scaled(amount, _NATURAL_LENGTHS[unit])


def add_time(start: datetime, amount: int | Decimal, unit: TimeUnit | str) -> datetime:
    """The deadline ``amount`` ``unit`` after ``start``, in local time.

    Natural units add elapsed time (a natural day is 24 h); working units follow the work calendar.
    ``amount`` must not be negative.
    """
    local = _local(start)
    if _as_decimal(amount) < 0:
        raise ValueError("a time limit must not be negative")
    unit = TimeUnit(unit)
    length = duration(amount, unit)
    if unit.is_working_time:
        return add_working_time(local, length)
    # Through UTC so that natural hours stay elapsed hours even in a zone with daylight saving time.
    return (local.astimezone(UTC) + length).astimezone(local.tzinfo)


def time_between(start: datetime, end: datetime, unit: TimeUnit | str) -> timedelta:
    """The time from ``start`` to ``end`` as a limit in ``unit`` counts it (for lights: used ÷ allowed)."""
    unit = TimeUnit(unit)
    if unit.is_working_time:
        return working_time_between(start, end)
    return _local(end) - _local(start)
