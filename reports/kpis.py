"""KPIs of DESIGN.md §7 for an area subtree and a period, read from the counters (never from cases).

Every function returns plain dicts and lists (dates as ``date``, rates as floats or ``None``) that a
page, an export or the API can render as they are. Periods are local dates, both ends included.

Days older than the daily window are kept by month (``reports.rollup``): a period whose start or end
falls in such a month is counted by whole months there (``counted_period``); the answer's ``start`` and
``end`` say which days were counted and ``widened`` is true. Inside the window every day is exact. A
day or week trend cannot reach before the window (``RolledUpPeriod``, a ``ValueError``).

Rates (legacy cases are left out of every count a rate is made from; they come back apart, under
``legacy``). Each rate compares a group of cases (or dispatches) with itself, the group being those
whose day (below) falls in the period, so every rate stays within 0–100 % over any period:

- acceptance_rate 立案率 = accepted / (reported − report-only − merged)
  = reported_accepted / (reported − filed − reported_merged); group: day reported
- closure_rate 结案率 = closed / (due − suspended)
  = due_closed / (due − due_suspended); group: day of the handling deadline
- on_time_rate 按期结案率 = closed on time / (due − suspended)
  = due_closed_on_time / (due − due_suspended); group: day of the handling deadline
- rework_rate 返工率 = reworked / handled
  = handled_reworked / handled; group: day first handled
- dispatch_accuracy 准确派遣率 = dispatches not returned / dispatches
  = (dispatched − dispatched_returned) / dispatched; group: day of the dispatch
- self_resolution_rate 自处置率 = self-resolved / (reported − report-only)
  = self_resolved / (reported − filed); group: day reported
- satisfaction_rate 满意率 = satisfied / surveyed
  = satisfied / surveyed; group: day of the follow-up call
- avg_handle_hours 平均处置时长 = handle_minutes / (handled + rehandled) / 60, in working hours

"Due" is the case's current handling deadline; "closed" means closed now (a reopened case no longer
counts), and a closed case is never counted as suspended. "Satisfied" is 满意 only: 基本满意 is
counted apart (``basically_satisfied``) and is not in the rate. Self-resolved cases are in the
acceptance rate's denominator (they were reported and not merged) and are never accepted.

A division by zero gives ``None``. The other counts (accepted, closed, closed_on_time, returned,
reworked, …) are what happened on each day: the work done in a period, not rates' parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import OPEN_STATUSES, Channel
from cases.models import Case, Category
from govgrid.replica import read_connection
from grids.models import Area, Department
from reports import rollup
from reports.models import MEASURE_NAMES, AreaDailyCount, AreaMonthlyCount, DailyCount, MonthlyCount

BREAKDOWNS = ("area", "category", "family", "department", "channel", "day", "week", "month")
PERIODS = ("day", "week", "month")
RATE_NAMES = (
    "acceptance_rate", "closure_rate", "on_time_rate", "rework_rate", "dispatch_accuracy",
    "self_resolution_rate", "satisfaction_rate", "avg_handle_hours",
)
# Raw SQL, not the ORM: building a query of 27 aggregates costs the ORM ~2 ms, more than running it.
_SUM_COLUMNS = ", ".join(f"coalesce(sum(t.{name}), 0)::bigint" for name in MEASURE_NAMES)


class RolledUpPeriod(ValueError):
    """A day or week breakdown asked of days that are kept by month only (``reports.rollup``)."""


def counted_period(start: date, end: date) -> tuple[date, date]:
    """The period the counters can answer: an end before the daily window widens to its whole month.

    Days before ``reports.rollup.daily_from()`` are kept by month, so a period that starts (or ends) in
    the middle of such a month is counted from the first (to the last) day of that month. Inside the
    daily window the period is returned as it is.
    """
    first_daily = rollup.daily_from()
    if start < first_daily:
        start = rollup.month_start(start)
    if end < first_daily:
        end = rollup.month_end(end)
    return start, end


def counter_rows(detail: bool = False, months: bool = True) -> str:
    """The counter rows of a period (alias t): the daily rows of its days plus (``months``) the monthly
    rows of its months, each dated on its month's first day; parameters from ``counter_rows_params``.
    PostgreSQL pushes the outer query's area filter into both halves (each its own index probe)."""
    daily, monthly = (DAILY_TABLE, MONTHLY_TABLE) if detail else (AREA_TABLE, AREA_MONTHLY_TABLE)
    columns = "area_id, legacy, " + ("category_id, department_id, channel, " if detail else "") + _MEASURE_COLUMNS
    days = f"SELECT {columns}, day FROM {daily} WHERE day BETWEEN %s AND %s"
    if not months:
        return f"({days}) t"
    return f"({days} UNION ALL SELECT {columns}, month AS day FROM {monthly} WHERE month BETWEEN %s AND %s) t"


