"""Unit evaluation 三考合一 (issue #15): one score per unit and period, from case handling, the work score,
plan progress and campaign results, weighted (``EvaluationSettings``), less the negative list.

A unit is a department (grids.Department) or a centre (grids.Centre). The units of an area are the
departments serving the area or an area inside it and the centres of the area and inside it. Each
component is a value from 0 to 100:

- **case handling** 案件办理: the on-time closure rate 按期结案率 × 100 of the unit's cases whose handling
  deadline falls in the period (kpis' ``on_time_rate``): a department's are the cases dispatched to it as
  lead (counted on the evaluated area's rows), a centre's are the cases of its area.
- **work score** 工作评分: the department score of ``reports.scoring`` (on-time rate, dispatch accuracy,
  work right first time, satisfaction, weighted by ScoringSettings, less points per supervision) over
  the period. A centre gets the same formula over its area's counts: its cases' deadlines kept, its
  dispatches not returned, no rework, satisfied callers, supervisions received.
- **plan progress** 计划进度: the mean, over the plan tasks the unit leads in plans of the area that ran
  in the period and had begun before the as-of day, of min(100, percent done ÷ percent of the task's time
  gone by the as-of day × 100) (``plans.lights.expected_percent``): a task on schedule or ahead scores
  100, one at half the expected progress 50. Progress is the task's latest (plans keep no dated copy).
- **campaign results** 创建成效: the share (percent) of the entries of the campaigns the unit leads on the
  area (or inside it) that hold a certification valid on the as-of day
  (``plans.campaign_figures.unit_campaign_rates``).

The as-of day is the period's last day, or today if the period has not ended.

A component that does not apply to a unit (nothing due, no case activity, no task led, no campaign
entry) leaves the score: the weights of the components that apply are scaled up to 100, so a unit is
scored on what it had to do. A unit to which no component applies has no score (and no rank).

Negative-list events 负面清单 (``plans.NegativeEvent``) dated in the period against the unit take their
points off the weighted total; the score never falls below 0.

Everything is read in a fixed number of queries, whatever the number of units.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from govgrid import clock
from grids.models import Area, Centre, Department
from plans.campaign_figures import unit_campaign_rates
from plans.lights import expected_percent
from plans.models import NegativeEvent, PlanTask
from reports import kpis
from reports.models import EvaluationSettings, ScoringSettings
from reports.scoring import work_score

COMPONENTS: tuple[tuple[str, str, Any], ...] = (
    # name, the weight's field, label
    ("cases", "weight_cases", _("Case handling")),
    ("work", "weight_work", _("Work score")),
    ("plans", "weight_plans", _("Plan progress")),
    ("campaigns", "weight_campaigns", _("Campaign results")),
)
COMPONENT_LABELS = {name: label for name, _field, label in COMPONENTS}
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
# Counts that show a unit had case work to be scored on in the period (the work score applies).
ACTIVITY = ("dispatched", "due", "handled", "surveyed", "supervised")


def q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_key(kind: str, pk: int) -> str:
    """``department:<id>`` or ``centre:<id>``, as ``plans.access.unit_key_of``."""
    return f"{kind}:{pk}"


def as_of_day(end: date) -> date:
    return min(end, timezone.localdate(clock.now()))


def units(area: Area) -> tuple[list[Department], list[Centre]]:
    """The departments serving ``area`` or an area inside it, and the centres of its subtree."""
    departments = list(Department.objects.filter(area__path__startswith=area.path, is_active=True)
                       .select_related("area").order_by("area__path", "name", "pk"))
    centres = list(Centre.objects.filter(area__path__startswith=area.path).select_related("area")
                   .order_by("area__path", "pk"))
    return departments, centres


def _department_counts(area: Area, start: date, end: date, ids: list[int]) -> dict[int, dict[str, int]]:
    if not ids:
        return {}
    return dict(kpis._sums(True, "t.department_id", "t.area_id = %s AND NOT t.legacy AND t.department_id = ANY(%s)",
                           [area.pk, ids], *kpis.counted_period(start, end)))


def _area_counts(start: date, end: date, area_ids: list[int]) -> dict[int, dict[str, int]]:
    if not area_ids:
        return {}
    return dict(kpis._sums(False, "t.area_id", "t.area_id = ANY(%s) AND NOT t.legacy", [area_ids],
                           *kpis.counted_period(start, end)))


def _plan_progress(area: Area, start: date, as_of: date, department_ids: list[int],
                   centre_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Per unit key, its led tasks of the area's plans that ran in the period, each with its ratio."""
    tasks = (
        PlanTask.objects.filter(area_path__startswith=area.path, starts_on__lt=as_of, deadline__gte=start)
        .filter(Q(lead_department_id__in=department_ids) | Q(lead_centre_id__in=centre_ids))
        .order_by("deadline", "pk")
        .values("pk", "title", "lead_department_id", "lead_centre_id", "starts_on", "deadline", "percent_done")
    )
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in tasks:
        expected = expected_percent(task["starts_on"], task["deadline"], as_of)
        if expected <= 0:
            continue
        ratio = min(HUNDRED, task["percent_done"] * HUNDRED / expected)
        key = (unit_key("department", task["lead_department_id"]) if task["lead_department_id"]
               else unit_key("centre", task["lead_centre_id"]))
        found[key].append({"id": task["pk"], "title": task["title"], "percent_done": task["percent_done"],
                           "expected": expected, "ratio": q2(ratio)})
    return found


