"""Counters kept as cases move (DESIGN.md §7, §9): dashboards read these, never the cases.

Every timeline event is turned into measure deltas (``reports.counters.event_deltas``) and added,
inside the action's own transaction, to two tables:

* ``DailyCount``: one row per local day × area × category × department × channel × legacy flag. Each
  event is written for every level of the case's grid path (grid, community, town, district, city),
  so a figure for area X reads X's own rows only. Breakdowns by category, department or channel read
  this table.
* ``AreaDailyCount``: the same measures summed over category, department and channel, one row per
  local day × area × legacy flag. Tiles, child-area breakdowns and trends read this one, so their cost
  follows areas × days alone, whatever the number of cases.

Days older than the daily window (``COUNTER_DAILY_RETENTION_DAYS``, whole months) are folded nightly
into ``MonthlyCount`` and ``AreaMonthlyCount``, the same measures by month (``reports.rollup``): a
case is counted on a handful of days, so most of its daily rows live on in the monthly tables only
where other cases of the month share them (areas high up the tree). Readers take both tables.

``CaseCounterState`` remembers, per case, what the mapping needs from earlier events (where its
deadline is counted, its lead department, when its handling started), so that a moved deadline can be
taken off the day it was counted on. ``CounterDrift`` records each nightly rebuild's comparison.

Most measures count what happened on the day. The rates of §7 need some counted on the day of the
case (or dispatch) they are about instead, so that a rate over any period compares a group of cases
with itself and stays within 0–100 %: ``due_*`` on the day of the case's handling deadline,
``reported_*`` on the day it was reported, ``handled_reworked`` on the day it was first handled,
``dispatched_returned`` on the day of the dispatch (see ``reports.counters``).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

# Measure columns in a fixed order: the counters' SQL, the rebuild and the KPIs all use this order.
MEASURES: tuple[tuple[str, str], ...] = (
    ("reported", _("reported")),  # 上报 (includes self-resolved and report-only cases)
    ("filed", _("report-only")),  # 报备
    ("self_resolved", _("self-resolved")),  # 自处置
    ("accepted", _("accepted")),  # 立案
    ("rejected", _("rejected")),  # 不予立案
    ("merged", _("merged")),  # 合并
    ("reported_accepted", _("reported and accepted")),  # of the cases reported on the day, accepted since
    ("reported_merged", _("reported and merged")),  # of the cases reported on the day, merged since
    ("dispatched_cases", _("cases dispatched")),  # on the lead department
    ("dispatched", _("dispatches")),  # one per department (lead and assists): dispatch accuracy
    ("returned", _("dispatches returned")),  # 退单, on the returning department
    ("dispatched_returned", _("dispatched and returned")),  # of the dispatches of the day, returned since
    ("extended", _("extensions approved")),  # 延期, on the dispatch's department
    ("handled", _("handled")),  # first handling of a case (处置完毕)
    ("rehandled", _("handled again after rework")),
    ("handled_reworked", _("handled and reworked")),  # of the cases first handled on the day, reworked since
    ("handle_minutes", _("handling time (working minutes)")),  # dispatch (or rework) → handled
    ("verified", _("verified")),  # 核查通过
    ("verify_failed", _("failed verification")),  # 核查不通过
    ("reworked", _("cases reworked")),  # a case's first rework (failed verification or dissatisfied)
    ("reopened", _("closed cases reopened")),  # dissatisfied follow-up of a closed case
    ("closed", _("closed")),  # 结案 (net of reopening: taken off the day it was closed)
    ("closed_on_time", _("closed on time")),  # 按期结案
    ("due", _("due")),  # 应结案: cases whose handling deadline falls on the day
    ("due_suspended", _("due but suspended")),  # of those, cases suspended now (挂起), unless closed
    ("due_closed", _("due and closed")),  # of those, cases closed now (结案率's numerator)
    ("due_closed_on_time", _("due and closed on time")),  # of those, closed on time (按期结案率's numerator)
    ("overdue", _("went overdue")),  # handling deadline passed while open (red light)
    ("surveyed", _("follow-up calls")),  # 回访
    ("satisfied", _("satisfied")),  # 满意
    ("basically_satisfied", _("basically satisfied")),  # 基本满意
    ("supervised", _("supervisions")),  # 督办, on the lead department when there is one
    ("escalated", _("escalations")),  # 上报上级中心
)
MEASURE_NAMES: tuple[str, ...] = tuple(name for name, _label in MEASURES)


class Measures(models.Model):
    """The measure columns shared by the counter tables (signed: a moved deadline subtracts)."""

    reported = models.IntegerField(_("reported"), default=0)
    filed = models.IntegerField(_("report-only"), default=0)
    self_resolved = models.IntegerField(_("self-resolved"), default=0)
    accepted = models.IntegerField(_("accepted"), default=0)
    rejected = models.IntegerField(_("rejected"), default=0)
    merged = models.IntegerField(_("merged"), default=0)
    reported_accepted = models.IntegerField(_("reported and accepted"), default=0)
    reported_merged = models.IntegerField(_("reported and merged"), default=0)
    dispatched_cases = models.IntegerField(_("cases dispatched"), default=0)
    dispatched = models.IntegerField(_("dispatches"), default=0)
    returned = models.IntegerField(_("dispatches returned"), default=0)
    dispatched_returned = models.IntegerField(_("dispatched and returned"), default=0)
    extended = models.IntegerField(_("extensions approved"), default=0)
    handled = models.IntegerField(_("handled"), default=0)
    rehandled = models.IntegerField(_("handled again after rework"), default=0)
    handled_reworked = models.IntegerField(_("handled and reworked"), default=0)
    handle_minutes = models.BigIntegerField(_("handling time (working minutes)"), default=0)
    verified = models.IntegerField(_("verified"), default=0)
    verify_failed = models.IntegerField(_("failed verification"), default=0)
    reworked = models.IntegerField(_("cases reworked"), default=0)
    reopened = models.IntegerField(_("closed cases reopened"), default=0)
    closed = models.IntegerField(_("closed"), default=0)
    closed_on_time = models.IntegerField(_("closed on time"), default=0)
    due = models.IntegerField(_("due"), default=0)
    due_suspended = models.IntegerField(_("due but suspended"), default=0)
    due_closed = models.IntegerField(_("due and closed"), default=0)
    due_closed_on_time = models.IntegerField(_("due and closed on time"), default=0)
    overdue = models.IntegerField(_("went overdue"), default=0)
    surveyed = models.IntegerField(_("follow-up calls"), default=0)
    satisfied = models.IntegerField(_("satisfied"), default=0)
    basically_satisfied = models.IntegerField(_("basically satisfied"), default=0)
    supervised = models.IntegerField(_("supervisions"), default=0)
    escalated = models.IntegerField(_("escalations"), default=0)

    class Meta:
        abstract = True


class DailyCount(Measures):
    """Counts of one local day in one area (any level) for one category, department and channel.

    ``department`` is empty for measures that belong to no department (reports, acceptance, …).
    ``legacy`` separates 历史遗留 cases, which stay out of every rate.
    """

    # No single-column indexes: the unique constraint leads with area, and every write counts.
    area = models.ForeignKey("grids.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    day = models.DateField(_("day"))
    category = models.ForeignKey("cases.Category", verbose_name=_("category"), on_delete=models.PROTECT,
                                 related_name="+", db_index=False)
    department = models.ForeignKey("grids.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", db_index=False)
    channel = models.CharField(_("channel"), max_length=16)
    legacy = models.BooleanField(_("legacy issue"), default=False)

    class Meta:
        verbose_name = _("daily count")
        verbose_name_plural = _("daily counts")
        constraints = [
            # Leading (area, day): the same index serves "area X over these days".
            models.UniqueConstraint(
                fields=["area", "day", "category", "department", "channel", "legacy"], nulls_distinct=False,
                name="dailycount_unique_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.area_id} {self.category_id} {self.department_id} {self.channel}"


class AreaDailyCount(Measures):
    """``DailyCount`` summed over category, department and channel: what tiles and trends read."""

    area = models.ForeignKey("grids.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    day = models.DateField(_("day"))
    legacy = models.BooleanField(_("legacy issue"), default=False)

    class Meta:
        verbose_name = _("daily area count")
        verbose_name_plural = _("daily area counts")
        constraints = [
            models.UniqueConstraint(fields=["area", "day", "legacy"], name="areadailycount_unique_cell"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.area_id}"


class MonthlyCount(Measures):
    """``DailyCount`` rows of finished months, folded into one row per month (``reports.rollup``).

    ``month`` is the month's first day. Days before the daily window (``COUNTER_DAILY_RETENTION_DAYS``)
    live here only: a period reaching into them is counted by whole months (``reports.kpis``).
    """

    area = models.ForeignKey("grids.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    month = models.DateField(_("month"))
    category = models.ForeignKey("cases.Category", verbose_name=_("category"), on_delete=models.PROTECT,
                                 related_name="+", db_index=False)
    department = models.ForeignKey("grids.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", db_index=False)
    channel = models.CharField(_("channel"), max_length=16)
    legacy = models.BooleanField(_("legacy issue"), default=False)

    class Meta:
        verbose_name = _("monthly count")
        verbose_name_plural = _("monthly counts")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "month", "category", "department", "channel", "legacy"], nulls_distinct=False,
                name="monthlycount_unique_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.area_id} {self.category_id} {self.department_id} {self.channel}"


class AreaMonthlyCount(Measures):
    """``AreaDailyCount`` rows of finished months, one row per month × area × legacy flag."""

    area = models.ForeignKey("grids.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    month = models.DateField(_("month"))
    legacy = models.BooleanField(_("legacy issue"), default=False)

    class Meta:
        verbose_name = _("monthly area count")
        verbose_name_plural = _("monthly area counts")
        constraints = [
            models.UniqueConstraint(fields=["area", "month", "legacy"], name="areamonthlycount_unique_cell"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.area_id}"


class CaseCounterState(models.Model):
    """What the counters remember about one case between its events. No row = nothing yet.

    Written only by ``reports.counters`` (and repaired by the rebuild), in the action's transaction.
    """

    case = models.OneToOneField("cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="+")
    lead_department_id = models.BigIntegerField(_("lead department"), null=True, blank=True)
    dispatch_departments = models.JSONField(_("department of each dispatch"), default=dict, blank=True)
    handle_started_at = models.DateTimeField(_("handling started at"), null=True, blank=True)
    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0)
    due_day = models.DateField(_("due counted on"), null=True, blank=True)
    due_department_id = models.BigIntegerField(_("due counted for department"), null=True, blank=True)
    due_suspended = models.BooleanField(_("due counted as suspended"), default=False)
    due_closed = models.BooleanField(_("due counted as closed"), default=False)
    due_closed_on_time = models.BooleanField(_("due counted as closed on time"), default=False)
    closed_day = models.DateField(_("closure counted on"), null=True, blank=True)
    closed_department_id = models.BigIntegerField(_("closure counted for department"), null=True, blank=True)
    closed_on_time = models.BooleanField(_("closure counted as on time"), null=True, blank=True)
    handled_day = models.DateField(_("first handling counted on"), null=True, blank=True)
    handled_department_id = models.BigIntegerField(_("first handling counted for department"), null=True,
                                                   blank=True)
    dispatch_days = models.JSONField(_("day of each dispatch"), default=dict, blank=True)

    class Meta:
        verbose_name = _("case counter state")
        verbose_name_plural = _("case counter states")

    def __str__(self) -> str:
        return str(self.case_id)


class CounterDrift(models.Model):
    """One rebuild of the counters from the timeline: what it found different, and whether it repaired."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    cases = models.PositiveIntegerField(_("cases replayed"), default=0)
    events = models.PositiveBigIntegerField(_("events replayed"), default=0)
    daily_rows = models.PositiveIntegerField(_("daily rows differing"), default=0)
    area_rows = models.PositiveIntegerField(_("area rows differing"), default=0)
    states = models.PositiveIntegerField(_("case states differing"), default=0)
    cells = models.PositiveBigIntegerField(
        _("cells differing"), default=0, help_text=_("(row, measure) pairs whose stored value was wrong")
    )
    sample = models.JSONField(_("first differences"), default=list, blank=True)
    repaired = models.BooleanField(_("repaired"), default=False)

    class Meta:
        verbose_name = _("counter drift check")
        verbose_name_plural = _("counter drift checks")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["-started_at"], condition=Q(cells__gt=0), name="counterdrift_found")]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} · {self.cells}"


