"""Sweep tasks (排查任务): send one, close it, report on a target, send a grid's zero report (零报告).

Who may do which is cases.pipeline's (``check_sweep``, SWEEP_RULES); which task, target or area a
user may name at all is cases.access's (``access_sweep_*``: missing and out of scope alike are 404).
A finding becomes a case or a report-only record through the intake action (``report_case``) in the
same transaction as the report, so a report and its case are written together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import live as cases_live
from cases import pipeline
from cases.actions._base import check_files, now, require_text
from cases.actions.intake import report_case
from cases.announcements import announce
from cases.models import Category
from cases.sweeps import (
    MAX_LABEL,
    FindingKind,
    Recurrence,
    SweepPhoto,
    SweepReport,
    SweepStatus,
    SweepTarget,
    SweepTask,
    TargetKind,
    clean_answers,
    clean_schema,
)
from cases.uploads import prepare_upload
from govgrid.errors import ActionError, Conflict, NotFound
from grids.choices import GRID_ROLES, Level
from grids.models import Area, Centre
from parties.choices import HouseUse

MAX_DAILY_ROUNDS = 366
_FINDING_NAMESPACE = uuid.UUID("6f1f7a2e-2b1c-4b8e-9a52-5a0e3f1d7c11")


def _sending_centre(actor, area: Area) -> Centre:
    """The actor's own centre over ``area`` (the deepest, when they hold several); for an
    administrator, the nearest centre above the area."""
    from grids.scope import scope_for

    codes = area.path.rstrip("/").split("/")
    centres = Centre.objects.filter(area__code__in=codes).select_related("area").order_by("-level")
    scope = scope_for(actor)
    for centre in centres:
        if scope.is_admin or centre.area.path in scope.centre_paths:
            return centre
    raise ActionError(_("No centre covers this area."), field="area")


def _rounds(recurrence: str, deadline: datetime | None, starts_on: date | None, ends_on: date | None,
            due_time: time | None, at: datetime) -> tuple[date, date, time]:
    if recurrence == Recurrence.ONCE:
        if deadline is None:
            raise ActionError(_("Set the deadline."), field="deadline", code="required")
        if timezone.is_naive(deadline):
            deadline = timezone.make_aware(deadline)
        if deadline <= at:
            raise ActionError(_("The deadline must be in the future."), field="deadline")
        local = timezone.localtime(deadline)
        return local.date(), local.date(), local.time().replace(microsecond=0)
    if recurrence != Recurrence.DAILY:
        raise ActionError(_("Choose once or daily."), field="recurrence")
    if starts_on is None or ends_on is None or due_time is None:
        field = "starts_on" if starts_on is None else "ends_on" if ends_on is None else "due_time"
        raise ActionError(_("A daily task needs its first day, last day and the time of day it is due."),
                          field=field, code="required")
    today = timezone.localtime(at).date()
    if starts_on < today:
        raise ActionError(_("The first day cannot be in the past."), field="starts_on")
    if ends_on < starts_on:
        raise ActionError(_("The last day comes after the first."), field="ends_on")
    if (ends_on - starts_on).days >= MAX_DAILY_ROUNDS:
        raise ActionError(_("A daily task runs for at most a year."), field="ends_on")
    if timezone.make_aware(datetime.combine(ends_on, due_time)) <= at:
        raise ActionError(_("The last round's deadline has passed already."), field="due_time")
    return starts_on, ends_on, due_time


def _materialise_targets(task: SweepTask) -> int:
    """Write the task's targets with one INSERT … SELECT: a grid's, house's or building's grid and
    area path, and a label to show (100,000 rental houses in a second or two, no Python loop)."""
    prefix = task.area_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    house_filter, params = "", [task.pk, prefix]
    if task.target_rental:
        house_filter += " AND h.is_rental"
    if task.target_use:
        house_filter += " AND h.use = %s"
        params.append(task.target_use)
    if task.target_kind == TargetKind.GRID:
        sql = """
            INSERT INTO cases_sweeptarget (task_id, grid_id, area_path, label)
            SELECT %s, a.id, a.path, a.name || ' (' || a.code || ')'
            FROM grids_area a WHERE a.path LIKE %s AND a.level = %s"""
        params = [task.pk, prefix, int(Level.GRID)]
    elif task.target_kind == TargetKind.HOUSE:
        sql = f"""
            INSERT INTO cases_sweeptarget (task_id, grid_id, area_path, house_id, building_id, label)
            SELECT %s, h.grid_id, h.area_path, h.id, h.building_id,
                   left(b.address || ' ' || CASE WHEN h.unit <> '' THEN h.unit || '-' ELSE '' END || h.room, 300)
            FROM parties_house h JOIN parties_building b ON b.id = h.building_id
            WHERE h.area_path LIKE %s{house_filter}"""
    else:
        where = f" AND EXISTS (SELECT 1 FROM parties_house h WHERE h.building_id = b.id{house_filter})" \
            if house_filter else ""
        sql = f"""
            INSERT INTO cases_sweeptarget (task_id, grid_id, area_path, building_id, label)
            SELECT %s, b.grid_id, b.area_path, b.id, left(b.address, 300)
            FROM parties_building b WHERE b.area_path LIKE %s{where}"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@transaction.atomic
