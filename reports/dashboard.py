"""What the report pages and their exports show, built on ``reports.kpis`` (which reads the counters).

Every table of the dashboard is a ``Table``: columns with a kind (count, rate, hours, …) and rows of
plain values. The page, the CSV and XLSX exports and the PDF all render the same ``Table``, so an
export always holds the figures the page shows.

Lights of the child-area ranking follow the on-time closure rate 按期结案率: ≥ ``ON_TIME_GREEN`` green,
≥ ``ON_TIME_YELLOW`` yellow, below red; an area with nothing due has no light.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.contrib.gis.db.models import Extent
from django.contrib.gis.db.models.functions import AsGeoJSON, GeomOutputGeoFunc
from django.db import connection
from django.db.models import FloatField, Value
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Case
from grids.choices import CENTRE_ROLES, Level, Role
from grids.models import Area
from grids.scope import scope_for, visible_areas
from grids.signals import like_prefix
from reports import kpis, rollup

ON_TIME_GREEN = 0.90
ON_TIME_YELLOW = 0.75
# Longest period a page or an export accepts: a day trend of more is unreadable, and months are offered.
MAX_DAYS = 3 * 366
OVERDUE_LIMIT = 10


def on_time_light(rate: float | None) -> str:
    """``"green"``, ``"yellow"``, ``"red"``, or ``""`` when nothing was due."""
    if rate is None:
        return ""
    if rate >= ON_TIME_GREEN:
        return "green"
    if rate >= ON_TIME_YELLOW:
        return "yellow"
    return "red"


def may_see_reports(user) -> bool:
    """Officials, centre staff and admins: those the navigation offers the reports to."""
    scope = scope_for(user)
    return scope.is_admin or Role.OFFICIAL in scope.roles or bool(scope.roles & set(CENTRE_ROLES))


# --- the period ---------------------------------------------------------------------------------

QUICK_RANGES = (
    ("today", gettext_lazy("Today")),
    ("7d", gettext_lazy("Last 7 days")),
    ("month", gettext_lazy("This month")),
    ("last_month", gettext_lazy("Last month")),
    ("year", gettext_lazy("This year")),
)
TREND_PERIODS = (("day", gettext_lazy("by day")), ("week", gettext_lazy("by week")),
                 ("month", gettext_lazy("by month")))


def today() -> date:
    return timezone.localdate()


def quick_range(key: str, day: date) -> tuple[date, date]:
    if key == "today":
        return day, day
    if key == "7d":
        return day - timedelta(days=6), day
    if key == "last_month":
        end = day.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if key == "year":
        return day.replace(month=1, day=1), day
    return day.replace(day=1), day  # "month", the default: this month so far


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def previous_month(day: date) -> tuple[int, int]:
    first = day.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def auto_trend_period(start: date, end: date) -> str:
    days = (end - start).days + 1
    return "day" if days <= 62 else "week" if days <= 190 else "month"


class PeriodForm(forms.Form):
    """``?area=&range=&start=&end=&period=``: an explicit start/end wins over a quick range."""

    area = forms.CharField(required=False, max_length=32)
    range = forms.ChoiceField(required=False, choices=QUICK_RANGES)
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)
    period = forms.ChoiceField(required=False, choices=TREND_PERIODS)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day = today()
        start, end = data.get("start"), data.get("end")
        if start or end:
            start = start or (end or day).replace(day=1)
            end = end or max(start, day)
            data["range"] = ""
        else:
            data["range"] = data.get("range") or "month"
            start, end = quick_range(data["range"], day)
        if end < start:
            raise forms.ValidationError(_("The period ends before it starts."))
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(_("The period is too long: at most three years."))
        # Before the daily window the counters are kept by month (reports.rollup): whole months there.
        counted = kpis.counted_period(start, end)
        data["widened"] = counted != (start, end)
        data["start"], data["end"] = start, end = counted
        data["period"] = data.get("period") or auto_trend_period(start, end)
        if data["period"] != "month" and start < rollup.daily_from():
            data["period"] = "month"
        return data


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    range: str  # the quick range chosen, "" for explicit dates
    trend: str  # day, week or month
    widened: bool = False  # reached back into months kept whole: counted by whole months there


def default_period() -> Period:
    start, end = quick_range("month", today())
    return Period(start, end, "month", auto_trend_period(start, end))


def parse_period(params) -> tuple[Period, PeriodForm]:
    """The period asked for; with the form's errors, the default period (this month so far)."""
    form = PeriodForm(params)
    if not form.is_valid():
        return default_period(), form
    data = form.cleaned_data
    return Period(data["start"], data["end"], data["range"], data["period"], data["widened"]), form


