"""Counters that shrink (issue #16): rows and dashboard times before and after the monthly roll-up.

    .venv/bin/python bench/rollup.py [--days 30] [--repeat 7]

Runs on what ``bench/dashboard.py`` left in ``BENCH_DATABASE_URL`` (default ``…/govgrid_dash``): the
cases of the year before T = 2 November 2026 and their counters, built by the nightly rebuild.

1. Rows and on-disk size of the four counter tables, and the daily rows per area level: why a case
   costs about eleven daily rows (it is counted at each level of its grid path, on each day it is
   touched, once without and once with its department).
2. Timed, warm, median of ``--repeat`` (as bench/dashboard.py): the city dashboard and the town
   drill-down over the ``--days`` days before T (inside the daily window), the same over a whole
   month that will be rolled up (March 2026: the first full month of the data set in the monthly tables).
3. ``reports.rollup.roll_up_counters()`` with today's daily window (``COUNTER_DAILY_RETENTION_DAYS``,
   default 100: everything before the first of the month 100 days ago), timed; VACUUM ANALYZE.
4. The same rows, sizes and times after; the dashboards' figures compared with those before (equal:
   the periods are whole months or inside the window); a second roll-up (nothing to do, timed) and the
   drift check over both tables (``rebuild_counters(repair=False)``: no drift expected), timed.

The roll-up is not undone: run bench/dashboard.py again for a fresh daily-only set.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/govgrid_dash")

from bench import common  # noqa: E402
from bench.dashboard import REFERENCE, timed  # noqa: E402

TABLES = ("reports_dailycount", "reports_areadailycount", "reports_monthlycount", "reports_areamonthlycount")
OLD_MONTH = (date(2026, 3, 1), date(2026, 3, 31))


def table_figures() -> dict[str, tuple[int, int]]:
    """Rows and total size (bytes, with indexes) of each counter table."""
    from django.db import connection

    figures = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")
            figures[table] = cursor.fetchone()
    return figures


def rows_per_level() -> list[tuple[str, int, int]]:
    """(table, area level, rows) for each counter table."""
    from django.db import connection

    out = []
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                f"SELECT a.level, count(*) FROM {table} t JOIN grids_area a ON a.id = t.area_id GROUP BY 1 ORDER BY 1"
            )
            out.extend((table, level, rows) for level, rows in cursor.fetchall())
    return out


def dashboards(days: int, repeat: int) -> dict[str, tuple[float, float, int]]:
    from grids.models import Area
    from reports import kpis

    city = Area.objects.get(code=common.CITY_CODE)
    town = busiest_town()
    end = REFERENCE.date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)

    def board(area, first, last, period):
        return lambda: (kpis.kpis(area, first, last), kpis.kpis(area, first, last, by="area"),
                        kpis.trend(area, first, last, period=period))

    return {
        f"city, {days} days": timed(board(city, start, end, "day"), repeat),
        f"town, {days} days": timed(board(town, start, end, "day"), repeat),
        "city, March 2026": timed(board(city, *OLD_MONTH, "month"), repeat),
        "town, March 2026": timed(board(town, *OLD_MONTH, "month"), repeat),
        "  town by category, 30 days": timed(lambda: kpis.kpis(town, start, end, by="category"), repeat),
        "  town by category, March": timed(lambda: kpis.kpis(town, *OLD_MONTH, by="category"), repeat),
        "  city, year by month": timed(board(city, end - timedelta(days=364), end, "month"), repeat),
    }


def answers(days: int) -> list:
    """The dashboards' figures, to compare before and after."""
    from grids.models import Area
    from reports import kpis

    city = Area.objects.get(code=common.CITY_CODE)
    town = busiest_town()
    end = REFERENCE.date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    out = []
    for area in (city, town):
        for first, last in ((start, end), OLD_MONTH, (date(2025, 12, 1), end)):
            out.append(kpis.kpis(area, first, last, by="area"))
            out.append(kpis.kpis(area, first, last, by="category"))
            out.append(kpis.trend(area, first, last, period="month"))
    return out


