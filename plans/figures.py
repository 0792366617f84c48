"""Figures of work plans: indicators met per plan, tasks by light per unit, and the board (挂图作战:
tasks by unit and by month with their lights).

Lights depend on today, so they are computed here from a few columns of each task (one query);
counts come from one aggregate query each.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from govgrid import clock
from plans.choices import Light
from plans.lights import light_for
from plans.models import Indicator, PlanTask, WorkPlan

TASK_COLUMNS = ("pk", "plan_id", "title", "starts_on", "deadline", "percent_done", "lead_department_id",
                "lead_department__name", "lead_department__name_en", "lead_centre_id", "lead_centre__name")


def today() -> date:
    return timezone.localdate(clock.now())


def indicators_met(plans: QuerySet[WorkPlan]) -> dict[int, tuple[int, int]]:
    """Per plan id: (indicators met, indicators), in one query."""
    rows = (Indicator.objects.filter(task__plan__in=plans).values("task__plan_id")
            .annotate(total=Count("pk"), met=Count("pk", filter=Q(actual__gte=F("target")))))
    return {row["task__plan_id"]: (row["met"], row["total"]) for row in rows}


def task_light(task: PlanTask, on: date | None = None) -> str:
    return light_for(starts_on=task.starts_on, deadline=task.deadline, percent=task.percent_done,
                     today=on or today())


@dataclass
class BoardRow:
    unit_key: str
    unit_name: str
    lights: dict[str, int] = field(default_factory=lambda: {light: 0 for light in Light.values})
    months: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Board:
    months: list[str]
    rows: list[BoardRow]
    totals: dict[str, int]


def _unit_of(row: dict) -> tuple[str, str]:
    if row["lead_department_id"]:
        from django.utils.translation import get_language

        english = (get_language() or "").startswith("en") and row["lead_department__name_en"]
        return f"department:{row['lead_department_id']}", english or row["lead_department__name"]
    return f"centre:{row['lead_centre_id']}", row["lead_centre__name"]


def board(tasks: QuerySet[PlanTask], on: date | None = None) -> Board:
    """Tasks by lead unit and by the month of their deadline, each with its light; one query."""
    on = on or today()
    rows: dict[str, BoardRow] = {}
    months: set[str] = set()
    totals = {light: 0 for light in Light.values}
    for task in tasks.order_by("deadline", "pk").values(*TASK_COLUMNS):
        key, name = _unit_of(task)
        light = light_for(starts_on=task["starts_on"], deadline=task["deadline"], percent=task["percent_done"],
                          today=on)
        row = rows.setdefault(key, BoardRow(key, name))
        month = f"{task['deadline']:%Y-%m}"
        months.add(month)
        row.lights[light] += 1
        row.months[month].append({"id": task["pk"], "title": task["title"], "light": light,
                                  "percent": task["percent_done"], "deadline": task["deadline"]})
        totals[light] += 1
    ordered = sorted(rows.values(), key=lambda r: r.unit_name)
    for row in ordered:
        row.months = dict(row.months)
    return Board(months=sorted(months), rows=ordered, totals=totals)