# --- the area -----------------------------------------------------------------------------------


def report_area(user, code: str | None) -> Area:
    """The area asked for, if the user may see it (else 404); without a code, their top visible area."""
    areas = visible_areas(user).defer("boundary")
    area = areas.filter(code=code).first() if code else areas.order_by("level", "path").first()
    if area is None:
        raise Http404(_("No such area."))
    return area


def top_areas(user) -> list[Area]:
    """The outermost areas the user may see (an official of two towns sees two)."""
    scope = scope_for(user)
    areas = visible_areas(user).defer("boundary").order_by("level", "path")
    if scope.is_admin:
        return list(areas.filter(level=Level.CITY))
    return [area for area in areas.filter(path__in=list(scope.see_paths))]


def breadcrumb(user, area: Area) -> list[Area]:
    """The area's ancestors the user may see, then the area: where "up" may go."""
    scope = scope_for(user)
    return [a for a in area.ancestors().defer("boundary") if scope.covers_area(a)] + [area]


# --- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # text, int, rate (a fraction), hours, datetime, light


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _c(key: str, label, kind: str = "int") -> Column:
    return Column(key, str(label), kind)


def ranking_table(area: Area, start: date, end: date, rows: list[dict] | None = None) -> Table:
    """Child areas, best on-time closure first (those with nothing due last), with their light.

    Here and in the other tables, the counts beside a rate are its parts (``reports.kpis``): "closed"
    is the cases due in the period that are closed, not the closures made in it.
    """
    rows = kpis.kpis(area, start, end, by="area")["rows"] if rows is None else rows
    ranked = []
    for row in rows:
        counts, rates = row["counts"], row["rates"]
        ranked.append({
            "code": row["key"], "name": row["label"], "reported": counts["reported"],
            "accepted": counts["accepted"], "closed": counts["due_closed"],
            "due": counts["due"] - counts["due_suspended"], "closed_on_time": counts["due_closed_on_time"],
            "on_time_rate": rates["on_time_rate"], "closure_rate": rates["closure_rate"],
            "overdue": counts["overdue"], "satisfaction_rate": rates["satisfaction_rate"],
            "light": on_time_light(rates["on_time_rate"]),
        })
    ranked.sort(key=lambda r: (r["on_time_rate"] is None, -(r["on_time_rate"] or 0), -r["reported"], r["code"]))
    for rank, row in enumerate(ranked, 1):
        row["rank"] = rank
    return Table("ranking", _("Ranking of areas"), [
        _c("rank", _("Rank")), _c("code", _("Area code"), "text"), _c("name", _("Area"), "text"),
        _c("light", _("Light"), "light"), _c("on_time_rate", _("On-time closure rate"), "rate"),
        _c("closure_rate", _("Closure rate"), "rate"), _c("reported", _("Reported")), _c("accepted", _("Accepted")),
        _c("due", _("Due")), _c("closed", _("Due and closed")), _c("closed_on_time", _("Due and closed on time")),
        _c("overdue", _("Went overdue")), _c("satisfaction_rate", _("Satisfaction rate"), "rate"),
    ], ranked)


def category_table(area: Area, start: date, end: date) -> Table:
    """Category families 大类, most reported first, with their share of all reports."""
    rows = kpis.kpis(area, start, end, by="family")["rows"]
    total = sum(row["counts"]["reported"] for row in rows)
    families = [{
        "code": row["key"], "name": row["label"], "reported": row["counts"]["reported"],
        "share": round(row["counts"]["reported"] / total, 4) if total else None,
        "accepted": row["counts"]["accepted"], "due": row["counts"]["due"] - row["counts"]["due_suspended"],
        "closed_on_time": row["counts"]["due_closed_on_time"], "on_time_rate": row["rates"]["on_time_rate"],
        "overdue": row["counts"]["overdue"],
    } for row in rows]
    families.sort(key=lambda r: (-r["reported"], r["code"]))
    return Table("categories", _("Cases by category"), [
        _c("code", _("Code"), "text"), _c("name", _("Category"), "text"), _c("reported", _("Reported")),
        _c("share", _("Share of reports"), "rate"), _c("accepted", _("Accepted")), _c("due", _("Due")),
        _c("closed_on_time", _("Due and closed on time")), _c("on_time_rate", _("On-time closure rate"), "rate"),
        _c("overdue", _("Went overdue")),
    ], families)