def _negative(start: date, end: date, department_ids: list[int], centre_ids: list[int]) -> dict[str, dict]:
    rows = (
        NegativeEvent.objects.filter(date__gte=start, date__lte=end)
        .filter(Q(department_id__in=department_ids) | Q(centre_id__in=centre_ids))
        .values("department_id", "centre_id").annotate(points=Sum("points"), events=Count("pk"))
    )
    found: dict[str, dict] = {}
    for row in rows:
        key = (unit_key("department", row["department_id"]) if row["department_id"]
               else unit_key("centre", row["centre_id"]))
        mine = found.setdefault(key, {"points": Decimal(0), "events": 0})
        mine["points"] += row["points"]
        mine["events"] += row["events"]
    return found


def _case_detail(counts: dict[str, int]) -> tuple[Decimal | None, dict[str, Any], dict[str, Any] | None]:
    """(case handling value, its detail, the work score's league row or None when the unit had no case work)."""
    rates = kpis.rates(counts)
    due = counts["due"] - counts["due_suspended"]
    detail = {"due": due, "closed": counts["due_closed"], "closed_on_time": counts["due_closed_on_time"],
              "on_time_rate": rates["on_time_rate"], "closure_rate": rates["closure_rate"]}
    value = None if rates["on_time_rate"] is None else q2(Decimal(str(rates["on_time_rate"])) * HUNDRED)
    league = None
    if any(counts[name] for name in ACTIVITY):
        league = {"on_time_rate": rates["on_time_rate"], "dispatch_accuracy": rates["dispatch_accuracy"],
                  "rework_rate": rates["rework_rate"], "satisfaction_rate": rates["satisfaction_rate"],
                  "supervised": counts["supervised"]}
    return value, detail, league


def score_unit(values: dict[str, Decimal | None], weights: dict[str, Decimal],
               deduction: Decimal) -> tuple[list[dict[str, Any]], Decimal | None, Decimal | None]:
    """(components, weighted total, score): the weights of the components that apply scaled to 100."""
    applied = sum((weights[name] for name, value in values.items() if value is not None and weights[name] > 0),
                  Decimal(0))
    components = []
    weighted = Decimal(0)
    for name, _field, label in COMPONENTS:
        value, weight = values.get(name), weights[name]
        share = points = None
        if value is not None and weight > 0 and applied > 0:
            share = weight * HUNDRED / applied
            exact = value * weight / applied
            weighted += exact
            points = q2(exact)
            share = q2(share)
        components.append({"name": name, "label": str(label), "value": value, "weight": weight,
                           "applied_weight": share, "points": points})
    if applied == 0:
        return components, None, None
    return components, q2(weighted), q2(max(Decimal(0), weighted - deduction))


