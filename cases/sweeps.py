"""Sweep tasks (排查任务): a centre sends a checklist to every grid of a subtree, or to every house or
building of a kind there (all rental houses…); grid workers report per target, or send a zero report
(零报告) for their grid; a progress board per level shows who is done, late or silent.

A task runs in rounds, each dated (Asia/Shanghai): a one-off task has one round, dated the day of
its deadline; a daily task has one round per calendar day from ``starts_on`` to ``ends_on``, each due
at ``due_time`` that day. A report belongs to the round that was current when it was made; the
targets are written once, when the task is created (one INSERT … SELECT, cases.actions.sweeps), each
with its grid and the grid's area path so a roll-up of any level is one prefix match.

Nothing here writes itself: cases.actions.sweeps is the only writer.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from govgrid.errors import ActionError
from parties.choices import HouseUse

MAX_FIELDS = 30
MAX_OPTIONS = 20
MAX_LABEL = 100
MAX_OPTION = 50
MAX_TEXT_ANSWER = 1000
NUMBER_LIMIT = Decimal("1e12")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FieldKind(models.TextChoices):
    TEXT = "text", gettext_lazy("text")
    NUMBER = "number", gettext_lazy("number")
    YES_NO = "yes_no", gettext_lazy("yes / no")
    CHOICE = "choice", gettext_lazy("choice")
    PHOTO = "photo", gettext_lazy("photo")


class TargetKind(models.TextChoices):
    GRID = "grid", gettext_lazy("every grid")
    HOUSE = "house", gettext_lazy("every house")
    BUILDING = "building", gettext_lazy("every building")


class Recurrence(models.TextChoices):
    ONCE = "once", gettext_lazy("once")
    DAILY = "daily", gettext_lazy("daily")


class SweepStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("open")
    CLOSED = "closed", gettext_lazy("closed")


class FindingKind(models.TextChoices):
    NONE = "", gettext_lazy("nothing found")
    CASE = "case", gettext_lazy("a case for the centre")
    REPORT_ONLY = "report_only", gettext_lazy("report-only record")


class TargetState(models.TextChoices):
    DONE = "done", gettext_lazy("done")
    LATE = "late", gettext_lazy("late")
    WAITING = "waiting", gettext_lazy("not yet")
    SILENT = "silent", gettext_lazy("silent")


# --- the form builder --------------------------------------------------------------------------------


def _clean_text(value, *, field: str, limit: int, what: str) -> str:
    if not isinstance(value, str):
        raise ActionError(_("%(what)s must be text.") % {"what": what}, field=field)
    text = value.strip()
    if not text:
        raise ActionError(_("%(what)s is empty.") % {"what": what}, field=field, code="required")
    if len(text) > limit:
        raise ActionError(_("%(what)s is longer than %(limit)d characters.") % {"what": what, "limit": limit},
                          field=field)
    if _CONTROL.search(text):
        raise ActionError(_("%(what)s contains control characters.") % {"what": what}, field=field)
    return text


def clean_schema(fields) -> list[dict]:
    """The fields to fill as the builder sent them, checked and normalised: each a dict with ``key``
    (``f1``, ``f2`` … by position), ``label``, ``kind``, ``required`` and, for a choice, ``options``."""
    if not isinstance(fields, list) or not fields:
        raise ActionError(_("Add at least one field to fill."), field="fields", code="required")
    if len(fields) > MAX_FIELDS:
        raise ActionError(_("A sweep task has at most %(n)d fields.") % {"n": MAX_FIELDS}, field="fields")
    cleaned, labels = [], set()
    for index, spec in enumerate(fields, start=1):
        if not isinstance(spec, dict):
            raise ActionError(_("Field %(n)d is not a field description.") % {"n": index}, field="fields")
        label = _clean_text(spec.get("label"), field="fields", limit=MAX_LABEL,
                            what=_("The name of field %(n)d") % {"n": index})
        if label in labels:
            raise ActionError(_("Two fields are named “%(label)s”.") % {"label": label}, field="fields")
        labels.add(label)
        kind = spec.get("kind")
        if kind not in FieldKind.values:
            raise ActionError(_("Field “%(label)s” has an unknown kind.") % {"label": label}, field="fields")
        required = spec.get("required", False)
        if required in ("true", "on", "1", 1):
            required = True
        elif required in ("false", "off", "0", 0, "", None):
            required = False
        if not isinstance(required, bool):
            raise ActionError(_("Field “%(label)s”: required is yes or no.") % {"label": label}, field="fields")
        item = {"key": f"f{index}", "label": label, "kind": kind, "required": required}
        if kind == FieldKind.CHOICE:
            options = spec.get("options")
            if isinstance(options, str):
                options = [line for line in options.replace("\r", "").split("\n") if line.strip()]
            if not isinstance(options, list) or len(options) < 2:
                raise ActionError(_("Choice field “%(label)s” needs at least two options.") % {"label": label},
                                  field="fields")
            if len(options) > MAX_OPTIONS:
                raise ActionError(_("Choice field “%(label)s” has more than %(n)d options.")
                                  % {"label": label, "n": MAX_OPTIONS}, field="fields")
            cleaned_options = [_clean_text(option, field="fields", limit=MAX_OPTION,
                                           what=_("An option of “%(label)s”") % {"label": label})
                               for option in options]
            if len(set(cleaned_options)) != len(cleaned_options):
                raise ActionError(_("Choice field “%(label)s” lists an option twice.") % {"label": label},
                                  field="fields")
            item["options"] = cleaned_options
        cleaned.append(item)
    return cleaned


def clean_answers(schema: list[dict], answers, photo_keys: set[str]) -> dict:
    """The answers to one report checked against the task's fields: every required field answered
    (a photo field by an uploaded photo, named in ``photo_keys``), each value of its field's kind.
    Unknown keys are refused, so a typo is not silently dropped."""
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise ActionError(_("The answers must be an object of field keys and values."), field="answers")
    known = {item["key"]: item for item in schema}
    unknown = sorted(key for key in answers if key not in known)
    if unknown:
        raise ActionError(_("No such field: %(keys)s.") % {"keys": ", ".join(str(k)[:20] for k in unknown[:3])},
                          field="answers")
    cleaned: dict = {}
    for item in schema:
        key, label, kind = item["key"], item["label"], item["kind"]
        field = f"answers.{key}"
        if kind == FieldKind.PHOTO:
            if item["required"] and key not in photo_keys:
                raise ActionError(_("“%(label)s” needs a photo.") % {"label": label}, field=field, code="required")
            continue
        value = answers.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if item["required"]:
                raise ActionError(_("“%(label)s” must be filled in.") % {"label": label}, field=field,
                                  code="required")
            continue
        if kind == FieldKind.TEXT:
            cleaned[key] = _clean_text(value, field=field, limit=MAX_TEXT_ANSWER, what=f"“{label}”")
        elif kind == FieldKind.NUMBER:
            cleaned[key] = _number(value, label, field)
        elif kind == FieldKind.YES_NO:
            cleaned[key] = _yes_no(value, label, field)
        elif kind == FieldKind.CHOICE:
            if not isinstance(value, str) or value not in item["options"]:
                raise ActionError(_("“%(label)s” must be one of: %(options)s.")
                                  % {"label": label, "options": "、".join(item["options"])}, field=field)
            cleaned[key] = value
    return cleaned


def _number(value, label: str, field: str):
    if isinstance(value, bool):
        value = None
    try:
        number = Decimal(str(value)) if value is not None else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or abs(number) >= NUMBER_LIMIT:
        raise ActionError(_("“%(label)s” must be a number.") % {"label": label}, field=field)
    return int(number) if number == number.to_integral_value() else float(number)


def _yes_no(value, label: str, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "1", "是", "y", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("no", "false", "0", "否", "n", "off"):
        return False
    raise ActionError(_("“%(label)s” must be yes or no.") % {"label": label}, field=field)


# --- models ------------------------------------------------------------------------------------------


class SweepTask(models.Model):
    """A checklist a centre sends down its subtree: to every grid, or to every house or building of a
    kind (``target_rental``, ``target_use``) there."""

    centre = models.ForeignKey("grids.Centre", verbose_name=gettext_lazy("sending centre"),
                               on_delete=models.PROTECT, related_name="sweep_tasks")
    area = models.ForeignKey("grids.Area", verbose_name=gettext_lazy("area"), on_delete=models.PROTECT,
                             related_name="sweep_tasks")
    area_path = models.CharField(gettext_lazy("area path"), max_length=255, editable=False)
    title = models.CharField(gettext_lazy("title"), max_length=100)
    instructions = models.TextField(gettext_lazy("instructions"), blank=True)
    fields = models.JSONField(gettext_lazy("fields to fill"), default=list)
    target_kind = models.CharField(gettext_lazy("sent to"), max_length=16, choices=TargetKind.choices)
    target_rental = models.BooleanField(gettext_lazy("rental houses only"), default=False)
    target_use = models.CharField(gettext_lazy("houses of use"), max_length=16, choices=HouseUse.choices,
                                  blank=True)
    recurrence = models.CharField(gettext_lazy("recurrence"), max_length=8, choices=Recurrence.choices,
                                  default=Recurrence.ONCE)
    starts_on = models.DateField(gettext_lazy("first round"))
    ends_on = models.DateField(gettext_lazy("last round"))
    due_time = models.TimeField(gettext_lazy("due at (time of day)"))
    finding_category = models.ForeignKey(
        "cases.Category", verbose_name=gettext_lazy("category of findings"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    status = models.CharField(gettext_lazy("status"), max_length=8, choices=SweepStatus.choices,
                              default=SweepStatus.OPEN)
    target_count = models.PositiveIntegerField(gettext_lazy("targets"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(gettext_lazy("created at"))
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(gettext_lazy("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("sweep task")
        verbose_name_plural = gettext_lazy("sweep tasks")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["area_path"], opclasses=["text_pattern_ops"], name="sweeptask_area_path"),
                   models.Index(fields=["status", "ends_on"], name="sweeptask_status_ends")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="sweeptask_rounds_order",
                                   violation_error_message=gettext_lazy("The last round comes after the first.")),
        ]

    def __str__(self) -> str:
        return self.title

    # Rounds ---------------------------------------------------------------------------------------
    def round_for(self, moment: datetime) -> date:
        """The round a report made at ``moment`` belongs to: today's for a daily task (the first or the
        last round outside the task's days), the one round of a one-off task."""
        if self.recurrence == Recurrence.ONCE:
            return self.ends_on
        today = timezone.localtime(moment).date()
        return min(max(today, self.starts_on), self.ends_on)

    def deadline_of(self, round_date: date) -> datetime:
        return timezone.make_aware(datetime.combine(round_date, self.due_time))

    def rounds(self) -> list[date]:
        if self.recurrence == Recurrence.ONCE:
            return [self.ends_on]
        from datetime import timedelta

        return [self.starts_on + timedelta(days=n) for n in range((self.ends_on - self.starts_on).days + 1)]

    @property
    def deadline(self) -> datetime:
        return self.deadline_of(self.ends_on)

    @property
    def photo_keys(self) -> list[str]:
        return [item["key"] for item in self.fields if item["kind"] == FieldKind.PHOTO]

    @property
    def target_description(self) -> str:
        if self.target_kind == TargetKind.GRID:
            return str(TargetKind.GRID.label)
        what = _("rental houses") if self.target_rental else _("houses")
        if self.target_use:
            what = f"{what} ({HouseUse(self.target_use).label})"
        if self.target_kind == TargetKind.BUILDING:
            return _("every building with %(what)s") % {"what": what}
        return _("every one of the %(what)s") % {"what": what}