def create_sweep_task(
    *,
    actor,
    area: Area,
    title: str,
    fields: Sequence,
    target_kind: str,
    instructions: str = "",
    target_rental: bool = False,
    target_use: str = "",
    recurrence: str = Recurrence.ONCE,
    deadline: datetime | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    due_time: time | None = None,
    finding_category: Category | None = None,
) -> SweepTask:
    """Send a sweep task to every grid of ``area``'s subtree, or to every house or building of a kind
    there. The targets are written at once; a task that would reach nothing is refused."""
    pipeline.check_sweep("create_sweep", actor, area=area)
    title = require_text(title, "title", _("Give the task a title."))
    if len(title) > MAX_LABEL:
        raise ActionError(_("The title is longer than %(n)d characters.") % {"n": MAX_LABEL}, field="title")
    instructions = (instructions or "").strip()
    if len(instructions) > 5000:
        raise ActionError(_("The instructions are longer than 5000 characters."), field="instructions")
    schema = clean_schema(list(fields) if isinstance(fields, (list, tuple)) else fields)
    if target_kind not in TargetKind.values:
        raise ActionError(_("Choose what the task goes to: grids, houses or buildings."), field="target_kind")
    if target_use and target_use not in HouseUse.values:
        raise ActionError(_("Unknown house use."), field="target_use")
    if target_kind == TargetKind.GRID:
        target_rental, target_use = False, ""
    if finding_category is not None and (not finding_category.is_leaf or not finding_category.is_active):
        raise ActionError(_("Choose an active category (not a family)."), field="finding_category")
    at = now()
    first, last, due = _rounds(recurrence, deadline, starts_on, ends_on, due_time, at)
    task = SweepTask.objects.create(
        centre=_sending_centre(actor, area), area=area, area_path=area.path, title=title,
        instructions=instructions, fields=schema, target_kind=target_kind, target_rental=bool(target_rental),
        target_use=target_use or "", recurrence=recurrence, starts_on=first, ends_on=last, due_time=due,
        finding_category=finding_category, created_by=actor, created_at=at,
    )
    count = _materialise_targets(task)
    if not count:
        raise ActionError(_("Nothing in %(area)s matches: no grid, house or building would get this task.")
                          % {"area": area.name}, field="target_kind", code="no_targets")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO cases_sweepgrid (task_id, grid_id, area_path, targets)
            SELECT task_id, grid_id, min(area_path), count(*) FROM cases_sweeptarget WHERE task_id = %s
            GROUP BY task_id, grid_id
            """, [task.pk])
    task.target_count = count
    task.save(update_fields=["target_count"])
    # Everyone who walks a grid of the subtree is told once (in-app; e-mail/SMS when configured).
    announce(area, key=f"sweep:{task.pk}", message=gettext_lazy("New sweep task: %(title)s (%(place)s)"),
             params={"title": task.title[:80], "place": area.name},
             url=reverse("worker_sweeps:task", args=[task.pk]), roles=list(GRID_ROLES))
    cases_live.publish_sweep_progress(task)
    return task


@transaction.atomic
def close_sweep_task(*, actor, task: SweepTask) -> SweepTask:
    """Close the task: no more reports; the board keeps what was reported."""
    pipeline.check_sweep("close_sweep", actor, area=task.area)
    at = now()
    if not SweepTask.objects.filter(pk=task.pk, status=SweepStatus.OPEN).update(
            status=SweepStatus.CLOSED, closed_at=at, closed_by=actor):
        raise Conflict(_("The sweep task is closed already."), code="closed")
    task.refresh_from_db()
    return task


def _client_uuid(value) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ActionError(_("client_uuid is not a valid UUID."), field="client_uuid") from None


def _finding_point(target: SweepTarget, lon, lat) -> tuple[float, float]:
    if lon not in (None, "") and lat not in (None, ""):
        try:
            return float(lon), float(lat)
        except (TypeError, ValueError):
            raise ActionError(_("The location is not a pair of numbers."), field="location") from None
    place = None
    if target.building_id:
        from parties.models import Building

        place = Building.objects.filter(pk=target.building_id).values_list("point", flat=True).first()
    if place is None:
        place = Area.objects.filter(pk=target.grid_id).values_list("centroid", flat=True).first()
    if place is None:
        raise ActionError(_("Set the location of the finding."), field="location", code="required")
    return place.x, place.y


def report_sweep_target(
    *,
    actor,
    task: SweepTask,
    target: SweepTarget,
    answers: Mapping | None = None,
    photos: Mapping[str, Sequence] | None = None,
    note: str = "",
    finding: str = FindingKind.NONE,
    finding_description: str = "",
    finding_category: Category | None = None,
    lon=None,
    lat=None,
    client_uuid=None,
) -> tuple[SweepReport, bool]:
    """Report what was found at one target in the current round. Returns (report, created).

    A resend with the same ``client_uuid`` returns the first report (created=False), even when the
    task has closed since. A finding (``finding``: case or report_only) files a case through intake,
    at the target's building or the grid's centre unless a point is given.
    """
    client_uuid = _client_uuid(client_uuid)
    if client_uuid is not None:
        first = SweepReport.objects.filter(worker=actor, client_uuid=client_uuid).first()
        if first is not None:
            if first.target_id != target.pk:
                raise Conflict(_("This request id was used for another report."), field="client_uuid")
            return first, False
    if target.task_id != task.pk:
        raise NotFound(_("No such target of this sweep task."), field="target")
    pipeline.check_sweep("report_sweep", actor, grid_id=target.grid_id, task=task)
    photos = dict(photos or {})
    photo_keys = set(task.photo_keys)
    unknown = [key for key in photos if key not in photo_keys]
    if unknown:
        raise ActionError(_("No such photo field: %(key)s.") % {"key": str(unknown[0])[:20]}, field="photos")
    photos = {key: check_files(files, required=False, field=f"answers.{key}") for key, files in photos.items()}
    cleaned = clean_answers(task.fields, answers, {key for key, files in photos.items() if files})
    note = (note or "").strip()[:2000]
    if finding not in FindingKind.values:
        raise ActionError(_("Unknown kind of finding."), field="finding")
    at = now()
    round_date = task.round_for(at)
    if SweepReport.objects.filter(target=target, round_date=round_date).exists():
        raise Conflict(_("%(target)s is already reported for %(round)s.")
                       % {"target": target.label, "round": round_date.isoformat()}, code="already_reported")
    try:
        with transaction.atomic():
            case = None
            if finding:
                category = finding_category or task.finding_category
                if category is None:
                    raise ActionError(_("Choose the kind of problem found."), field="finding_category",
                                      code="required")
                description = require_text(finding_description or note, "finding_description",
                                           _("Describe what was found."))
                x, y = _finding_point(target, lon, lat)
                case, _created = report_case(
                    reporter=actor, category=category, lon=x, lat=y,
                    description=f"【{task.title}】{description}", address=target.label[:200],
                    client_uuid=uuid.uuid5(_FINDING_NAMESPACE, str(client_uuid)) if client_uuid else None,
                    report_only=finding == FindingKind.REPORT_ONLY,
                )
            report = SweepReport.objects.create(
                task=task, target=target, round_date=round_date, worker=actor, reported_at=at,
                is_late=at > task.deadline_of(round_date), answers=cleaned, note=note, finding=finding,
                case=case, client_uuid=client_uuid,
            )
            _count(task, target.grid_id, round_date, reported=1, late=report.is_late, zero=False,
                   finding=bool(finding))
            for key, files in photos.items():
                for upload in files:
                    photo = prepare_upload(upload, field=f"answers.{key}")
                    SweepPhoto.objects.create(report=report, field_key=key, file=photo.file,
                                              content_type=photo.content_type, size=photo.file.size)
    except IntegrityError:
        # A resend raced the first request past the look-ups above; the constraints let one win.
        first = SweepReport.objects.filter(worker=actor, client_uuid=client_uuid).first() if client_uuid else None
        if first is not None:
            return first, False
        raise Conflict(_("%(target)s is already reported for %(round)s.")
                       % {"target": target.label, "round": round_date.isoformat()},
                       code="already_reported") from None
    return report, True


@transaction.atomic
def zero_report_grid(*, actor, task: SweepTask, grid: Area, note: str = "") -> int:
    """The grid's zero report (零报告) for the current round: every target of the task in the grid
    not yet reported this round is reported as checked with nothing found. Returns how many; a
    resend finds nothing left and writes nothing (0)."""
    if grid.level != Level.GRID or not task.targets.filter(grid=grid).exists():
        raise NotFound(_("No such grid in this sweep task."), field="grid")
    pipeline.check_sweep("zero_report_sweep", actor, grid_id=grid.pk, task=task)
    at = now()
    round_date = task.round_for(at)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO cases_sweepreport
                (task_id, target_id, round_date, worker_id, reported_at, is_late, is_zero, answers, note, finding)
            SELECT t.task_id, t.id, %s, %s, %s, %s, true, '{}'::jsonb, %s, ''
            FROM cases_sweeptarget t
            WHERE t.task_id = %s AND t.grid_id = %s
              AND NOT EXISTS (SELECT 1 FROM cases_sweepreport r WHERE r.target_id = t.id AND r.round_date = %s)
            ON CONFLICT DO NOTHING
            """,
            [round_date, actor.pk, at, at > task.deadline_of(round_date), (note or "").strip()[:2000],
             task.pk, grid.pk, round_date],
        )
        count = cursor.rowcount
    if count:
        _count(task, grid.pk, round_date, reported=count, late=at > task.deadline_of(round_date), zero=True,
               finding=False)
    return count