def evaluate(area: Area, start: date, end: date, *, settings: EvaluationSettings | None = None) -> list[dict]:
    """One row per unit of ``area`` (departments first, then centres, in area order), ranked by score.

    Each row: ``unit`` (key, kind, id, name, area), ``components`` (name, label, value 0–100 or None,
    weight, applied_weight, points, detail), ``weighted`` (before deductions), ``deduction`` and
    ``negative_events``, ``score`` (Decimal, 2 places, or None) and ``rank`` (ties share a rank).
    """
    kpis._check_period(start, end)
    settings = settings or EvaluationSettings.current()
    scoring_settings = ScoringSettings.current()
    weights = {name: Decimal(getattr(settings, field)) for name, field, _label in COMPONENTS}
    as_of = as_of_day(end)
    departments, centres = units(area)
    department_ids = [d.pk for d in departments]
    centre_ids = [c.pk for c in centres]
    by_department = _department_counts(area, start, end, department_ids)
    by_area = _area_counts(start, end, [c.area_id for c in centres])
    plans = _plan_progress(area, start, as_of, department_ids, centre_ids)
    campaigns = unit_campaign_rates(area, on=as_of)
    negative = _negative(start, end, department_ids, centre_ids)

    rows = []
    for kind, unit, counts in (
        *(("department", d, by_department.get(d.pk) or kpis.empty_counts()) for d in departments),
        *(("centre", c, by_area.get(c.area_id) or kpis.empty_counts()) for c in centres),
    ):
        key = unit_key(kind, unit.pk)
        case_value, case_detail, league = _case_detail(counts)
        work = q2(work_score(league, scoring_settings)) if league is not None else None
        tasks = plans.get(key, [])
        plan_value = q2(sum((t["ratio"] for t in tasks), Decimal(0)) / len(tasks)) if tasks else None
        campaign_value = q2(campaigns[key]) if key in campaigns else None
        deduction = negative.get(key, {}).get("points", Decimal(0))
        components, weighted, score = score_unit(
            {"cases": case_value, "work": work, "plans": plan_value, "campaigns": campaign_value}, weights, deduction
        )
        details = {"cases": case_detail, "work": league or {}, "plans": {"tasks": tasks},
                   "campaigns": {"rate": campaign_value}}
        for component in components:
            component["detail"] = details[component["name"]]
        rows.append({
            "unit": {"key": key, "kind": kind, "id": unit.pk,
                     "name": unit.display_name if kind == "department" else unit.name, "area": unit.area.name},
            "components": components, "weighted": weighted, "deduction": q2(deduction),
            "negative_events": negative.get(key, {}).get("events", 0), "score": score, "rank": None,
        })
    rows.sort(key=lambda row: (row["score"] is None, -(row["score"] or 0)))
    previous, rank = None, 0
    for position, row in enumerate(rows, 1):
        if row["score"] is None:
            continue
        if row["score"] != previous:
            rank, previous = position, row["score"]
        row["rank"] = rank
    return rows


def evaluation_report(area: Area, start: date, end: date) -> dict[str, Any]:
    """What the page, the export and the API show: the period, the weights and the rows."""
    settings = EvaluationSettings.current()
    return {
        "area": kpis.area_info(area), "start": start, "end": end, "as_of": as_of_day(end),
        "weights": [{"name": name, "label": str(label), "weight": Decimal(getattr(settings, field))}
                    for name, field, label in COMPONENTS],
        "rows": evaluate(area, start, end, settings=settings),
    }
