"""The sweep progress board: for one task, one round and one area, the counts of targets done, late,
not yet reported and silent, per child area (city → district → town → community → grid), and per
grid the state of each target.

One aggregate statement per board over counters, not targets: the task's grids under the area (an
index range on ``(task, area_path)`` of SweepGrid, each with its number of targets) left-joined to
their counts for the round (SweepGridRound, added to by every report in its transaction), rolled up
to the child areas by the grid's path. Its cost follows the number of grids under the area (5,069
for all of Foshan), not the number of houses: the first version joined 100,000 targets to their
reports and took ~250 ms at city level on a busy 2-core machine (bench/sweep_tasks.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection

from cases.sweeps import SweepTarget, SweepTask, TargetState
from govgrid import clock
from grids.models import Area


@dataclass
class Counts:
    total: int = 0
    done: int = 0
    late: int = 0
    zero: int = 0
    findings: int = 0
    grids: int = 0
    grids_done: int = 0
    grids_silent: int = 0  # grids that reported nothing at all this round
    pending: int = 0  # not reported: "not yet" before the deadline, "silent" after it
    overdue: bool = False

    @property
    def reported(self) -> int:
        return self.done + self.late

    @property
    def waiting(self) -> int:
        return 0 if self.overdue else self.pending

    @property
    def silent(self) -> int:
        return self.pending if self.overdue else 0

    @property
    def share(self) -> int:
        return round(100 * self.reported / self.total) if self.total else 0

    @property
    def state(self) -> str:
        if self.total and self.reported == self.total:
            return TargetState.LATE if self.late else TargetState.DONE
        return TargetState.SILENT if self.overdue else TargetState.WAITING


@dataclass
class Row:
    area: Area | None
    path: str
    counts: Counts


@dataclass
class Board:
    task: SweepTask
    area: Area
    round_date: date
    deadline: datetime
    overdue: bool
    total: Counts
    rows: list[Row] = field(default_factory=list)


def _like(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# Per grid (at most a few thousand rows), then per child: the segment of the grid's path below the root.
_BOARD_SQL = """
WITH per_grid AS (
    SELECT g.grid_id, g.area_path, g.targets AS total, coalesce(r.done, 0) AS done, coalesce(r.late, 0) AS late,
           coalesce(r.zero, 0) AS zero, coalesce(r.findings, 0) AS findings
    FROM cases_sweepgrid g
    LEFT JOIN cases_sweepgridround r ON r.sweep_grid_id = g.id AND r.round_date = %(round)s
    WHERE g.task_id = %(task)s AND g.area_path LIKE %(prefix)s
)
SELECT split_part(g.area_path, '/', %(depth)s) AS child,
       sum(g.total)::int, sum(g.done)::int, sum(g.late)::int, sum(g.zero)::int, sum(g.findings)::int,
       count(*)::int,
       count(*) FILTER (WHERE g.done + g.late = g.total)::int,
       count(*) FILTER (WHERE g.done + g.late = 0)::int
FROM per_grid g
GROUP BY 1
ORDER BY 1
"""


def board(task: SweepTask, area: Area, *, round_date: date | None = None, at: datetime | None = None,
          scope_paths: tuple[str, ...] | None = None) -> Board:
    """The board of ``task`` under ``area`` (which the caller has found in the user's scope and under
    or above the task's area), one row per child area, for ``round_date`` (default: the current)."""
    at = at or clock.now()
    round_date = round_date or task.round_for(at)
    deadline = task.deadline_of(round_date)
    overdue = at > deadline
    # The deeper of the two: a town's board of a city task shows only the town's part.
    root = area.path if area.path.startswith(task.area_path) else task.area_path
    # The child's code is the path's segment after the root's (split_part counts from 1).
    depth = root.count("/") + 1
    with connection.cursor() as cursor:
        cursor.execute(_BOARD_SQL, {"round": round_date, "task": task.pk, "prefix": _like(root), "depth": depth})
        found = cursor.fetchall()
    total = Counts(overdue=overdue)
    rows: list[Row] = []
    for child, *numbers in found:
        counts = Counts(*numbers, overdue=overdue)
        counts.pending = counts.total - counts.done - counts.late
        for name in ("total", "done", "late", "zero", "findings", "grids", "grids_done", "grids_silent", "pending"):
            setattr(total, name, getattr(total, name) + getattr(counts, name))
        rows.append(Row(area=None, path=f"{root}{child}/" if child else root, counts=counts))
    areas = {a.path: a for a in Area.objects.filter(path__in=[row.path for row in rows]).only(
        "id", "name", "code", "level", "path")}
    for row in rows:
        row.area = areas.get(row.path)
    rows.sort(key=lambda row: (-row.counts.pending, row.path))
    return Board(task=task, area=area, round_date=round_date, deadline=deadline, overdue=overdue, total=total,
                 rows=rows)


@dataclass
class TargetRow:
    target: SweepTarget
    state: str
    report: object | None


def grid_targets(task: SweepTask, grid: Area, *, round_date: date | None = None,
                 at: datetime | None = None) -> list[TargetRow]:
    """Each target of the task in ``grid`` with its state in the round, and its report if any."""
    from cases.sweeps import SweepReport

    at = at or clock.now()
    round_date = round_date or task.round_for(at)
    overdue = at > task.deadline_of(round_date)
    reports = {r.target_id: r for r in SweepReport.objects.filter(
        task=task, round_date=round_date, target__grid=grid).select_related("worker", "case")}
    rows = []
    for target in task.targets.filter(grid=grid).order_by("label", "id"):
        report = reports.get(target.pk)
        if report is not None:
            state = TargetState.LATE if report.is_late else TargetState.DONE
        else:
            state = TargetState.SILENT if overdue else TargetState.WAITING
        rows.append(TargetRow(target=target, state=state, report=report))
    return rows


_TOTALS_SQL = """
SELECT coalesce(sum(g.targets), 0)::int, coalesce(sum(r.done), 0)::int, coalesce(sum(r.late), 0)::int
FROM cases_sweepgrid g
LEFT JOIN cases_sweepgridround r ON r.sweep_grid_id = g.id AND r.round_date = %(round)s
WHERE g.task_id = %(task)s AND g.area_path LIKE %(prefix)s
"""


def live_figures(task: SweepTask, round_date: date | None = None, *, under: str | None = None) -> dict:
    """The task's figures for a round under ``under`` (default: the whole task), as the live channel
    sends them (govgrid.live, kind ``sweep_progress``): one aggregate over the task's grid counters."""
    round_date = round_date or task.round_for(clock.now())
    root = under if under and under.startswith(task.area_path) else task.area_path
    with connection.cursor() as cursor:
        cursor.execute(_TOTALS_SQL, {"round": round_date, "task": task.pk, "prefix": _like(root)})
        total, done, late = cursor.fetchone()
    return {"id": task.pk, "title": task.title[:80], "done": done, "late": late, "total": total,
            "round": round_date.isoformat()}
