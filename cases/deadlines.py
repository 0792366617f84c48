"""Stage clocks and lights (DESIGN.md §5 "Deadlines").

Emergency mode is an input here, not a second engine: every limit is read through :func:`under_mode`
with the case's ``clock_factor`` (cases.emergency). Under a factor a limit runs on natural time — a
working hour counts as an hour, a working day as a day — shortened by the factor (1.0: natural time
at full length); without one it is the limit as configured.

A case has one running clock at a time — its stage — with a start, a deadline and the moment the
light turns yellow (a share of the time used, per category). The next moment the light can change is
stored on the row (`next_check_at`) so that the sweep only reads cases whose light is about to move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from cases.choices import Light, Stage
from govgrid import workcalendar
from govgrid.workcalendar import TimeUnit

NATURAL_UNITS = {TimeUnit.NATURAL_MINUTES, TimeUnit.NATURAL_HOURS, TimeUnit.NATURAL_DAYS}


@dataclass(frozen=True)
class Limit:
    amount: Decimal
    unit: str

    @property
    def natural(self) -> bool:
        return self.unit in NATURAL_UNITS

    def due_from(self, start: datetime) -> datetime:
        return workcalendar.add_time(start, self.amount, self.unit)


NATURAL_EQUIVALENT = {
    TimeUnit.WORKING_HOURS: TimeUnit.NATURAL_HOURS, TimeUnit.WORKING_DAYS: TimeUnit.NATURAL_DAYS,
}


def under_mode(limit: Limit, factor: Decimal | None) -> Limit:
    """The limit a clock runs on under emergency ``factor`` (None: the limit itself)."""
    if factor is None:
        return limit
    unit = NATURAL_EQUIVALENT.get(limit.unit, limit.unit)
    return Limit(Decimal(limit.amount) * Decimal(factor), unit)


def stage_limit(stage: str, factor: Decimal | None = None) -> Limit:
    """The default limits of the centre and on-site stages (settings `CASE_STAGE_LIMITS` overrides),
    under emergency ``factor`` when one is given."""
    defaults = {
        Stage.ACCEPT: ("2", TimeUnit.WORKING_HOURS),
        Stage.SIGN: ("2", TimeUnit.WORKING_HOURS),
        Stage.VERIFY: ("1", TimeUnit.WORKING_DAYS),
    }
    amount, unit = getattr(settings, "CASE_STAGE_LIMITS", {}).get(stage, defaults[stage])
    return under_mode(Limit(Decimal(amount), unit), factor)


def category_limit(category, factor: Decimal | None = None) -> Limit:
    return under_mode(Limit(Decimal(category.time_limit), category.time_unit), factor)


def dispatch_limit(dispatch, factor: Decimal | None = None) -> Limit:
    """The handling limit a dispatch runs on, as stored when it was made (the centre may override the
    category's), under emergency ``factor`` when one is given."""
    return under_mode(Limit(Decimal(dispatch.time_limit), dispatch.time_unit), factor)


def default_yellow_share() -> Decimal:
    return Decimal(str(getattr(settings, "CASE_YELLOW_SHARE", "0.75")))


STAGE_SHARE_FIELDS = {
    Stage.ACCEPT: "accept_yellow_share", Stage.SIGN: "sign_yellow_share", Stage.HANDLE: "yellow_share",
    Stage.VERIFY: "verify_yellow_share",
}


def yellow_share(category, stage: str) -> Decimal:
    """The share of a stage's time after which its light turns yellow: the category's for that stage,
    else the default (settings CASE_YELLOW_SHARE)."""
    share = getattr(category, STAGE_SHARE_FIELDS.get(stage, "yellow_share"), None)
    return Decimal(share) if share else default_yellow_share()


def warn_moment(start: datetime, due: datetime, share: Decimal, *, natural: bool) -> datetime:
    """When `share` of the time from start to due is used, measured on the stage's own clock."""
    if due <= start:
        return due
    if natural:
        return start + (due - start) * float(share)
    used = workcalendar.working_time_between(start, due) * float(share)
    return workcalendar.add_working_time(start, used)


def light_at(now: datetime, warn_at: datetime | None, due_at: datetime | None) -> str:
    if due_at is None:
        return Light.NONE
    if now > due_at:
        return Light.RED
    if warn_at is not None and now >= warn_at:
        return Light.YELLOW
    return Light.GREEN


def next_check(light: str, warn_at: datetime | None, due_at: datetime | None) -> datetime | None:
    """The next moment the light changes: yellow at warn_at, red just after due_at, none once red."""
    if due_at is None or light == Light.RED:
        return None
    if light == Light.GREEN and warn_at is not None and warn_at < due_at:
        return warn_at
    return due_at + timedelta(microseconds=1)


def start_clock(case, stage: str, *, start: datetime, due: datetime, share: Decimal, natural: bool,
                now: datetime) -> None:
    """Set the running clock of `case` (in memory; the caller saves)."""
    case.stage = stage
    case.stage_started_at = start
    case.due_at = due
    case.warn_at = warn_moment(start, due, share, natural=natural)
    case.light = light_at(now, case.warn_at, due)
    case.next_check_at = None if case.suspended_at else next_check(case.light, case.warn_at, due)


def stop_clock(case) -> None:
    case.stage = Stage.NONE
    case.stage_started_at = case.due_at = case.warn_at = case.next_check_at = None
    case.light = Light.NONE


def shift_after_pause(moment: datetime | None, paused_from: datetime, paused_to: datetime, *,
                      natural: bool) -> datetime | None:
    """Move a deadline by the time a case was suspended, on the deadline's own clock."""
    if moment is None or moment <= paused_from:
        return moment
    if natural:
        return moment + (paused_to - paused_from)
    remaining = workcalendar.working_time_between(paused_from, moment)
    # A pause never brings a deadline forward (a deadline outside working hours keeps its place).
    return max(moment, workcalendar.add_working_time(max(paused_to, paused_from), remaining))


def shift_start_after_pause(start: datetime | None, paused_from: datetime, paused_to: datetime, *,
                            natural: bool) -> datetime | None:
    """Move a running clock's start later by the whole pause, so the time it has used (and so the moment
    its light turns yellow) leaves the pause out. A start inside the pause moves like a deadline."""
    if start is None or start >= paused_from:
        return shift_after_pause(start, paused_from, paused_to, natural=natural)
    if natural:
        return start + (paused_to - paused_from)
    paused = workcalendar.working_time_between(paused_from, paused_to)
    return workcalendar.add_working_time(start, paused) if paused > timedelta(0) else start


def remaining_share(due: datetime | None, moment: datetime, limit: Limit) -> Decimal:
    """What is left of a running clock at ``moment``, as a share of the ``limit`` it runs on (measured on
    the limit's own kind of time; above 1 after an approved extension, 0 once overdue)."""
    if due is None:
        return Decimal(0)
    length = workcalendar.duration(limit.amount, limit.unit)
    left = workcalendar.time_between(moment, due, limit.unit)
    if length <= timedelta(0) or left <= timedelta(0):
        return Decimal(0)
    return Decimal(str(round(left / length, 6)))


def replanned_due(due: datetime | None, remaining: Decimal, moment: datetime, limit: Limit) -> datetime | None:
    """A running deadline re-planned at ``moment`` under new rules without losing the time already spent:
    the ``remaining`` share of the new ``limit``. An overdue clock stays as it was."""
    if due is None or remaining <= 0:
        return due
    return workcalendar.add_time(moment, limit.amount * remaining, limit.unit)


def replanned_warn(moment: datetime, due: datetime, remaining: Decimal, share: Decimal, *,
                   natural: bool) -> datetime:
    """When the re-planned clock turns yellow: once ``share`` of the whole stage is used, counting what
    was used before the re-plan (1 − ``remaining``)."""
    used = 1 - remaining
    if used >= share or remaining <= 0:
        return moment
    return warn_moment(moment, due, (share - used) / remaining, natural=natural)