class SweepTarget(models.Model):
    """One grid, house or building a task was sent to, with its grid and the grid's area path."""

    # Written 100,000 at a time: each index and foreign-key check costs at creation, so the single-column
    # indexes the composite ones below cover are left out, and the house and building are a snapshot
    # (the label keeps the address) rather than checked references: a house demolished later leaves
    # its target, and what was reported on it, in place.
    task = models.ForeignKey(SweepTask, on_delete=models.CASCADE, related_name="targets", db_index=False)
    grid = models.ForeignKey("grids.Area", verbose_name=gettext_lazy("grid"), on_delete=models.PROTECT,
                             related_name="+", db_index=False)
    area_path = models.CharField(gettext_lazy("area path"), max_length=255)
    house = models.ForeignKey("parties.House", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                              db_index=False, db_constraint=False)
    building = models.ForeignKey("parties.Building", null=True, blank=True, on_delete=models.DO_NOTHING,
                                 related_name="+", db_index=False, db_constraint=False)
    label = models.CharField(gettext_lazy("target"), max_length=300)

    class Meta:
        verbose_name = gettext_lazy("sweep target")
        verbose_name_plural = gettext_lazy("sweep targets")
        ordering = ["task", "area_path", "label", "id"]
        indexes = [
            # The board's roll-up and drill-down: one task's targets under an area path prefix.
            models.Index(fields=["task", "area_path"], opclasses=["int8_ops", "text_pattern_ops"],
                         name="sweeptarget_task_path"),
            models.Index(fields=["task", "grid"], name="sweeptarget_task_grid"),
        ]

    def __str__(self) -> str:
        return self.label