def reaches_months(start: date) -> bool:
    """Whether a period from ``start`` reaches the months kept by month: else the daily rows alone answer
    it (the dashboards' usual periods: one index probe, as before the roll-up existed)."""
    return start < rollup.daily_from()


def counter_rows_params(start: date, end: date, months: bool = True) -> list[date]:
    """The period (counted: ``counted_period``) for ``counter_rows``."""
    return [start, end, rollup.month_start(start), end] if months else [start, end]


def _sums(detail: bool, group: str, where: str, params: list[Any], start: date, end: date,
          join: str = "") -> list[tuple[Any, dict[str, int]]]:
    """``[(group value, {measure: sum})]`` of the counter rows (alias t) from ``start`` to ``end`` matching
    ``where``: the daily or area tables (``detail``), with their monthly roll-ups."""
    months = reaches_months(start)
    with read_connection().cursor() as cursor:  # the read replica, on a report page (govgrid.replica)
        cursor.execute(
            f"SELECT {group}, {_SUM_COLUMNS} FROM {counter_rows(detail, months)} {join} WHERE {where} GROUP BY 1",
            [*counter_rows_params(start, end, months), *params],
        )
        return [(row[0], dict(zip(MEASURE_NAMES, row[1:], strict=True))) for row in cursor.fetchall()]


AREA_TABLE, DAILY_TABLE = AreaDailyCount._meta.db_table, DailyCount._meta.db_table
AREA_MONTHLY_TABLE, MONTHLY_TABLE = AreaMonthlyCount._meta.db_table, MonthlyCount._meta.db_table
_MEASURE_COLUMNS = ", ".join(MEASURE_NAMES)


def _ratio(numerator: int, denominator: int, digits: int = 4) -> float | None:
    return round(numerator / denominator, digits) if denominator > 0 else None


def rates(counts: dict[str, int]) -> dict[str, float | None]:
    """The rates of §7 from a dict of summed measures (the table above)."""
    c = counts
    due = c["due"] - c["due_suspended"]
    handlings = c["handled"] + c["rehandled"]
    return {
        "acceptance_rate": _ratio(c["reported_accepted"], c["reported"] - c["filed"] - c["reported_merged"]),
        "closure_rate": _ratio(c["due_closed"], due),
        "on_time_rate": _ratio(c["due_closed_on_time"], due),
        "rework_rate": _ratio(c["handled_reworked"], c["handled"]),
        "dispatch_accuracy": _ratio(c["dispatched"] - c["dispatched_returned"], c["dispatched"]),
        "self_resolution_rate": _ratio(c["self_resolved"], c["reported"] - c["filed"]),
        "satisfaction_rate": _ratio(c["satisfied"], c["surveyed"]),
        "avg_handle_hours": round(c["handle_minutes"] / handlings / 60, 2) if handlings > 0 else None,
    }


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(MEASURE_NAMES, 0)


def _figures(counts: dict[str, int]) -> dict[str, Any]:
    return {"counts": counts, "rates": rates(counts)}


def resolve_area(area: Area | str) -> Area:
    return area if isinstance(area, Area) else Area.objects.get(code=area)


def _check_period(start: date, end: date) -> None:
    if isinstance(start, datetime) or isinstance(end, datetime) or not isinstance(start, date) \
            or not isinstance(end, date):
        raise TypeError("start and end are dates (local days, both included)")
    if end < start:
        raise ValueError("the period ends before it starts")


def area_info(area: Area) -> dict[str, Any]:
    return {"code": area.code, "name": area.name, "level": area.level}


# --- the main entry -------------------------------------------------------------------------------


def kpis(area: Area | str, start: date, end: date, *, by: str | None = None) -> dict[str, Any]:
    """Counts and rates of ``area``'s subtree from ``start`` to ``end`` (local days, inclusive).

    ``by`` adds ``rows``, one per: child area (``"area"``: a city's districts, or its towns when it has
    no district level, …, a community's grids; a grid has none), leaf category (``"category"``),
    category family (``"family"``), department (``"department"``: only measures that belong to a
    department), channel (``"channel"``), or period (``"day"``, ``"week"`` from Monday, ``"month"``;
    every period of the range is listed, empty ones with zeros). Each row is
    ``{"key", "label", "counts", "rates"}``.

    Returns ``{"area", "start", "end", "counts", "rates", "legacy"}`` (+ ``"by"`` and ``"rows"``).
    """
    area = resolve_area(area)
    _check_period(start, end)
    if by is not None and by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWNS)}")
    counted_start, counted_end = counted_period(start, end)
    if by in ("day", "week"):
        _check_days_kept(counted_start)
    counts, legacy = _totals(area, counted_start, counted_end)
    result: dict[str, Any] = {
        "area": area_info(area), "start": counted_start, "end": counted_end, **_figures(counts), "legacy": legacy,
        "widened": (counted_start, counted_end) != (start, end),
    }
    if by is not None:
        result["by"] = by
        result["rows"] = breakdown(area, counted_start, counted_end, by)
    return result


