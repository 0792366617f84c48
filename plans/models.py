"""Governance work plans (任务清单): a plan of tasks, each with a lead unit and assisting units,
indicators with targets, milestones and a deadline; units' progress reports with evidence; a
negative list (负面清单) of events held against a unit. Campaigns (创无 10+N, 平安细胞): types with
their checklists, campaigns over an area, the areas and organisations that enter them, inspections
and certifications with a validity and revocation.

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

from govgrid.names import NamedInTwoLanguages, display_name
from plans.choices import CampaignFamily, Entrant, NegativeKind, TaskStatus

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


class CampaignType(NamedInTwoLanguages, models.Model):
    """A kind of campaign, set in the admin: 无医闹 (创无 10+N) or 平安校园 (平安细胞), what enters it
    (areas or organisations), its checklist (criteria) and how long a certification holds."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True,
                               help_text=_("Shown on English pages; empty: the Chinese name."))
    family = models.CharField(_("family"), max_length=16, choices=CampaignFamily.choices)
    entrant = models.CharField(_("what enters"), max_length=16, choices=Entrant.choices)
    validity_months = models.PositiveSmallIntegerField(_("validity (months)"), default=12)
    inspection_valid_days = models.PositiveSmallIntegerField(
        _("inspection holds for (days)"), default=90,
        help_text=_("A certification rests on a passed inspection no older than this."))
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("campaign type")
        verbose_name_plural = _("campaign types")
        ordering = ["family", "order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(validity_months__gte=1, validity_months__lte=120),
                                   name="campaigntype_validity_range",
                                   violation_error_message=_("The validity lies between 1 and 120 months.")),
            models.CheckConstraint(condition=Q(inspection_valid_days__gte=1),
                                   name="campaigntype_inspection_days_positive",
                                   violation_error_message=_("An inspection holds for at least one day.")),
        ]

    def __str__(self) -> str:
        return self.display_name