_COUNT_SQL = """
INSERT INTO cases_sweepgridround (sweep_grid_id, round_date, done, late, zero, findings)
SELECT g.id, %(round)s, %(done)s, %(late)s, %(zero)s, %(findings)s
FROM cases_sweepgrid g WHERE g.task_id = %(task)s AND g.grid_id = %(grid)s
ON CONFLICT (sweep_grid_id, round_date) DO UPDATE SET
    done = cases_sweepgridround.done + EXCLUDED.done, late = cases_sweepgridround.late + EXCLUDED.late,
    zero = cases_sweepgridround.zero + EXCLUDED.zero, findings = cases_sweepgridround.findings + EXCLUDED.findings
"""


def _count(task: SweepTask, grid_id: int, round_date: date, *, reported: int, late: bool, zero: bool,
           finding: bool) -> None:
    """Add reports to the grid's counters of the round, in the report's transaction (the board reads them)."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL, {
            "round": round_date, "task": task.pk, "grid": grid_id, "done": 0 if late else reported,
            "late": reported if late else 0, "zero": reported if zero else 0, "findings": reported if finding else 0,
        })
    cases_live.publish_sweep_progress(task, round_date)  # the command screens' progress, after commit


@transaction.atomic
def rebuild_sweep_counters(task: SweepTask) -> None:
    """The task's round counters recounted from its reports (a check, and for reports written in bulk)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_sweepgridround WHERE sweep_grid_id IN "
                       "(SELECT id FROM cases_sweepgrid WHERE task_id = %s)", [task.pk])
        cursor.execute(
            """
            INSERT INTO cases_sweepgridround (sweep_grid_id, round_date, done, late, zero, findings)
            SELECT g.id, r.round_date, count(*) FILTER (WHERE NOT r.is_late), count(*) FILTER (WHERE r.is_late),
                   count(*) FILTER (WHERE r.is_zero), count(*) FILTER (WHERE r.finding <> '')
            FROM cases_sweepreport r JOIN cases_sweeptarget t ON t.id = r.target_id
            JOIN cases_sweepgrid g ON g.task_id = t.task_id AND g.grid_id = t.grid_id
            WHERE r.task_id = %s
            GROUP BY g.id, r.round_date
            """, [task.pk])