SCORING_SETTINGS_PK = 1


class ScoringSettings(models.Model):
    """One row of thresholds and weights an administrator tunes (the admin shows it as a single form)."""

    safety_green_min = models.DecimalField(_("safety index: green from"), max_digits=5, decimal_places=1, default=85)
    safety_yellow_min = models.DecimalField(_("safety index: yellow from"), max_digits=5, decimal_places=1, default=70)
    dept_weight_on_time = models.DecimalField(_("department score: weight of on-time rate"), max_digits=4,
                                              decimal_places=2, default=40)
    dept_weight_accuracy = models.DecimalField(_("department score: weight of dispatch accuracy"), max_digits=4,
                                               decimal_places=2, default=20)
    dept_weight_no_rework = models.DecimalField(_("department score: weight of work done right first time"),
                                                max_digits=4, decimal_places=2, default=20)
    dept_weight_satisfaction = models.DecimalField(_("department score: weight of satisfaction"), max_digits=4,
                                                   decimal_places=2, default=20)
    dept_penalty_supervision = models.DecimalField(_("department score: points off per supervision"),
                                                   max_digits=4, decimal_places=2, default=2)

    class Meta:
        verbose_name = _("scoring settings")
        verbose_name_plural = _("scoring settings")

    def __str__(self) -> str:
        return str(_("scoring settings"))

    @classmethod
    def current(cls) -> ScoringSettings:
        """The row (migration 0003 seeds it), or unsaved defaults if an administrator deleted it.

        A read never writes: creating or changing the row is ``reports.actions.update_scoring_settings``.
        """
        return cls.objects.filter(pk=SCORING_SETTINGS_PK).first() or cls(pk=SCORING_SETTINGS_PK)


