"""The only writer of plans: one function per business action, each atomic, each checking the
actor's right through plans.access and refusing bad input with a clear ActionError."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.announcements import announce
from cases.uploads import prepare_upload
from govgrid import clock
from govgrid.errors import ActionError, Conflict
from grids.choices import CENTRE_ROLES, Role
from grids.models import Area, Centre, Department
from plans import access
from plans.choices import Light, NegativeKind, TaskStatus
from plans.lights import light_for
from plans.models import Evidence, Indicator, Milestone, NegativeEvent, PlanTask, ProgressReport, Supervision, WorkPlan

MAX_TITLE = 200
MAX_TEXT = 5000
MAX_FILES = 6
# A role nobody holds: announcements to a unit go to its people by id (user_ids), not to a subtree,
# which would also reach every other department or centre below the unit's area.
def _text(value, field: str, message: str, limit: int = MAX_TITLE) -> str:
    value = (value or "").strip()
    if not value:
        raise ActionError(message, field=field, code="required")
    if len(value) > limit:
        raise ActionError(_("At most %(n)d characters.") % {"n": limit}, field=field)
    return value


def _decimal(value, field: str, *, low: Decimal | None = None, high: Decimal | None = None) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ActionError(_("Enter a number."), field=field) from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise ActionError(_("Enter a number."), field=field)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ActionError(_("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}, field=field)
    return number


def _today() -> date:
    return timezone.localdate(clock.now())


def _lock_task(task: PlanTask) -> PlanTask:
    return PlanTask.objects.select_for_update().select_related("plan", "plan__area").get(pk=task.pk)


@transaction.atomic
def create_plan(*, actor, area: Area, year: int, title: str) -> WorkPlan:
    """A new work plan for ``area``, owned by the actor."""
    access.check_manage(actor, area)
    title = _text(title, "title", _("Give the plan a title."))
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ActionError(_("The year lies between 2000 and 2100."), field="year")
    return WorkPlan.objects.create(year=year, title=title, owner=actor, area=area, area_path=area.path,
                                   created_at=clock.now())


@transaction.atomic
def create_task(*, actor, plan: WorkPlan, title: str, starts_on: date, deadline: date,
                lead_department: Department | None = None, lead_centre: Centre | None = None,
                assisting_departments: Iterable[Department] = (), assisting_centres: Iterable[Centre] = ()) -> PlanTask:
    """A task of ``plan`` with one lead unit (a department or a centre) and any assisting units."""
    access.check_manage(actor, plan.area)
    title = _text(title, "title", _("Give the task a title."))
    if (lead_department is None) == (lead_centre is None):
        raise ActionError(_("Choose one lead unit: a department or a centre."), field="lead_unit", code="required")
    if starts_on is None or deadline is None:
        raise ActionError(_("Set the start and the deadline."), field="deadline", code="required")
    if deadline < starts_on:
        raise ActionError(_("The deadline cannot come before the start."), field="deadline")
    assisting_departments = [d for d in assisting_departments if d != lead_department]
    assisting_centres = [c for c in assisting_centres if c != lead_centre]
    task = PlanTask.objects.create(plan=plan, title=title, starts_on=starts_on, deadline=deadline,
                                   lead_department=lead_department, lead_centre=lead_centre,
                                   area_path=plan.area_path, created_at=clock.now())
    task.assisting_departments.set(assisting_departments)
    task.assisting_centres.set(assisting_centres)
    return task


@transaction.atomic
def add_indicator(*, actor, task: PlanTask, name: str, target, unit: str = "") -> Indicator:
    access.check_manage(actor, task.plan.area)
    name = _text(name, "name", _("Name the indicator."))
    target = _decimal(target, "target", low=Decimal(0), high=Decimal("999999999999"))
    unit = (unit or "").strip()
    if len(unit) > 20:
        raise ActionError(_("At most %(n)d characters.") % {"n": 20}, field="unit")
    return Indicator.objects.create(task=task, name=name, target=target, unit=unit)


@transaction.atomic
def add_milestone(*, actor, task: PlanTask, title: str, due_on: date) -> Milestone:
    access.check_manage(actor, task.plan.area)
    title = _text(title, "title", _("Give the milestone a title."))
    if due_on is None:
        raise ActionError(_("Set the date it is due."), field="due_on", code="required")
    return Milestone.objects.create(task=task, title=title, due_on=due_on)


@transaction.atomic
def complete_milestone(*, actor, milestone: Milestone) -> Milestone:
    task = milestone.task
    if not access.may_manage(actor, task.plan.area):
        access.reporting_unit(actor, task)
    if not Milestone.objects.filter(pk=milestone.pk, done_at__isnull=True).update(done_at=clock.now()):
        raise Conflict(_("The milestone is done already."), code="done")
    milestone.refresh_from_db()
    return milestone


@transaction.atomic
def report_progress(*, actor, task: PlanTask, text: str, percent, figures: Mapping | None = None,
                    files: Sequence = (), unit: str | None = None) -> ProgressReport:
    """A unit's progress report: the text, the percent done, figures per indicator and photos as
    evidence. The task takes the percent (a lead unit's report moves it; an assisting unit's does
    only when higher), each indicator its latest figure; 100 % marks the task done."""
    reporter = access.reporting_unit(actor, task, unit)
    task = _lock_task(task)
    text = _text(text, "text", _("Say what was done."), limit=MAX_TEXT)
    percent = _decimal(percent, "percent", low=Decimal(0), high=Decimal(100)).quantize(Decimal("0.1"))
    if not isinstance(figures or {}, Mapping):
        raise ActionError(_("Figures are a map of indicator ids to numbers."), field="figures")
    indicators = {str(i.pk): i for i in task.indicators.all()}
    clean: dict[str, str] = {}
    for key, value in (figures or {}).items():
        if str(key) not in indicators:
            raise ActionError(_("No such indicator on this task."), field="figures")
        if value in (None, ""):
            continue
        clean[str(key)] = str(_decimal(value, "figures"))
    files = list(files or [])
    if len(files) > MAX_FILES:
        raise ActionError(_("At most %(n)d photos.") % {"n": MAX_FILES}, field="files")
    photos = [prepare_upload(upload, field="files") for upload in files]
    at = clock.now()
    report = ProgressReport.objects.create(
        task=task, department=reporter if isinstance(reporter, Department) else None,
        centre=reporter if isinstance(reporter, Centre) else None, by=actor, at=at, text=text, percent=percent,
        figures=clean)
    for photo in photos:
        Evidence.objects.create(report=report, file=photo.file, content_type=photo.content_type,
                                size=photo.file.size)
    for key, value in clean.items():
        Indicator.objects.filter(pk=int(key)).update(actual=Decimal(value))
    is_lead = reporter in (task.lead_department, task.lead_centre)
    if is_lead or percent > task.percent_done:
        task.percent_done = percent
    task.last_reported_at = at
    task.status = TaskStatus.DONE if task.percent_done >= 100 else TaskStatus.ACTIVE
    task.save(update_fields=["percent_done", "last_reported_at", "status"])
    return report


def lead_unit_user_ids(task: PlanTask) -> list[int]:
    """The active people of the task's lead unit: a department's handlers, or a centre's staff."""
    from grids.models import Membership

    if task.lead_department_id:
        members = Membership.objects.filter(role=Role.DEPT_HANDLER, department_id=task.lead_department_id)
    else:
        members = Membership.objects.filter(role__in=list(CENTRE_ROLES), area_id=task.lead_centre.area_id)
    return list(members.filter(user__is_active=True).values_list("user_id", flat=True).distinct())


