"""Finished months of the counters folded into monthly rows, so that storage follows areas × months.

A case is counted on a handful of days at every level of its grid path, so the daily tables grow by
about eleven rows per case (bench/README.md). Once a month has left the daily window
(``COUNTER_DAILY_RETENTION_DAYS`` before today, rounded down to the first of a month), its rows of
``DailyCount`` and ``AreaDailyCount`` are moved into ``MonthlyCount`` and ``AreaMonthlyCount``: the
cells of one month that differ only by day become one, and cells that sum to nothing (a deadline
moved within the month) disappear.

One transaction, one statement per table: ``DELETE … RETURNING`` the daily rows before the window
(locked first, in the counters' order: area, day, …) feeds ``INSERT … SELECT … GROUP BY … ON CONFLICT
DO UPDATE`` into the monthly table. What is added is exactly what is deleted, so a concurrent action
cannot be lost:

* an action that added to a daily row before the roll-up locked it has committed (the lock waits for
  it) and the row as deleted carries its delta (READ COMMITTED re-reads the newest version);
* an action that comes later finds the row gone and inserts a new daily row for that old day (a late
  event: a deadline moved back, a dispatch of months ago returned, a closed case reopened). Readers add
  daily rows before the window to their month, as they add the monthly rows; the next roll-up folds it
  into the monthly row.

Running it twice changes nothing: the second run finds no daily row before the window. The nightly
rebuild (``reports.rebuild``) compares the timeline with both tables.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from reports.models import MEASURE_NAMES, AreaDailyCount, AreaMonthlyCount, DailyCount, MonthlyCount

logger = logging.getLogger(__name__)

# (daily model, monthly model, the cell's columns after area and day/month)
PAIRS: tuple[tuple[type[models.Model], type[models.Model], tuple[str, ...]], ...] = (
    (DailyCount, MonthlyCount, ("category_id", "department_id", "channel", "legacy")),
    (AreaDailyCount, AreaMonthlyCount, ("legacy",)),
)


def daily_from(today: date | None = None) -> date:
    """The first day still kept day by day: the first of the month ``COUNTER_DAILY_RETENTION_DAYS`` ago."""
    today = today or timezone.localdate()
    return (today - timedelta(days=settings.COUNTER_DAILY_RETENTION_DAYS)).replace(day=1)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


@dataclass
class RollupResult:
    before: date
    daily_rows: int = 0  # rows taken off DailyCount
    area_rows: int = 0  # rows taken off AreaDailyCount
    monthly_rows: int = 0  # MonthlyCount rows written (new or added to)
    area_monthly_rows: int = 0
    seconds: float = 0.0


def _fold_sql(daily: type[models.Model], monthly: type[models.Model], rest: tuple[str, ...]) -> tuple[str, str]:
    source, target = daily._meta.db_table, monthly._meta.db_table
    measures = ", ".join(MEASURE_NAMES)
    sums = ", ".join(f"sum({name})" for name in MEASURE_NAMES)
    cell = ", ".join(rest)
    fold = f"""
    WITH locked AS (
        SELECT id FROM {source} WHERE day < %(before)s ORDER BY area_id, day, {cell} FOR UPDATE
    ), moved AS (
        DELETE FROM {source} d USING locked l WHERE d.id = l.id RETURNING d.*
    )
    , written AS (
        INSERT INTO {target} AS t (area_id, month, {cell}, {measures})
        SELECT area_id, date_trunc('month', day)::date, {cell}, {sums} FROM moved
        GROUP BY area_id, date_trunc('month', day)::date, {cell}
        ORDER BY area_id, date_trunc('month', day)::date, {cell}
        ON CONFLICT (area_id, month, {cell}) DO UPDATE SET
        {", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in MEASURE_NAMES)}
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM written)"""
    # Counts that cancel out within the month (a deadline moved from one day to another) carry nothing.
    drop_zero = f"DELETE FROM {target} WHERE month < %(before)s AND {' AND '.join(f'{m} = 0' for m in MEASURE_NAMES)}"
    return fold, drop_zero


def roll_up_counters(*, today: date | None = None) -> RollupResult:
    """Move the daily counters of the months before the daily window into the monthly tables."""
    clock = time.monotonic()
    result = RollupResult(before=daily_from(today))
    params = {"before": result.before}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        for (daily, monthly, rest), kind in zip(PAIRS, ("daily", "area"), strict=True):
            fold, drop_zero = _fold_sql(daily, monthly, rest)
            cursor.execute(fold, params)
            moved, written = cursor.fetchone()
            setattr(result, f"{kind}_rows", moved)
            setattr(result, "monthly_rows" if kind == "daily" else "area_monthly_rows", written)
            if moved:
                cursor.execute(drop_zero, params)
    result.seconds = time.monotonic() - clock
    logger.info("counters before %s rolled up: %s daily and %s area rows into %s and %s monthly rows (%.1f s)",
                result.before, result.daily_rows, result.area_rows, result.monthly_rows,
                result.area_monthly_rows, result.seconds)
    return result