def department_table(area: Area, start: date, end: date) -> Table:
    rows = [{
        "rank": rank, "name": row["department"]["name"], "area": row["department"]["area"],
        **{key: row[key] for key in ("dispatched", "returned", "dispatch_accuracy", "due", "closed_on_time",
                                     "on_time_rate", "reworked", "rework_rate", "satisfaction_rate", "supervised",
                                     "overdue", "avg_handle_hours")},
        "light": on_time_light(row["on_time_rate"]),
    } for rank, row in enumerate(kpis.department_league(area, start, end), 1)]
    return Table("departments", _("Department league table"), [
        _c("rank", _("Rank")), _c("name", _("Department"), "text"), _c("area", _("Serves"), "text"),
        _c("light", _("Light"), "light"), _c("on_time_rate", _("On-time closure rate"), "rate"),
        _c("due", _("Due")), _c("closed_on_time", _("Due and closed on time")), _c("dispatched", _("Dispatches")),
        _c("returned", _("Dispatched and returned")), _c("dispatch_accuracy", _("Dispatch accuracy"), "rate"),
        _c("reworked", _("Handled and reworked")), _c("rework_rate", _("Rework rate"), "rate"),
        _c("satisfaction_rate", _("Satisfaction rate"), "rate"), _c("supervised", _("Supervisions")),
        _c("overdue", _("Went overdue")), _c("avg_handle_hours", _("Average handling (working hours)"), "hours"),
    ], rows)


def trend_table(area: Area, start: date, end: date, period: str) -> Table:
    rows = [{
        "period": row["label"], "reported": row["counts"]["reported"], "accepted": row["counts"]["accepted"],
        "due": row["counts"]["due"] - row["counts"]["due_suspended"], "closed": row["counts"]["due_closed"],
        "closed_on_time": row["counts"]["due_closed_on_time"],
        "overdue": row["counts"]["overdue"], "on_time_rate": row["rates"]["on_time_rate"],
    } for row in kpis.trend(area, start, end, period=period)]
    label = {"day": _("Day"), "week": _("Week from"), "month": _("Month")}[period]
    return Table("trend", _("Trend"), [
        _c("period", label, "text"), _c("reported", _("Reported")), _c("accepted", _("Accepted")),
        _c("due", _("Due")), _c("closed", _("Due and closed")), _c("closed_on_time", _("Due and closed on time")),
        _c("overdue", _("Went overdue")),
        _c("on_time_rate", _("On-time closure rate"), "rate"),
    ], rows)


def overdue_table(area: Area, user=None, limit: int = OVERDUE_LIMIT, now: datetime | None = None) -> Table:
    """Open cases past their deadline now (not in the period: overdue is a state, not an event)."""
    statuses = dict(Case._meta.get_field("status").choices)
    supervision = dict(Case._meta.get_field("supervision").choices)
    rows = [{
        "id": row["id"], "number": row["number"], "category": row["category"], "grid": row["grid"],
        "status": str(statuses.get(row["status"], row["status"])), "due_at": row["due_at"],
        "overdue_hours": row["overdue_hours"],
        "supervision": str(supervision.get(row["supervision"], "")) if row["supervision"] else "",
    } for row in kpis.top_overdue(area, user=user, limit=limit, now=now)]
    return Table("overdue", _("Longest overdue open cases"), [
        _c("number", _("Number"), "text"), _c("category", _("Category"), "text"), _c("grid", _("Grid"), "text"),
        _c("status", _("Status"), "text"), _c("due_at", _("Deadline"), "datetime"),
        _c("overdue_hours", _("Hours overdue"), "hours"), _c("supervision", _("Supervision"), "text"),
    ], rows)


# --- KPI tiles ----------------------------------------------------------------------------------

# (name, label, kind, which way is better: "up", "down" or None for a plain count)
TILES = (
    ("reported", gettext_lazy("Reported"), "count", None),  # 上报
    ("accepted", gettext_lazy("Accepted"), "count", None),  # 立案
    ("closed", gettext_lazy("Closed"), "count", "up"),  # 结案
    ("acceptance_rate", gettext_lazy("Acceptance rate"), "rate", None),  # 立案率
    ("closure_rate", gettext_lazy("Closure rate"), "rate", "up"),  # 结案率
    ("on_time_rate", gettext_lazy("On-time closure rate"), "rate", "up"),  # 按期结案率
    ("rework_rate", gettext_lazy("Rework rate"), "rate", "down"),  # 返工率
    ("dispatch_accuracy", gettext_lazy("Dispatch accuracy"), "rate", "up"),  # 准确派遣率
    ("self_resolution_rate", gettext_lazy("Self-resolution rate"), "rate", "up"),  # 自处置率
    ("satisfaction_rate", gettext_lazy("Satisfaction rate"), "rate", "up"),  # 满意率
    ("avg_handle_hours", gettext_lazy("Average handling time"), "hours", "down"),  # 平均处置时长
)