@transaction.atomic
def supervise_task(*, actor, task: PlanTask, note: str) -> Supervision:
    """督导: an official's note on a task; the lead unit's people are told (in-app, and by e-mail or
    SMS where configured)."""
    access.check_supervise(actor, task.plan.area)
    note = _text(note, "note", _("Write the supervision note."), limit=MAX_TEXT)
    supervision = Supervision.objects.create(task=task, by=actor, at=clock.now(), note=note)
    announce(None, key=f"plan-supervise:{supervision.pk}",
             message=gettext_lazy("Supervision of task %(title)s: %(note)s"),
             params={"title": task.title[:80], "note": note[:120]},
             url=reverse("plans:task", args=[task.pk]), user_ids=lead_unit_user_ids(task))
    return supervision


@transaction.atomic
def record_negative_event(*, actor, plan: WorkPlan, on: date, kind: str, points, note: str = "",
                          department: Department | None = None, centre: Centre | None = None) -> NegativeEvent:
    """A negative-list event (负面清单) held against one unit under ``plan``."""
    access.check_manage(actor, plan.area)
    if (department is None) == (centre is None):
        raise ActionError(_("Choose one unit: a department or a centre."), field="unit", code="required")
    if kind not in NegativeKind.values:
        raise ActionError(_("Choose a kind of event."), field="kind")
    if on is None:
        raise ActionError(_("Set the date."), field="date", code="required")
    if on > _today():
        raise ActionError(_("The date cannot be in the future."), field="date")
    points = _decimal(points, "points", low=Decimal("0.01"), high=Decimal("100")).quantize(Decimal("0.01"))
    note = (note or "").strip()
    if len(note) > MAX_TEXT:
        raise ActionError(_("At most %(n)d characters.") % {"n": MAX_TEXT}, field="note")
    return NegativeEvent.objects.create(plan=plan, department=department, centre=centre, date=on, kind=kind,
                                        note=note, points=points, recorded_by=actor, recorded_at=clock.now())


def remind_due_tasks(*, today: date | None = None, within_days: int | None = None) -> int:
    """Tell each lead unit of a task that is red or due within ``within_days`` (once per task and day:
    the announcement key carries the date, so a retried beat sends nothing twice)."""
    today = today or _today()
    within_days = within_days or int(getattr(settings, "PLAN_REMIND_DAYS", 7))
    told = 0
    tasks = (PlanTask.objects.filter(status=TaskStatus.ACTIVE)
             .select_related("lead_department__area", "lead_centre__area").order_by("pk"))
    for task in tasks.iterator(chunk_size=500):
        light = light_for(starts_on=task.starts_on, deadline=task.deadline, percent=task.percent_done, today=today)
        due_soon = task.deadline <= today + timedelta(days=within_days)
        if light != Light.RED and not due_soon:
            continue
        with transaction.atomic():
            announce(None, key=f"plan-remind:{task.pk}:{today:%Y%m%d}",
                     message=gettext_lazy("Task %(title)s is due on %(deadline)s (%(percent)s %% done)"),
                     params={"title": task.title[:80], "deadline": task.deadline.isoformat(),
                             "percent": str(task.percent_done)},
                     url=reverse("plans:task", args=[task.pk]), user_ids=lead_unit_user_ids(task))
        told += 1
    return told


__all__ = ["add_indicator", "add_milestone", "complete_milestone", "create_plan", "create_task",
           "record_negative_event", "remind_due_tasks", "report_progress", "supervise_task"]