def due_soon(at: datetime, before: timedelta) -> list[tuple[SweepTask, date]]:
    """Open tasks whose current round falls due within ``before`` of ``at`` (and has not yet)."""
    found = []
    for task in SweepTask.objects.filter(status=SweepStatus.OPEN, ends_on__gte=timezone.localtime(at).date()
                                         - timedelta(days=1)):
        round_date = task.round_for(at)
        deadline = task.deadline_of(round_date)
        if at < deadline <= at + before:
            found.append((task, round_date))
    return found


@transaction.atomic
def remind_sweep_grids(*, at: datetime | None = None, before: timedelta) -> int:
    """Write a reminder for every grid with targets not yet reported in a round due within
    ``before``, and tell the grid's workers (a notification); once per task, round and grid (a retried
    beat task writes and tells nothing new)."""
    at = at or now()
    written = 0
    for task, round_date in due_soon(at, before):
        due = timezone.localtime(task.deadline_of(round_date))
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO cases_sweepreminder (task_id, round_date, grid_id, created_at, remaining)
                SELECT g.task_id, %s, g.grid_id, %s, g.targets - coalesce(r.done + r.late, 0)
                FROM cases_sweepgrid g
                LEFT JOIN cases_sweepgridround r ON r.sweep_grid_id = g.id AND r.round_date = %s
                WHERE g.task_id = %s AND g.targets > coalesce(r.done + r.late, 0)
                ON CONFLICT (task_id, round_date, grid_id) DO NOTHING
                RETURNING grid_id, remaining
                """,
                [round_date, at, round_date, task.pk],
            )
            reminded = cursor.fetchall()
        written += len(reminded)
        grids = Area.objects.in_bulk([grid_id for grid_id, _remaining in reminded])
        for grid_id, remaining in reminded:
            announce(grids[grid_id], key=f"sweep-remind:{task.pk}:{round_date:%Y%m%d}:{grid_id}",
                     message=gettext_lazy("Sweep task %(title)s is due at %(due)s: %(left)s not reported yet"),
                     params={"title": task.title[:80], "due": f"{due:%m-%d %H:%M}", "left": remaining},
                     url=reverse("worker_sweeps:task", args=[task.pk]), roles=list(GRID_ROLES))
    return written


def file_sweep_finding(
    *,
    actor,
    task: SweepTask,
    report: SweepReport,
    finding: str,
    description: str,
    category: Category | None = None,
) -> SweepReport:
    """A finding noticed after the report (or filed later): it becomes a case or a report-only record
    and is linked to the report. Once per report: a second call (a resend) returns the report as it is."""
    if report.task_id != task.pk:
        raise NotFound(_("No such report of this sweep task."), field="report")
    if report.case_id is not None:
        return report
    if finding not in (FindingKind.CASE, FindingKind.REPORT_ONLY):
        raise ActionError(_("Unknown kind of finding."), field="finding")
    target = report.target
    pipeline.check_sweep("report_sweep", actor, grid_id=target.grid_id, task=task)
    category = category or task.finding_category
    if category is None:
        raise ActionError(_("Choose the kind of problem found."), field="finding_category", code="required")
    description = require_text(description, "finding_description", _("Describe what was found."))
    x, y = _finding_point(target, None, None)
    with transaction.atomic():
        # The report row locked first: of two taps (or two workers of the grid), one files the case.
        locked = SweepReport.objects.select_for_update().get(pk=report.pk)
        if locked.case_id is not None:
            return locked
        case, _created = report_case(
            reporter=actor, category=category, lon=x, lat=y, description=f"【{task.title}】{description}",
            address=target.label[:200], client_uuid=uuid.uuid5(_FINDING_NAMESPACE, f"report-{report.pk}"),
            report_only=finding == FindingKind.REPORT_ONLY,
        )
        SweepReport.objects.filter(pk=report.pk).update(case=case, finding=finding)
        if not locked.finding:
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE cases_sweepgridround SET findings = findings + 1 WHERE round_date = %s AND sweep_grid_id = "
                    "(SELECT id FROM cases_sweepgrid WHERE task_id = %s AND grid_id = %s)",
                    [report.round_date, task.pk, target.grid_id])
    report.refresh_from_db()
    return report