def fmt_value(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "hours":
        return _("%(hours)s h") % {"hours": f"{value:.1f}"}
    if kind == "datetime":
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def tiles(change: dict[str, Any]) -> list[dict[str, Any]]:
    """KPI tiles from ``kpis.change_from_previous``: value, previous value, arrow and tone."""
    result = []
    for name, label, kind, better in TILES:
        figure = change["counts"][name] if kind == "count" else change["rates"][name]
        delta = figure["delta"]
        if delta is None:
            change_text, arrow = "", ""
        else:
            arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
            if kind == "count":
                ratio = figure["ratio"]
                change_text = f"{abs(ratio) * 100:.0f}%" if ratio is not None else f"{abs(delta)}"
            elif kind == "rate":
                change_text = _("%(points)s pts") % {"points": f"{abs(delta) * 100:.1f}"}
            else:
                change_text = _("%(hours)s h") % {"hours": f"{abs(delta):.1f}"}
            if delta == 0:
                change_text = ""
        if delta is None or delta == 0 or better is None:
            tone = "neutral"
        else:
            tone = "good" if (delta > 0) == (better == "up") else "bad"
        result.append({
            "name": name, "label": str(label), "kind": kind, "value": figure["current"],
            "display": fmt_value(figure["current"], kind), "previous": fmt_value(figure["previous"], kind),
            "arrow": arrow, "change": change_text, "tone": tone,
        })
    return result


def kpi_table(change: dict[str, Any]) -> Table:
    rows = []
    for tile in tiles(change):
        figure = (change["counts"] if tile["kind"] == "count" else change["rates"])[tile["name"]]
        rows.append({"key": tile["name"], "name": tile["label"], "current": figure["current"],
                     "previous": figure["previous"], "delta": figure["delta"], "kind": tile["kind"]})
    return Table("kpis", _("Key figures"), [
        _c("name", _("Indicator"), "text"), _c("current", _("This period"), "mixed"),
        _c("previous", _("Previous period"), "mixed"),
    ], rows)


# --- the map ------------------------------------------------------------------------------------


class SimplifyPreserveTopology(GeomOutputGeoFunc):
    """PostGIS ST_SimplifyPreserveTopology: fewer vertices, no self-intersections."""

    function = "ST_SimplifyPreserveTopology"


MAP_MAX_CELLS = 1500  # grids drawn under the child areas; a bigger subtree shows its child areas only


def _simplified(areas, tolerance: float):
    geometry = SimplifyPreserveTopology("boundary", Value(tolerance, output_field=FloatField()))
    return areas.annotate(geojson=AsGeoJSON(geometry, precision=5)).values_list("code", "name", "geojson")


def grid_reports(area: Area, start: date, end: date) -> dict[str, int]:
    """Cases reported per grid of ``area``'s subtree: the grids' own counter rows (grids × days or months)."""
    start, end = kpis.counted_period(start, end)
    months = kpis.reaches_months(start)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.code, sum(t.reported) FROM {kpis.counter_rows(False, months)} "
            "JOIN grids_area g ON g.id = t.area_id WHERE g.path LIKE %s AND g.level = %s AND NOT t.legacy "
            "GROUP BY g.code",
            [*kpis.counter_rows_params(start, end, months), like_prefix(area.path), Level.GRID],
        )
        return dict(cursor.fetchall())


def map_features(area: Area, start: date, end: date, ranking: Table | None = None) -> dict[str, Any]:
    """For the choropleth: the child areas' boundaries (simplified to about 1/800 of the area's width)
    with their figures, and under ``"cells"`` the subtree's grids with the cases reported in each
    (when there are at most ``MAP_MAX_CELLS`` of them and the children are not grids already).

    A grid has no children: its own boundary comes back.
    """
    extent = Area.objects.filter(pk=area.pk).aggregate(extent=Extent("boundary"))["extent"]
    tolerance = max(extent[2] - extent[0], extent[3] - extent[1]) / 800 if extent else 0.0001
    if area.is_grid:
        totals = kpis.kpis(area, start, end)
        figures = {area.code: {"reported": totals["counts"]["reported"], "closed": totals["counts"]["due_closed"],
                               "on_time_rate": totals["rates"]["on_time_rate"],
                               "light": on_time_light(totals["rates"]["on_time_rate"])}}
        children = Area.objects.filter(pk=area.pk)
    else:
        figures = {row["code"]: row for row in (ranking or ranking_table(area, start, end)).rows}
        children = Area.objects.filter(parent=area)
    features = []
    for code, name, geojson in _simplified(children, tolerance):
        if not geojson:
            continue
        row = figures.get(code, {})
        features.append({
            "type": "Feature", "geometry": json.loads(geojson),
            "properties": {"code": code, "name": name, "reported": row.get("reported", 0),
                           "closed": row.get("closed", 0), "on_time_rate": row.get("on_time_rate"),
                           "light": row.get("light", ""), "drill": not area.is_grid},
        })
    result: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    grids = Area.objects.within(area).grids()
    if area.level < Level.COMMUNITY and grids.count() <= MAP_MAX_CELLS:
        reported = grid_reports(area, start, end)
        result["cells"] = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": json.loads(geojson),
             "properties": {"code": code, "name": name, "reported": reported.get(code, 0)}}
            for code, name, geojson in _simplified(grids, tolerance) if geojson
        ]}
    return result


