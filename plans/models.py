"""Governance work plans (任务清单): a plan of tasks, each with a lead unit and assisting units,
indicators with targets, milestones and a deadline; units' progress reports with evidence; a
negative list (负面清单) of events held against a unit.

A unit is a department (grids.Department) or a centre (grids.Centre): each place that names a unit
has one nullable foreign key to each, exactly one of them set. Plans and tasks carry ``area_path``
(the plan area's materialised path, copied when written) so a scope is one prefix match.

Nothing here writes itself: plans.actions is the only writer.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from plans.choices import NegativeKind, TaskStatus

ONE_UNIT = Q(department__isnull=False, centre__isnull=True) | Q(department__isnull=True, centre__isnull=False)


class WorkPlan(models.Model):
    """A year's plan for an area (e.g. the town's 2026 任务清单), owned by one person."""

    year = models.PositiveSmallIntegerField(_("year"))
    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("plan owner"), on_delete=models.PROTECT,
                              related_name="work_plans")
    area = models.ForeignKey("grids.Area", verbose_name=_("area"), on_delete=models.PROTECT,
                             related_name="work_plans")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("work plan")
        verbose_name_plural = _("work plans")
        ordering = ["-year", "title", "pk"]
        indexes = [models.Index(fields=["area_path"], opclasses=["text_pattern_ops"], name="workplan_area_path")]
        constraints = [
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="workplan_year_range",
                                   violation_error_message=_("The year lies between 2000 and 2100.")),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.title}"


class PlanTask(models.Model):
    """One task of a plan: a lead unit (a department or a centre), assisting units, a span of time.

    ``percent_done`` is the latest reported progress (the light compares it with the time gone).
    """

    plan = models.ForeignKey(WorkPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=200)
    lead_department = models.ForeignKey("grids.Department", verbose_name=_("lead department"), null=True,
                                        blank=True, on_delete=models.PROTECT, related_name="led_plan_tasks")
    lead_centre = models.ForeignKey("grids.Centre", verbose_name=_("lead centre"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="led_plan_tasks")
    assisting_departments = models.ManyToManyField("grids.Department", verbose_name=_("assisting departments"),
                                                   blank=True, related_name="assisted_plan_tasks")
    assisting_centres = models.ManyToManyField("grids.Centre", verbose_name=_("assisting centres"), blank=True,
                                               related_name="assisted_plan_tasks")
    starts_on = models.DateField(_("starts on"))
    deadline = models.DateField(_("deadline"))
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.ACTIVE)
    percent_done = models.DecimalField(_("percent done"), max_digits=5, decimal_places=1, default=0)
    last_reported_at = models.DateTimeField(_("last reported at"), null=True, blank=True)
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("plan task")
        verbose_name_plural = _("plan tasks")
        ordering = ["plan", "deadline", "pk"]
        indexes = [
            models.Index(fields=["area_path"], opclasses=["text_pattern_ops"], name="plantask_area_path"),
            models.Index(fields=["deadline"], condition=Q(status=TaskStatus.ACTIVE), name="plantask_active_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lead_department__isnull=False, lead_centre__isnull=True)
                | Q(lead_department__isnull=True, lead_centre__isnull=False),
                name="plantask_one_lead_unit",
                violation_error_message=_("A task has one lead unit: a department or a centre."),
            ),
            models.CheckConstraint(condition=Q(deadline__gte=models.F("starts_on")),
                                   name="plantask_deadline_after_start",
                                   violation_error_message=_("The deadline cannot come before the start.")),
            models.CheckConstraint(condition=Q(percent_done__gte=0, percent_done__lte=100),
                                   name="plantask_percent_range",
                                   violation_error_message=_("Progress lies between 0 and 100 %.")),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def lead_unit(self):
        return self.lead_department or self.lead_centre


class Indicator(models.Model):
    """A measured target of a task (e.g. 矛盾纠纷化解率 ≥ 95 %); met when the actual reaches the target."""

    task = models.ForeignKey(PlanTask, verbose_name=_("task"), on_delete=models.CASCADE, related_name="indicators")
    name = models.CharField(_("name"), max_length=200)
    target = models.DecimalField(_("target value"), max_digits=14, decimal_places=2)
    unit = models.CharField(_("unit of measure"), max_length=20, blank=True)
    actual = models.DecimalField(_("actual"), max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["task", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_met(self) -> bool:
        return self.actual is not None and self.actual >= self.target


class Milestone(models.Model):
    task = models.ForeignKey(PlanTask, verbose_name=_("task"), on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("title"), max_length=200)
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["task", "due_on", "pk"]

    def __str__(self) -> str:
        return self.title


class ProgressReport(models.Model):
    """A unit's report on a task: text, percent done, figures per indicator ({indicator id: value})."""

    task = models.ForeignKey(PlanTask, verbose_name=_("task"), on_delete=models.CASCADE, related_name="reports")
    department = models.ForeignKey("grids.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="plan_reports")
    centre = models.ForeignKey("grids.Centre", verbose_name=_("centre"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="plan_reports")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reported by"), on_delete=models.PROTECT,
                           related_name="plan_reports")
    at = models.DateTimeField(_("reported at"))
    text = models.TextField(_("progress made"))
    percent = models.DecimalField(_("percent done"), max_digits=5, decimal_places=1)
    figures = models.JSONField(_("figures"), default=dict, blank=True)

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["task", "-at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=ONE_UNIT, name="progressreport_one_unit",
                                   violation_error_message=_("A report comes from one unit.")),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.percent}%"

    @property
    def unit(self):
        return self.department or self.centre


def evidence_path(instance: Evidence, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"plans/{instance.report.task_id}/{uuid.uuid4().hex}.{suffix}"


class Evidence(models.Model):
    """A photo attached to a progress report, decoded and cleaned by cases.uploads."""

    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(_("file"), upload_to=evidence_path)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["report", "pk"]

    def __str__(self) -> str:
        return self.file.name


class Supervision(models.Model):
    """督导: an official's note on a task; the lead unit's handlers are told."""

    task = models.ForeignKey(PlanTask, verbose_name=_("task"), on_delete=models.CASCADE,
                             related_name="supervisions")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("supervised by"), on_delete=models.PROTECT,
                           related_name="plan_supervisions")
    at = models.DateTimeField(_("supervised at"))
    note = models.TextField(_("note"))

    class Meta:
        verbose_name = _("plan supervision")
        verbose_name_plural = _("plan supervisions")
        ordering = ["task", "-at"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.at:%Y-%m-%d}"


class NegativeEvent(models.Model):
    """A negative-list event (负面清单) held against a unit in a plan; its points count against the
    unit in the evaluation (三考合一)."""

    plan = models.ForeignKey(WorkPlan, verbose_name=_("plan"), on_delete=models.CASCADE,
                             related_name="negative_events")
    department = models.ForeignKey("grids.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="negative_events")
    centre = models.ForeignKey("grids.Centre", verbose_name=_("centre"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="negative_events")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=32, choices=NegativeKind.choices)
    note = models.TextField(_("note"), blank=True)
    points = models.DecimalField(_("points deducted"), max_digits=6, decimal_places=2)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, related_name="negative_events")
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("negative-list event")
        verbose_name_plural = _("negative-list events")
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=ONE_UNIT, name="negativeevent_one_unit",
                                   violation_error_message=_("A negative-list event is held against one unit.")),
            models.CheckConstraint(condition=Q(points__gt=0), name="negativeevent_points_positive",
                                   violation_error_message=_("The points deducted are more than 0.")),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"

    @property
    def unit(self):
        return self.department or self.centre
