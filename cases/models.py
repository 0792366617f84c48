"""Cases and everything that hangs off them: categories, dispatches, the timeline, photos, notices."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.choices import (
    Action,
    AttachmentKind,
    Channel,
    ClosureKind,
    DispatchRole,
    DispatchStatus,
    ExtensionStatus,
    Light,
    Satisfaction,
    Stage,
    Status,
    Supervision,
    Urgency,
)
from govgrid.names import NamedInTwoLanguages
from govgrid.workcalendar import TimeUnit
from grids.choices import DepartmentKind, Level


class Category(NamedInTwoLanguages, models.Model):
    """Two levels: a family (市容环境) and its leaves (暴露垃圾). Only leaves are chosen for cases and
    carry the handling rules."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True,
                               help_text=_("Shown on English pages; empty: the Chinese name."))
    parent = models.ForeignKey(
        "self", verbose_name=_("family"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    time_limit = models.DecimalField(
        _("time limit"), max_digits=6, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    time_unit = models.CharField(_("time unit"), max_length=16, choices=TimeUnit.choices, blank=True)
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    acceptance_criteria = models.TextField(_("acceptance criteria"), blank=True)
    closure_criteria = models.TextField(_("closure criteria"), blank=True)
    duplicate_radius_m = models.PositiveIntegerField(_("duplicate radius (m)"), default=50)
    yellow_share = models.DecimalField(
        _("yellow light at share of time used"), max_digits=3, decimal_places=2, default=Decimal("0.75"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.99"))],
    )
    # The handling stage's share is `yellow_share`; the other stages have their own, or the default.
    accept_yellow_share = models.DecimalField(
        _("yellow light share, acceptance"), max_digits=3, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.99"))],
        help_text=_("Empty: the default share."),
    )
    sign_yellow_share = models.DecimalField(
        _("yellow light share, signing"), max_digits=3, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.99"))],
        help_text=_("Empty: the default share."),
    )
    verify_yellow_share = models.DecimalField(
        _("yellow light share, verification"), max_digits=3, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.99"))],
        help_text=_("Empty: the default share."),
    )
    citizen_allowed = models.BooleanField(_("citizens may use it"), default=True)
    open311_attributes = models.JSONField(_("Open311 attributes"), default=list, blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | (Q(time_limit__isnull=False) & ~Q(time_unit="")),
                name="category_leaf_has_time_limit",
                violation_error_message=_("A category leaf needs a time limit and a unit."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def is_leaf(self) -> bool:
        return self.parent_id is not None


class CategoryLead(models.Model):
    """The default lead department kind for a leaf at one area level (town's 城管中队, district's 城管局)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="leads")
    level = models.PositiveSmallIntegerField(_("area level"), choices=Level.choices)
    department_kind = models.CharField(_("department kind"), max_length=32, choices=DepartmentKind.choices)

    class Meta:
        verbose_name = _("default lead department")
        verbose_name_plural = _("default lead departments")
        constraints = [models.UniqueConstraint(fields=["category", "level"], name="category_lead_unique_level")]

    def __str__(self) -> str:
        return f"{self.category} · {self.get_level_display()} · {self.get_department_kind_display()}"


class Case(models.Model):
    """A reported problem on its way from the grid to closure. Only cases.actions writes it."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # No single-column index: the composite (reporter, -reported_at) index serves both.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reporter"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="reported_cases", db_index=False,
    )
    client_uuid = models.UUIDField(_("client request id"), null=True, blank=True, editable=False)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+", db_index=False
    )  # served by the (category, reported_at) index
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REPORTED)
    description = models.TextField(_("description"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    location = models.PointField(_("location"), srid=4326)
    grid = models.ForeignKey("grids.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    # The grid's materialised path, copied so that "cases under town X" is one prefix match on an index.
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    centre = models.ForeignKey(
        "grids.Centre", verbose_name=_("owning centre"), on_delete=models.PROTECT, related_name="cases"
    )
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    supervision = models.CharField(
        _("supervision"), max_length=8, choices=Supervision.choices, default=Supervision.NONE, blank=True
    )
    rework_count = models.PositiveSmallIntegerField(_("rework count"), default=0)
    closure_kind = models.CharField(_("closure kind"), max_length=16, choices=ClosureKind.choices, blank=True)
    satisfaction = models.CharField(_("satisfaction"), max_length=16, choices=Satisfaction.choices, blank=True)
    is_emergency = models.BooleanField(_("emergency"), default=False)
    # Emergency mode (cases.emergency): the activation the case was reported under (its 战时 badge), and
    # the factor its clocks run on now, on natural time (empty: the normal rules). The re-plan task
    # keeps the factor in step with the activations over the case's area.
    activation = models.ForeignKey(
        "cases.Activation", verbose_name=_("reported under emergency activation"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    clock_factor = models.DecimalField(
        _("emergency clock factor"), max_digits=4, decimal_places=3, null=True, blank=True, editable=False,
    )
    is_legacy = models.BooleanField(_("legacy issue"), default=False)
    master = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="merged_cases",
    )
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("verifier"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="verification_cases",
    )

    # Deadlines: one per stage, and the running stage's clock with its light. `next_check_at` is the
    # next moment the light can change (yellow at `warn_at`, red at `due_at`); the sweep reads only
    # cases whose next check has come, through the index of CaseClock (a trigger keeps it in step with
    # this column), so its cost follows the changes. Neither `light` nor `next_check_at` is indexed
    # here: a light change is then a HOT update, which writes no index of this table (bench/sweep.py).
    stage = models.CharField(_("stage"), max_length=8, choices=Stage.choices, default=Stage.ACCEPT, blank=True)
    stage_started_at = models.DateTimeField(_("stage started at"), null=True, blank=True)
    accept_due_at = models.DateTimeField(_("accept by"), null=True, blank=True)
    sign_due_at = models.DateTimeField(_("sign by"), null=True, blank=True)
    handle_due_at = models.DateTimeField(_("handle by"), null=True, blank=True)
    verify_due_at = models.DateTimeField(_("verify by"), null=True, blank=True)
    due_at = models.DateTimeField(_("current deadline"), null=True, blank=True)
    warn_at = models.DateTimeField(_("yellow from"), null=True, blank=True)
    light = models.CharField(_("light"), max_length=8, choices=Light.choices, default=Light.GREEN, blank=True)
    # The red light, for the one index the lists need ("red lights", "overdue", newest first): a column
    # of its own, so green → yellow leaves every index untouched (only turning red or back writes them).
    is_red = models.GeneratedField(
        expression=models.ExpressionWrapper(Q(light=Light.RED), output_field=models.BooleanField()),
        output_field=models.BooleanField(), db_persist=True, verbose_name=_("red light"),
    )
    next_check_at = models.DateTimeField(_("next light check"), null=True, blank=True, editable=False)
    suspended_at = models.DateTimeField(_("suspended since"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)

    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_on_time = models.BooleanField(_("closed on time"), null=True, blank=True)

    # Triage (a Celery task after the report): suggestions for the centre. Null `triaged_at` is how
    # the reconcile sweep finds reports whose task never ran (e.g. Redis was down).
    triaged_at = models.DateTimeField(_("triaged at"), null=True, blank=True)
    suggested_department = models.ForeignKey(
        "grids.Department", verbose_name=_("suggested lead department"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    duplicate_candidates = models.ManyToManyField(
        "self", verbose_name=_("possible duplicates"), blank=True, symmetrical=False, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["area_path"], opclasses=["text_pattern_ops"], name="case_area_path_prefix"),
            models.Index(fields=["status", "centre"], name="case_status_centre"),
            # The centre inbox: a status's cases by due time, the first page read straight off the index
            # instead of sorting every reported case in scope (1.4 s → 1 ms at 1M cases, bench/pages.py).
            models.Index(fields=["status", "due_at"], name="case_status_due"),
            # … and "oldest report first" (2.2 s → ms at 1M cases).
            models.Index(fields=["status", "reported_at", "id"], name="case_status_reported"),
            # The case list's red lights, newest first: red cases are mostly old ones, far down the date
            # index. On `is_red`, not `light` (see there); yellow and green are common enough to be found
            # a page at a time on the date index.
            models.Index(fields=["reported_at", "id"], condition=Q(is_red=True), name="case_red_reported"),
            models.Index(fields=["reported_at"], condition=Q(triaged_at__isnull=True), name="case_untriaged"),
            models.Index(fields=["category", "reported_at"], name="case_category_reported"),
            models.Index(fields=["reporter", "-reported_at"], name="case_reporter_recent"),
            # "Top overdue" lists and the case list's open cases by deadline read open cases in due order
            # (a suspended case is a filter on the few rows read, not a condition of the index).
            models.Index(
                fields=["due_at", "id"], name="case_open_due",
                condition=Q(status__in=["reported", "accepted", "dispatched", "in_progress", "handled", "verified"]),
            ),
            # The map's tiles (cases.tiles) read open cases in a box: the open ones only, not the years of
            # closed cases around them.
            GistIndex(
                fields=["location"], name="case_open_location",
                condition=Q(status__in=["reported", "accepted", "dispatched", "in_progress", "handled", "verified"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "client_uuid"], name="case_client_uuid_per_reporter",
                condition=Q(client_uuid__isnull=False),
            ),
            models.CheckConstraint(
                condition=~Q(status="merged") | Q(master__isnull=False), name="case_merged_has_master",
                violation_error_message=_("A merged case points at its master case."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.category.name}"

    @property
    def number(self) -> str:
        """The case number people quote on the phone: report date and id."""
        return f"{self.reported_at:%Y%m%d}-{self.pk:06d}" if self.pk and self.reported_at else ""

    @property
    def is_open(self) -> bool:
        from cases.choices import OPEN_STATUSES

        return self.status in OPEN_STATUSES


class CaseClock(models.Model):
    """The case's next light check, for the deadline sweep: one row per case whose light can still change.

    Written only by the database (trigger ``cases_case_clock``, migration 0019): every insert or update of
    ``Case.next_check_at`` — actions, replanning, the sweep, a COPY, a plain ``update()`` — upserts the row,
    or deletes it when the case has no next check. The narrow table carries the index the sweep reads, so
    the case table's light columns carry none. Never written by the app.
    """

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True, related_name="clock",
                                verbose_name=_("case"), db_constraint=True)
    next_check_at = models.DateTimeField(_("next light check"), db_index=True)

    class Meta:
        verbose_name = _("light clock")
        verbose_name_plural = _("light clocks")

    def __str__(self) -> str:
        return f"{self.case_id} @ {self.next_check_at:%Y-%m-%d %H:%M}"


class Dispatch(models.Model):
    """A case sent to one department, as lead or assist, with its own status and deadlines."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="dispatches")
    department = models.ForeignKey(
        "grids.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="dispatches"
    )
    role = models.CharField(_("role"), max_length=8, choices=DispatchRole.choices)
    status = models.CharField(_("status"), max_length=16, choices=DispatchStatus.choices,
                              default=DispatchStatus.DISPATCHED)
    dispatched_at = models.DateTimeField(_("dispatched at"))
    sign_due_at = models.DateTimeField(_("sign by"))
    due_at = models.DateTimeField(_("handle by"))
    # The handling limit this dispatch runs on: the category's, or the one the centre set. Its unit
    # decides how the light is measured and how a suspension moves the deadline.
    time_limit = models.DecimalField(_("time limit"), max_digits=6, decimal_places=2)
    time_unit = models.CharField(_("time unit"), max_length=16, choices=TimeUnit.choices)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    handled_at = models.DateTimeField(_("fed back at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_reason = models.TextField(_("return reason"), blank=True)
    feedback = models.TextField(_("feedback"), blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        ordering = ["case", "role", "id"]
        indexes = [models.Index(fields=["department", "status"], name="dispatch_department_status")]
        constraints = [
            # One live lead per case, and a department at most once among a case's live dispatches.
            models.UniqueConstraint(
                fields=["case"], condition=Q(role="lead") & Q(status__in=["dispatched", "signed", "handled"]),
                name="dispatch_one_live_lead",
            ),
            models.UniqueConstraint(
                fields=["case", "department"], condition=Q(status__in=["dispatched", "signed", "handled"]),
                name="dispatch_department_once_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department} ({self.get_role_display()})"


class ExtensionRequest(models.Model):
    """A department asks for more time (延期); the centre decides before the deadline has passed."""

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    reason = models.TextField(_("reason"))
    amount = models.DecimalField(_("extra time"), max_digits=6, decimal_places=2,
                                 validators=[MinValueValidator(Decimal("0.01"))])
    unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices)
    status = models.CharField(_("status"), max_length=16, choices=ExtensionStatus.choices,
                              default=ExtensionStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    previous_due_at = models.DateTimeField(_("deadline before"), null=True, blank=True)
    new_due_at = models.DateTimeField(_("deadline after"), null=True, blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dispatch"], condition=Q(status="pending"), name="extension_one_pending_per_dispatch",
                violation_error_message=_("This dispatch already has an extension request waiting."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dispatch} +{self.amount} {self.get_unit_display()}"


class CaseEvent(models.Model):
    """One row per action: the timeline, the audit trail and the notification outbox.

    Append-only: a trigger (migration) refuses UPDATE and DELETE of any row.

    Partitioned by month on ``at`` (cases/partitions.py, migration 0020): the table's primary key in
    the database is (id, at), as PostgreSQL wants the partition key in every unique index; ``id`` alone
    stays unique (one identity sequence) and is Django's primary key. So nothing can be unique on other
    columns without ``at``: a request id spent on an event is kept unique in :class:`ClientRequest`, and
    the foreign keys to an event are not enforced by the database (``db_constraint=False``): an event is
    never deleted, so the row they point to cannot go away.
    """

    # No single-column index: event_case_at (case, at) serves the case's lookups; one index fewer to write
    # per event (the sweep writes a thousand at a time).
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=Status.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    # The phone's id of the request that made this event (an on-site verification sent from the offline
    # queue): a resend with the same id answers with the first result instead of acting twice.
    client_uuid = models.UUIDField(_("client request id"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["case", "at"], name="event_case_at"),
            models.Index(fields=["at"], name="event_at"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class ClientRequest(models.Model):
    """A phone's request id (``client_uuid``) spent on an event, once per actor.

    The resend look-up of an action reads it (under the case lock), and its unique constraint is the
    backstop for two copies of a request sent to two different cases at once: the events table, being
    partitioned, cannot hold a unique index on (actor, client_uuid). Written in the event's transaction.
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client_uuid = models.UUIDField(_("client request id"))
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    # Not enforced in the database: the events table is partitioned (see CaseEvent).
    event = models.ForeignKey(CaseEvent, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    # The event's action (a copy: the resend look-up reads it without visiting the events' partitions).
    action = models.CharField(_("action"), max_length=24)

    class Meta:
        verbose_name = _("client request")
        verbose_name_plural = _("client requests")
        constraints = [
            models.UniqueConstraint(fields=["actor", "client_uuid"], name="event_client_uuid_per_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.client_uuid}"


def attachment_path(instance: Attachment, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"cases/{instance.case_id}/{uuid.uuid4().hex}.{suffix}"


class Attachment(models.Model):
    """A photo on a case (at report, after self-resolving, of handling, of verification)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    # Not enforced in the database (the events table is partitioned, see CaseEvent); events are never deleted.
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments",
                              db_constraint=False)
    kind = models.CharField(_("kind"), max_length=16, choices=AttachmentKind.choices)
    file = models.FileField(_("file"), upload_to=attachment_path)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()}"


class Notification(models.Model):
    """One notice per recipient and event (or per recipient and ``key`` for a notice that is not about a
    case, e.g. an emergency activation); the unique pairs make a retried task harmless."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    # Not enforced in the database (the events table is partitioned, see CaseEvent); events are never deleted.
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="notifications", db_constraint=False)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(_("message"), max_length=300)
    # A notice without an event: its text as an English msgid with its parameters (shown in the reader's
    # language; ``message`` holds it in Chinese), the page it links to and its idempotency key.
    template = models.CharField(_("message template"), max_length=300, blank=True, editable=False)
    params = models.JSONField(_("message parameters"), default=dict, blank=True, editable=False)
    url = models.CharField(_("link"), max_length=300, blank=True)
    key = models.CharField(_("key"), max_length=120, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event"], name="notification_once_per_event"),
            models.UniqueConstraint(fields=["recipient", "key"], condition=~Q(key=""),
                                    name="notification_once_per_key"),
            models.CheckConstraint(condition=Q(event__isnull=False) | ~Q(key=""),
                                   name="notification_event_or_key"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.message}"


# Emergency mode, sweep tasks (排查任务), patrols (巡查) and disputes (矛盾纠纷) live in their own modules;
# imported here so Django finds their models.
from cases.disputes import (  # noqa: E402, F401
    Agreement,
    DisputeDetails,
    DisputeParty,
    DisputeVisit,
    FollowUp,
    MediationSession,
    Mediator,
    Referral,
    ResolutionCentre,
    ScreeningReport,
    VisitDepartment,
)
from cases.emergency import Activation, ActivationEvent  # noqa: E402, F401
from cases.open311.models import ApiKey, Appeal  # noqa: E402, F401  (citizens' appeals, registered in this app)
from cases.patrols import CheckIn, Patrol, PatrolFinding, PatrolPoint  # noqa: E402, F401
from cases.sweeps import (  # noqa: E402, F401
    SweepGrid,
    SweepGridRound,
    SweepPhoto,
    SweepReminder,
    SweepReport,
    SweepTarget,
    SweepTask,
)


class GridOpenSummary(models.Model):
    """Open cases per grid and map cell, as of the last refresh (cases.tiles.refresh_grid_summary, every
    half minute by beat): what the map's cluster tiles at city scale add up instead of reading every open
    case under them. A cell is a cluster cell at zoom 13 (cases.tiles.SUMMARY_ZOOM, about 600 m), numbered
    on Web Mercator from the world's south-west corner; the cells of every coarser zoom are unions of
    them, so the tiles' clusters are the ones the cases would give. A snapshot written only by that
    refresh; the cases are the truth. One row per grid, area path (the cases' copy of the grid's path,
    which the scope filters on: a grid being moved has both for a moment) and cell with open cases."""

    grid = models.ForeignKey("grids.Area", verbose_name=_("grid"), on_delete=models.CASCADE, related_name="+",
                             db_index=False)  # the unique (grid, …) serves it
    area_path = models.CharField(_("area path"), max_length=255)
    cell_x = models.IntegerField(_("cell column"))
    cell_y = models.IntegerField(_("cell row"))
    open_count = models.IntegerField(_("open cases"))
    red = models.IntegerField(_("red"))
    yellow = models.IntegerField(_("yellow"))
    # Sums of the cases' Web Mercator coordinates: a cluster lies at the mean of its cases, sum / count.
    sum_x = models.FloatField(_("sum of x"))
    sum_y = models.FloatField(_("sum of y"))

    class Meta:
        verbose_name = _("open cases of a grid (map summary)")
        verbose_name_plural = _("open cases of the grids (map summary)")
        constraints = [models.UniqueConstraint(fields=["grid", "area_path", "cell_x", "cell_y"],
                                               name="grid_open_summary_cell")]
        indexes = [models.Index(fields=["cell_x", "cell_y"], name="grid_open_summary_xy")]