# --- everything the dashboard shows ---------------------------------------------------------------


def trend_chart(trend: Table) -> dict[str, Any]:
    """What the charts draw (labels translated here, so dashboard.js holds no words)."""
    return {
        "labels": [row["period"] for row in trend.rows],
        "series": [
            {"name": _("Reported"), "type": "bar", "data": [row["reported"] for row in trend.rows]},
            {"name": _("Accepted"), "type": "bar", "data": [row["accepted"] for row in trend.rows]},
            {"name": _("Due and closed"), "type": "line", "data": [row["closed"] for row in trend.rows]},
            {"name": _("Due and closed on time"), "type": "line",
             "data": [row["closed_on_time"] for row in trend.rows]},
        ],
    }


def categories_chart(categories: Table) -> dict[str, Any]:
    return {
        "name": _("Reported"),
        "data": [{"name": row["name"], "value": row["reported"]} for row in categories.rows if row["reported"]],
    }


def ranking_chart(ranking: Table | None) -> dict[str, Any]:
    return {
        "name": _("On-time closure rate"),
        "data": [{"name": row["name"], "value": None if row["on_time_rate"] is None
                  else round(row["on_time_rate"] * 100, 1), "light": row["light"]}
                 for row in (ranking.rows if ranking else [])],
        "green": ON_TIME_GREEN * 100, "yellow": ON_TIME_YELLOW * 100,
    }


def dispute_figures(area: Area, start: date, end: date) -> dict[str, Any]:
    """Disputes (cases.dispute_selectors): screening coverage and the resolution rate, by type and level."""
    from cases.dispute_selectors import area_figures

    return area_figures(area, start, end)


def party_figures(user, area: Area) -> dict[str, Any]:
    """The party-building network (两网融合) of the area now (parties.party_figures), the total row."""
    from parties.party_figures import COMPOUND_MEMBERS
    from parties.party_figures import party_figures as figures

    return {**figures(user, area)["total"], "compound_members": COMPOUND_MEMBERS}


def dashboard(user, area: Area, period: Period, *, overdue_limit: int = OVERDUE_LIMIT) -> dict[str, Any]:
    """Everything the dashboard (and the big screen) shows for ``area`` over ``period``."""
    start, end = period.start, period.end
    change = kpis.change_from_previous(area, start, end)
    ranking = ranking_table(area, start, end) if not area.is_grid else None
    categories = category_table(area, start, end)
    trend = trend_table(area, start, end, period.trend)
    return {
        "area": area, "period": period, "change": change, "tiles": tiles(change),
        "previous": change["previous"],
        "ranking": ranking, "categories": categories, "trend": trend,
        "departments": department_table(area, start, end),
        "overdue": overdue_table(area, user, limit=overdue_limit),
        "disputes": dispute_figures(area, start, end),
        "party": party_figures(user, area),
        "charts": {"trend": trend_chart(trend), "categories": categories_chart(categories),
                   "ranking": ranking_chart(ranking)},
        "thresholds": {"green": ON_TIME_GREEN, "yellow": ON_TIME_YELLOW},
    }


TABLES: dict[str, Callable[..., Table]] = {
    "ranking": lambda user, area, period: ranking_table(area, period.start, period.end),
    "categories": lambda user, area, period: category_table(area, period.start, period.end),
    "departments": lambda user, area, period: department_table(area, period.start, period.end),
    "trend": lambda user, area, period: trend_table(area, period.start, period.end, period.trend),
    "overdue": lambda user, area, period: overdue_table(area, user),
    "kpis": lambda user, area, period: kpi_table(kpis.change_from_previous(area, period.start, period.end)),
}