def _totals(area: Area, start: date, end: date) -> tuple[dict[str, int], dict[str, int]]:
    counts, legacy = empty_counts(), empty_counts()
    for is_legacy, sums in _sums(False, "t.legacy", "t.area_id = %s", [area.pk], start, end):
        if is_legacy:
            legacy = sums
        else:
            counts = sums
    return counts, legacy


def breakdown(area: Area, start: date, end: date, by: str) -> list[dict[str, Any]]:
    if by == "area":
        return _by_child_area(area, start, end)
    if by in PERIODS:
        return trend(area, start, end, period=by)
    where, params, period = "t.area_id = %s AND NOT t.legacy", [area.pk], (start, end)
    if by == "category":
        sums = _sums(True, "t.category_id", where, params, *period)
        names = {c.pk: c for c in Category.objects.filter(pk__in=[key for key, _sums in sums])}
        rows = [_row(names[key].code, names[key].display_name, figures) for key, figures in sums]
    elif by == "family":
        sums = _sums(True, "c.parent_id", where, params, *period, join="JOIN cases_category c ON c.id = t.category_id")
        names = {c.pk: c for c in Category.objects.filter(pk__in=[key for key, _sums in sums])}
        rows = [_row(names[key].code, names[key].display_name, figures) for key, figures in sums if key in names]
    elif by == "department":
        sums = _sums(True, "t.department_id", where + " AND t.department_id IS NOT NULL", params, *period)
        names = {d.pk: d for d in Department.objects.filter(pk__in=[key for key, _sums in sums])}
        rows = [_row(key, names[key].display_name, figures) for key, figures in sums]
    else:  # channel
        labels = dict(Channel.choices)
        rows = [_row(key, str(labels.get(key, key)), figures)
                for key, figures in _sums(True, "t.channel", where, params, *period)]
    rows.sort(key=lambda row: str(row["key"]))
    return rows


def _row(key: Any, label: str, counts: dict[str, int]) -> dict[str, Any]:
    return {"key": key, "label": label, **_figures(counts)}


def _by_child_area(area: Area, start: date, end: date) -> list[dict[str, Any]]:
    children = list(Area.objects.filter(parent=area).order_by("code").only("id", "code", "name", "level"))
    sums = dict(_sums(False, "t.area_id", "t.area_id = ANY(%s) AND NOT t.legacy", [[child.pk for child in children]],
                      start, end))
    return [
        {"key": child.code, "label": child.name, "level": child.level, **_figures(sums.get(child.pk) or empty_counts())}
        for child in children
    ]


_TRUNC = {"day": "t.day", "week": "date_trunc('week', t.day)::date", "month": "date_trunc('month', t.day)::date"}


def trend(area: Area | str, start: date, end: date, *, period: str = "day") -> list[dict[str, Any]]:
    """One row per day, week (from Monday) or month of the range, zeros where nothing happened.

    A week or month row sums only the days inside the range. Before the daily window (``counted_period``)
    only months can be given: a day or week trend reaching there raises ``RolledUpPeriod``, and a month
    row there sums its whole month.
    """
    area = resolve_area(area)
    _check_period(start, end)
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    start, end = counted_period(start, end)
    if period != "month":
        _check_days_kept(start)
    sums = {
        _as_date(key): figures
        for key, figures in _sums(False, _TRUNC[period], "t.area_id = %s AND NOT t.legacy", [area.pk], start, end)
    }
    return [
        {"key": key, "label": key.isoformat(), **_figures(sums.get(key) or empty_counts())}
        for key in _periods(start, end, period)
    ]