def busiest_town():
    from django.db import connection

    from grids.models import Area

    with connection.cursor() as cursor:  # the town with the most grids, as bench/dashboard.py
        cursor.execute(
            "SELECT t.code FROM grids_area t JOIN grids_area g ON g.path LIKE t.path || '%%' AND g.level = 5 "
            "WHERE t.level = 3 GROUP BY t.code ORDER BY count(*) DESC, t.code LIMIT 1"
        )
        return Area.objects.get(code=cursor.fetchone()[0])


def show(title: str, figures: dict[str, tuple[int, int]], cases: int) -> None:
    print(title)
    for table, (rows, size) in figures.items():
        print(f"  {table:<26} {rows:>12,} rows  {rows / cases:6.2f} per case  {size / 2**20:8.1f} MB")


def show_times(times: dict[str, tuple[float, float, int]]) -> None:
    for name, (median, worst, statements) in times.items():
        print(f"  {name:<30} {median:8.1f} ms median  {worst:8.1f} ms max  {statements:3d} SQL", flush=True)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    common.setup()
    common.ensure_city()
    from django.conf import settings
    from django.db import connection

    from reports.rebuild import rebuild_counters
    from reports.rollup import daily_from, roll_up_counters

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case")
        cases = cursor.fetchone()[0]
    print(f"bench/rollup.py · {common.machine_line()} · database {common.database_url().rsplit('/', 1)[-1]} · "
          f"{cases:,} cases · daily window from {daily_from()} (COUNTER_DAILY_RETENTION_DAYS "
          f"{settings.COUNTER_DAILY_RETENTION_DAYS})", flush=True)
    vacuum()
    before = table_figures()
    show("before the roll-up:", before, cases)
    print("  rows per area level (1 city … 5 grid):")
    for table, level, rows in rows_per_level():
        print(f"    {table:<26} level {level}  {rows:>12,}  {rows / cases:6.2f} per case")
    times_before = dashboards(args.days, args.repeat)
    show_times(times_before)
    figures_before = answers(args.days)

    result = roll_up_counters()
    print(f"roll-up before {result.before}: {result.daily_rows:,} daily and {result.area_rows:,} area rows "
          f"into {result.monthly_rows:,} and {result.area_monthly_rows:,} monthly rows in {result.seconds:.1f} s",
          flush=True)
    started = time.monotonic()
    vacuum()
    print(f"VACUUM ANALYZE {time.monotonic() - started:.1f} s")
    after = table_figures()
    show("after the roll-up:", after, cases)
    for table, level, rows in rows_per_level():
        print(f"    {table:<26} level {level}  {rows:>12,}  {rows / cases:6.2f} per case")
    times_after = dashboards(args.days, args.repeat)
    show_times(times_after)
    same = answers(args.days) == figures_before
    print(f"dashboards' figures after = before: {same}")
    again = roll_up_counters()
    print(f"second roll-up: {again.daily_rows + again.area_rows} rows moved ({again.seconds:.1f} s)")
    check = rebuild_counters(repair=False, sample=5)
    print(f"drift check over daily and monthly tables: {'no drift' if check.clean else check.drift[:5]} "
          f"({check.seconds:.1f} s)")
    rows_before = sum(rows for rows, _size in before.values())
    rows_after = sum(rows for rows, _size in after.values())
    size_before = sum(size for _rows, size in before.values())
    size_after = sum(size for _rows, size in after.values())
    print(f"\ncounter rows {rows_before:,} → {rows_after:,} (×{rows_after / rows_before:.2f}); "
          f"size {size_before / 2**20:.0f} → {size_after / 2**20:.0f} MB")
    for (name, (was, _w, _s)), (_n, (now, _w2, _s2)) in zip(times_before.items(), times_after.items(), strict=True):
        print(f"  {name:<30} {was:8.1f} ms → {now:8.1f} ms")
    common.record("rollup", {
        "cases": cases, "rows_per_case_before": rows_before / cases, "rows_per_case_after": rows_after / cases,
        "city_ms": times_after[f"city, {args.days} days"][0], "town_ms": times_after[f"town, {args.days} days"][0],
        "same_figures": same, "drift_free": check.clean,
    })
    common.flush_bench_redis()
    if not same or not check.clean:
        sys.exit(1)


if __name__ == "__main__":
    main()