class SafetyIndicator(models.Model):
    """One term of the safety index 平安指数: a counter measure (optionally of one category family)
    per 10,000 residents, times a weight, taken off 100."""

    name = models.CharField(_("name"), max_length=60)
    measure = models.CharField(_("measure"), max_length=32, choices=MEASURES)
    family_code = models.CharField(_("category family code"), max_length=16, blank=True,
                                   help_text=_("Empty: all categories."))
    weight = models.DecimalField(_("points off per case per 10,000 residents"), max_digits=6, decimal_places=2)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("safety indicator")
        verbose_name_plural = _("safety indicators")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class ScoreRule(models.Model):
    """Points a grid worker earns (or loses) for one kind of deed; times their role coefficient 系数."""

    class Deed(models.TextChoices):
        VALID_REPORT = "valid_report", _("report accepted")
        SELF_RESOLVED = "self_resolved", _("resolved on the spot")
        REPORT_ONLY = "report_only", _("report-only filing")
        VERIFIED_ON_TIME = "verified_on_time", _("verification on time")
        VERIFIED_LATE = "verified_late", _("verification late")
        REJECTED_REPORT = "rejected_report", _("report not accepted")
        VISIT_ON_TIME = "visit_on_time", _("key-person visit on time")
        VISIT_LATE = "visit_late", _("key-person visit late")
        # Patrols 巡查: points per hour patrolled and per kilometre walked (fractions count).
        PATROL_HOUR = "patrol_hour", _("hour of patrol")
        PATROL_KM = "patrol_km", _("kilometre of patrol")

    deed = models.CharField(_("deed"), max_length=24, choices=Deed.choices, unique=True)
    points = models.DecimalField(_("points"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("score rule")
        verbose_name_plural = _("score rules")
        ordering = ["deed"]

    def __str__(self) -> str:
        return f"{self.get_deed_display()}: {self.points}"


EVALUATION_SETTINGS_PK = 1
EVALUATION_WEIGHT_FIELDS = ("weight_cases", "weight_work", "weight_plans", "weight_campaigns")


def _weight(label, default: int) -> models.DecimalField:
    return models.DecimalField(label, max_digits=5, decimal_places=2, default=default,
                               validators=[MinValueValidator(0), MaxValueValidator(100)])


class EvaluationSettings(models.Model):
    """The weights of the unit evaluation 三考合一 (``reports.evaluation``): percent, summing to 100.

    One row (migration 0007 seeds it); negative-list events are not weighted: their points are taken
    off the weighted total.
    """

    weight_cases = _weight(_("weight of case handling (on-time closure)"), 30)
    weight_work = _weight(_("weight of the work score (department score)"), 20)
    weight_plans = _weight(_("weight of plan progress"), 30)
    weight_campaigns = _weight(_("weight of campaign results"), 20)

    class Meta:
        verbose_name = _("evaluation settings")
        verbose_name_plural = _("evaluation settings")
        constraints = [
            models.CheckConstraint(
                condition=Exact(F("weight_cases") + F("weight_work") + F("weight_plans") + F("weight_campaigns"),
                                100),
                name="evaluationsettings_weights_sum_100",
                violation_error_message=_("The weights of the evaluation must add up to 100."),
            ),
        ]

    def __str__(self) -> str:
        return str(_("evaluation settings"))

    @classmethod
    def current(cls) -> EvaluationSettings:
        """The row, or unsaved defaults if an administrator deleted it (a read never writes)."""
        return (cls.objects.filter(pk=EVALUATION_SETTINGS_PK).first()
                or cls(pk=EVALUATION_SETTINGS_PK))