def _check_days_kept(start: date) -> None:
    first_daily = rollup.daily_from()
    if start < first_daily:
        raise RolledUpPeriod(
            _("Before %(day)s the figures are kept by month only: ask for them by month.")
            % {"day": first_daily.isoformat()}
        )


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _periods(start: date, end: date, period: str) -> Iterable[date]:
    if period == "day":
        current = start
        step = timedelta(days=1)
    elif period == "week":
        current = start - timedelta(days=start.weekday())
        step = timedelta(days=7)
    else:
        current = start.replace(day=1)
        step = None
    while current <= end:
        yield current
        if step is not None:
            current += step
        else:
            current = date(current.year + current.month // 12, current.month % 12 + 1, 1)


# --- tiles, league table, overdue -----------------------------------------------------------------


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before ``start``."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def change_from_previous(area: Area | str, start: date, end: date) -> dict[str, Any]:
    """For KPI tiles: each count and rate now, in the same-length period before, and the change.

    Counts change as ``delta`` and ``ratio`` (relative, None from 0); rates as ``delta`` (points).
    """
    area = resolve_area(area)
    _check_period(start, end)
    start, end = counted_period(start, end)
    before_start, before_end = counted_period(*previous_period(start, end))
    now_counts, _legacy = _totals(area, start, end)
    then_counts, _legacy = _totals(area, before_start, before_end)
    now_rates, then_rates = rates(now_counts), rates(then_counts)
    return {
        "area": area_info(area),
        "current": {"start": start, "end": end},
        "previous": {"start": before_start, "end": before_end},
        "counts": {
            name: {
                "current": now_counts[name], "previous": then_counts[name],
                "delta": now_counts[name] - then_counts[name],
                "ratio": _ratio(now_counts[name] - then_counts[name], then_counts[name]),
            }
            for name in MEASURE_NAMES
        },
        "rates": {
            name: {
                "current": now_rates[name], "previous": then_rates[name],
                "delta": None if now_rates[name] is None or then_rates[name] is None
                else round(now_rates[name] - then_rates[name], 4),
            }
            for name in RATE_NAMES
        },
    }


def department_league(area: Area | str, start: date, end: date) -> list[dict[str, Any]]:
    """Departments that had cases of ``area``'s subtree in the period, best on-time rate first.

    Per department: dispatches and returns (accuracy), cases due and closed on time, rework,
    satisfaction, supervisions received, deadlines missed and extensions. Counts are those of cases
    in the area, so a district department seen from a town shows that town's share. The counts beside
    each rate are its parts: ``returned`` = dispatches of the period returned since, ``due`` = cases due
    in the period less the suspended ones, ``closed`` and ``closed_on_time`` = of those, closed (on
    time), ``reworked`` = cases first handled in the period that were reworked since.
    """
    area = resolve_area(area)
    _check_period(start, end)
    rows = breakdown(area, *counted_period(start, end), "department")
    departments = {d.pk: d for d in Department.objects.filter(pk__in=[r["key"] for r in rows]).select_related("area")}
    league = []
    for row in rows:
        department, counts, row_rates = departments[row["key"]], row["counts"], row["rates"]
        league.append({
            "department": {"id": department.pk, "name": department.display_name, "kind": department.kind,
                           "area": department.area.name},
            "dispatched": counts["dispatched"], "returned": counts["dispatched_returned"],
            "dispatch_accuracy": row_rates["dispatch_accuracy"],
            "due": counts["due"] - counts["due_suspended"], "closed": counts["due_closed"],
            "closed_on_time": counts["due_closed_on_time"], "on_time_rate": row_rates["on_time_rate"],
            "handled": counts["handled"], "reworked": counts["handled_reworked"],
            "rework_rate": row_rates["rework_rate"],
            "surveyed": counts["surveyed"], "satisfaction_rate": row_rates["satisfaction_rate"],
            "supervised": counts["supervised"], "overdue": counts["overdue"], "extended": counts["extended"],
            "avg_handle_hours": row_rates["avg_handle_hours"],
        })
    league.sort(key=lambda r: (r["on_time_rate"] is None, -(r["on_time_rate"] or 0), r["department"]["name"]))
    return league


def top_overdue(area: Area | str, *, user=None, limit: int = 10, now: datetime | None = None) -> list[dict[str, Any]]:
    """Open cases of ``area``'s subtree past their current deadline, longest overdue first.

    This one reads cases (a prefix match on ``area_path`` and ``due_at``, ``LIMIT``); with ``user``
    it reads only cases that user may see. Suspended cases are left out: their clocks are paused.
    """
    from cases.selectors import visible_cases

    area = resolve_area(area)
    now = now or timezone.now()
    cases = visible_cases(user) if user is not None else Case.objects.all()
    rows = (
        cases.filter(area_path__startswith=area.path, status__in=OPEN_STATUSES, due_at__lt=now,
                     suspended_at__isnull=True)
        .select_related("category", "grid")
        .order_by("due_at", "id")[:limit]
    )
    return [
        {
            "id": case.pk, "number": case.number, "category": case.category.display_name, "grid": case.grid.name,
            "area_path": case.area_path, "status": case.status, "stage": case.stage, "due_at": case.due_at,
            "overdue_hours": round((now - case.due_at).total_seconds() / 3600, 1), "light": case.light,
            "supervision": case.supervision, "urgency": case.urgency,
        }
        for case in rows
    ]
