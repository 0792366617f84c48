"""Lights by lag (亮灯预警): how far a task's reported progress trails the share of its time gone.

A pure function of dates and numbers, so tests and the board call it alike. The thresholds are
settings (PLAN_LIGHT_YELLOW, PLAN_LIGHT_RED, in percentage points).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings

from plans.choices import Light


def thresholds() -> tuple[int, int]:
    return int(getattr(settings, "PLAN_LIGHT_YELLOW", 10)), int(getattr(settings, "PLAN_LIGHT_RED", 25))


def expected_percent(starts_on: date, deadline: date, today: date) -> Decimal:
    """The share of the task's time elapsed on ``today``, 0–100 (a one-day task is 100 on its day)."""
    if today <= starts_on:
        return Decimal(0)
    total = (deadline - starts_on).days
    if total <= 0 or today >= deadline:
        return Decimal(100)
    return (Decimal((today - starts_on).days) * 100 / Decimal(total)).quantize(Decimal("0.1"))


def light_for(*, starts_on: date, deadline: date, percent: Decimal | int, today: date,
              yellow: int | None = None, red: int | None = None) -> str:
    """Green, yellow or red: done is green; past the deadline and not done is red; otherwise the lag
    (expected − reported, in points) against the thresholds."""
    default_yellow, default_red = thresholds()
    yellow = default_yellow if yellow is None else yellow
    red = default_red if red is None else red
    percent = Decimal(percent)
    if percent >= 100:
        return Light.GREEN
    if today > deadline:
        return Light.RED
    lag = expected_percent(starts_on, deadline, today) - percent
    if lag >= red:
        return Light.RED
    if lag >= yellow:
        return Light.YELLOW
    return Light.GREEN