class CampaignCriterion(models.Model):
    """One line of a campaign type's checklist; a required one must pass for a certification."""

    type = models.ForeignKey(CampaignType, verbose_name=_("campaign type"), on_delete=models.CASCADE,
                             related_name="criteria")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    text = models.CharField(_("criterion"), max_length=300)
    text_en = models.CharField(_("English text"), max_length=300, blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        verbose_name = _("campaign criterion")
        verbose_name_plural = _("campaign criteria")
        ordering = ["type", "order", "pk"]

    def __str__(self) -> str:
        return self.display_text

    @property
    def display_text(self) -> str:
        return display_name(self.text, self.text_en)


class Campaign(models.Model):
    """A campaign type run over an area for a period (e.g. 东区 2026 年平安村居创建), with one lead unit."""

    type = models.ForeignKey(CampaignType, verbose_name=_("campaign type"), on_delete=models.PROTECT,
                             related_name="campaigns")
    title = models.CharField(_("title"), max_length=200)
    area = models.ForeignKey("grids.Area", verbose_name=_("area"), on_delete=models.PROTECT,
                             related_name="campaigns")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    year = models.PositiveSmallIntegerField(_("year"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("campaign owner"), on_delete=models.PROTECT,
                              related_name="campaigns")
    lead_department = models.ForeignKey("grids.Department", verbose_name=_("lead department"), null=True,
                                        blank=True, on_delete=models.PROTECT, related_name="led_campaigns")
    lead_centre = models.ForeignKey("grids.Centre", verbose_name=_("lead centre"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="led_campaigns")
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-year", "title", "pk"]
        indexes = [models.Index(fields=["area_path"], opclasses=["text_pattern_ops"], name="campaign_area_path")]
        constraints = [
            models.CheckConstraint(
                condition=Q(lead_department__isnull=False, lead_centre__isnull=True)
                | Q(lead_department__isnull=True, lead_centre__isnull=False),
                name="campaign_one_lead_unit",
                violation_error_message=_("A campaign has one lead unit: a department or a centre."),
            ),
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_ends_after_start",
                                   violation_error_message=_("The end cannot come before the start.")),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="campaign_year_range",
                                   violation_error_message=_("The year lies between 2000 and 2100.")),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def lead_unit(self):
        return self.lead_department or self.lead_centre


class CampaignEntry(models.Model):
    """An area (village, community, grid) or an organisation that enters a campaign. ``area_path`` is
    the subject's own path (the area's, or the organisation's grid's), so scope is one prefix match.
    Its standing on a day (certified, revoked …) is computed by plans.campaign_figures."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE,
                                 related_name="entries")
    area = models.ForeignKey("grids.Area", verbose_name=_("area"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="campaign_entries")
    organisation = models.ForeignKey("parties.Organisation", verbose_name=_("organisation"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="campaign_entries")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    entered_on = models.DateField(_("entered on"))
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), on_delete=models.PROTECT,
                                   related_name="+")
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign entry")
        verbose_name_plural = _("campaign entries")
        ordering = ["campaign", "area_path", "pk"]
        indexes = [models.Index(fields=["area_path"], opclasses=["text_pattern_ops"], name="campaignentry_area_path")]
        constraints = [
            models.CheckConstraint(
                condition=Q(area__isnull=False, organisation__isnull=True)
                | Q(area__isnull=True, organisation__isnull=False),
                name="campaignentry_one_subject",
                violation_error_message=_("An entry is an area or an organisation."),
            ),
            models.UniqueConstraint(fields=["campaign", "area"], condition=Q(area__isnull=False),
                                    name="campaignentry_area_once",
                                    violation_error_message=_("This area has entered the campaign already.")),
            models.UniqueConstraint(fields=["campaign", "organisation"], condition=Q(organisation__isnull=False),
                                    name="campaignentry_organisation_once",
                                    violation_error_message=_("This organisation has entered the campaign already.")),
        ]

    def __str__(self) -> str:
        return str(self.subject)

    @property
    def subject(self):
        return self.area or self.organisation


class Inspection(models.Model):
    """An on-site check of an entry against its type's checklist; ``passed`` when every required
    criterion passed."""

    entry = models.ForeignKey(CampaignEntry, verbose_name=_("entry"), on_delete=models.CASCADE,
                              related_name="inspections")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("inspector"), on_delete=models.PROTECT,
                                  related_name="campaign_inspections")
    at = models.DateTimeField(_("inspected at"))
    passed = models.BooleanField(_("passed"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["entry", "-at", "-pk"]
        indexes = [models.Index(fields=["entry", "-at"], name="inspection_entry_at")]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.at:%Y-%m-%d}"


class InspectionResult(models.Model):
    """The answer to one criterion in an inspection: pass or fail, with a note."""

    inspection = models.ForeignKey(Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE,
                                   related_name="results")
    criterion = models.ForeignKey(CampaignCriterion, verbose_name=_("criterion"), on_delete=models.PROTECT,
                                  related_name="results")
    passed = models.BooleanField(_("passed"))
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("inspection result")
        verbose_name_plural = _("inspection results")
        ordering = ["inspection", "criterion__order", "criterion_id"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "criterion"], name="inspectionresult_once",
                                    violation_error_message=_("A criterion is answered once per inspection.")),
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id}/{self.criterion_id}: {'pass' if self.passed else 'fail'}"


def inspection_photo_path(instance: InspectionPhoto, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"campaigns/{instance.inspection.entry.campaign_id}/{uuid.uuid4().hex}.{suffix}"


class InspectionPhoto(models.Model):
    """A photo taken at an inspection, decoded and cleaned by cases.uploads."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("file"), upload_to=inspection_photo_path)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["inspection", "pk"]

    def __str__(self) -> str:
        return self.file.name


class Certification(models.Model):
    """A certification of an entry (e.g. 平安村居 达标), resting on one passed inspection.

    Valid on day D when ``certified_on ≤ D ≤ valid_until`` and it was not revoked on or before D
    (a revocation takes effect on its own day). ``revoked_on`` is the local date of ``revoked_at``,
    kept so that the validity test is a plain date comparison in SQL.
    """

    entry = models.ForeignKey(CampaignEntry, verbose_name=_("entry"), on_delete=models.CASCADE,
                              related_name="certifications")
    inspection = models.OneToOneField(Inspection, verbose_name=_("inspection relied on"), on_delete=models.PROTECT,
                                      related_name="certification")
    certified_on = models.DateField(_("certified on"))
    valid_until = models.DateField(_("valid until"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("certified by"), on_delete=models.PROTECT,
                           related_name="campaign_certifications")
    at = models.DateTimeField(_("certified at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_on = models.DateField(_("revoked on"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    revoke_reason = models.TextField(_("reason for revocation"), blank=True)

    class Meta:
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        ordering = ["entry", "-certified_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=models.F("certified_on")),
                                   name="certification_valid_after_certified",
                                   violation_error_message=_("A certification ends after it starts.")),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_on__isnull=True)
                | (Q(revoked_at__isnull=False, revoked_on__isnull=False) & ~Q(revoke_reason="")),
                name="certification_revoked_with_reason",
                violation_error_message=_("A revocation needs its date and a reason."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.certified_on}–{self.valid_until}"

    def is_valid_on(self, day) -> bool:
        return (self.certified_on <= day <= self.valid_until
                and (self.revoked_on is None or self.revoked_on > day))