class SweepGrid(models.Model):
    """One grid a task reaches, with how many of the task's targets lie in it: the board's rows.

    The board reads these and the round counters below, never the targets, so its cost follows the
    number of grids under the area shown, not the number of houses (DESIGN.md §7: counters kept as
    things move, reconciled from the rows they count, cases.actions.sweeps.rebuild_sweep_counters).
    """

    task = models.ForeignKey(SweepTask, on_delete=models.CASCADE, related_name="grids")
    grid = models.ForeignKey("grids.Area", on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(gettext_lazy("area path"), max_length=255)
    targets = models.PositiveIntegerField(gettext_lazy("targets"))

    class Meta:
        verbose_name = gettext_lazy("sweep grid")
        verbose_name_plural = gettext_lazy("sweep grids")
        indexes = [models.Index(fields=["task", "area_path"], opclasses=["int8_ops", "text_pattern_ops"],
                                name="sweepgrid_task_path")]
        constraints = [models.UniqueConstraint(fields=["task", "grid"], name="sweepgrid_once")]

    def __str__(self) -> str:
        return f"{self.task_id} {self.grid_id}"


class SweepGridRound(models.Model):
    """A grid's counts in one round: targets reported on time, late, by zero report, with a finding.
    Added to by the report actions in their transaction (one upsert per report)."""

    sweep_grid = models.ForeignKey(SweepGrid, on_delete=models.CASCADE, related_name="rounds")
    round_date = models.DateField(gettext_lazy("round"))
    done = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    zero = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = gettext_lazy("sweep grid round")
        verbose_name_plural = gettext_lazy("sweep grid rounds")
        constraints = [models.UniqueConstraint(fields=["sweep_grid", "round_date"], name="sweepgridround_once")]

    def __str__(self) -> str:
        return f"{self.sweep_grid_id} {self.round_date}"


def sweep_photo_path(instance: SweepPhoto, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"sweeps/{instance.report.task_id}/{uuid.uuid4().hex}.{suffix}"


class SweepReport(models.Model):
    """What a grid worker found at one target in one round, or a zero report (零报告) for it; one per
    target and round. A finding may have become a case or a report-only record (``case``)."""

    task = models.ForeignKey(SweepTask, on_delete=models.CASCADE, related_name="reports")
    target = models.ForeignKey(SweepTarget, on_delete=models.CASCADE, related_name="reports")
    round_date = models.DateField(gettext_lazy("round"))
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(gettext_lazy("reported at"))
    is_late = models.BooleanField(gettext_lazy("late"), default=False)
    is_zero = models.BooleanField(gettext_lazy("zero report"), default=False)
    answers = models.JSONField(gettext_lazy("answers"), default=dict, blank=True)
    note = models.TextField(gettext_lazy("note"), blank=True)
    finding = models.CharField(gettext_lazy("finding"), max_length=16, choices=FindingKind.choices, blank=True)
    case = models.ForeignKey("cases.Case", verbose_name=gettext_lazy("case"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="sweep_reports")
    # The phone's id of the request: a resend from the offline queue answers with the first report.
    client_uuid = models.UUIDField(gettext_lazy("client request id"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = gettext_lazy("sweep report")
        verbose_name_plural = gettext_lazy("sweep reports")
        ordering = ["-reported_at", "-id"]
        indexes = [models.Index(fields=["task", "round_date"], name="sweepreport_task_round")]
        constraints = [
            models.UniqueConstraint(fields=["target", "round_date"], name="sweepreport_once_per_round",
                                    violation_error_message=gettext_lazy("This target has a report for the round.")),
            models.UniqueConstraint(fields=["worker", "client_uuid"], name="sweepreport_client_uuid_per_worker",
                                    condition=Q(client_uuid__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.target} {self.round_date}"


class SweepPhoto(models.Model):
    """A photo answering a photo field of a report, decoded and cleaned by cases.uploads."""

    report = models.ForeignKey(SweepReport, on_delete=models.CASCADE, related_name="photos")
    field_key = models.CharField(gettext_lazy("field"), max_length=8)
    file = models.FileField(gettext_lazy("file"), upload_to=sweep_photo_path)
    content_type = models.CharField(gettext_lazy("content type"), max_length=64)
    size = models.PositiveIntegerField(gettext_lazy("size (bytes)"))

    class Meta:
        verbose_name = gettext_lazy("sweep photo")
        verbose_name_plural = gettext_lazy("sweep photos")
        ordering = ["report", "field_key", "id"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.field_key}"


class SweepReminder(models.Model):
    """A reminder to a grid not yet done, a set time before a round's deadline (cases.tasks).

    Written here rather than as a Notification, which today hangs off a case event; one per task,
    round and grid, so a retried beat task reminds once. The worker's sweep pages show them.
    """

    task = models.ForeignKey(SweepTask, on_delete=models.CASCADE, related_name="reminders")
    round_date = models.DateField(gettext_lazy("round"))
    grid = models.ForeignKey("grids.Area", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(gettext_lazy("created at"))
    remaining = models.PositiveIntegerField(gettext_lazy("targets not yet reported"))

    class Meta:
        verbose_name = gettext_lazy("sweep reminder")
        verbose_name_plural = gettext_lazy("sweep reminders")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["task", "round_date", "grid"], name="sweepreminder_once")]

    def __str__(self) -> str:
        return f"{self.task} {self.round_date} {self.grid_id}"
