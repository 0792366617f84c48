"""Every change of a case, one function per business action (DESIGN.md §5).

Each action: checks scope and role (outside scope → NotFound, so scope leaks nothing), locks the
case row and checks its state (compare-and-set: a second identical call finds the state moved on and
is refused with Conflict, so nothing applies twice), changes the rows, recomputes the clocks, writes
exactly one timeline event, and enqueues its side effects to run after commit. Pages, the API, the
admin and Celery tasks call these; nothing else writes a case.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _

from cases import deadlines
from cases.choices import (
    ACTIVE_DISPATCH_STATUSES,
    OPEN_STATUSES,
    SUPERVISION_RANK,
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
from cases.models import Attachment, Case, CaseEvent, Category, Dispatch, ExtensionRequest
from cases.selectors import visible_cases
from cases.uploads import check_upload
from govgrid import clock
from govgrid.errors import ActionError, Conflict, Forbidden, NotFound
from govgrid.tasks import enqueue
from govgrid.workcalendar import TimeUnit
from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.models import Area, Centre, Department
from grids.scope import scope_for, visible_departments
from grids.selectors import LocationError, locate_grid

# Sent inside the action's transaction for every event written; reports keeps its counters with it
# (reports depends on cases, never the other way round).
event_recorded = Signal()

REPORTER_ROLES = (*GRID_ROLES, *CENTRE_ROLES, Role.DEPT_HANDLER, Role.ADMIN)
CITIZEN_CHANNELS = (Channel.CITIZEN, Channel.OPEN311, Channel.HOTLINE)


# --- helpers ---------------------------------------------------------------------------------


def _now() -> datetime:
    return clock.now()


def _require_text(value: str | None, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ActionError(message, field=field, code="required")
    return text


def _lock(case: Case | int) -> Case:
    pk = case.pk if isinstance(case, Case) else case
    # FOR NO KEY UPDATE, not FOR UPDATE: rows that merely reference this case (events, notifications,
    # another case's duplicate links written by a concurrent triage) take FOR KEY SHARE on it, which
    # FOR UPDATE would block, and two triages linking each other as duplicates would deadlock.
    return (
        Case.objects.select_for_update(of=("self",), no_key=True)
        .select_related("category", "centre__area")
        .get(pk=pk)
    )


def _see(actor, case_id: int) -> None:
    if actor is not None and not visible_cases(actor).filter(pk=case_id).exists():
        raise NotFound(_("No such case."))


def _require_centre(actor, case: Case) -> None:
    """Centre staff whose act scope covers the owning centre (a district centre may act on a town's
    cases; a town centre not on a case escalated to the district)."""
    if actor is None:  # the system itself: sweeps and tasks
        return
    _see(actor, case.pk)
    scope = scope_for(actor)
    if scope.is_admin:
        return
    if not scope.has_role(*CENTRE_ROLES) or not any(
        case.centre.area.path.startswith(path) for path in scope.centre_paths
    ):
        raise Forbidden(_("Only staff of the centre that owns this case may do that."))


def _require_state(case: Case, *allowed: str) -> None:
    if case.status not in allowed:
        raise Conflict(
            _("The case is %(status)s; this action needs it to be %(allowed)s.")
            % {
                "status": case.get_status_display(),
                "allowed": _(" or ").join(str(Status(s).label) for s in allowed),
            }
        )


def _require_running(case: Case) -> None:
    if case.suspended_at is not None:
        raise Conflict(_("The case is suspended; resume it first."))


_pending_events: ContextVar[list | None] = ContextVar("pending_events", default=None)


@contextmanager
def _recording() -> Iterator[None]:
    """The transaction of one action.

    Listeners of ``event_recorded`` (the report counters) are called at the END of it, just before
    commit, not when the event row is written: the counter rows they upsert are shared (a city has
    one row per day and category that every report of the day adds to), so their locks must be held
    for the shortest time, not through the photo uploads and other writes of the action.
    """
    with transaction.atomic():
        pending: list = []
        token = _pending_events.set(pending)
        try:
            yield
            for event, case in pending:
                event_recorded.send(sender=CaseEvent, event=event, case=case)
        finally:
            _pending_events.reset(token)


def _action(func):
    """Run an action inside :func:`_recording` (its transaction)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _recording():
            return func(*args, **kwargs)

    return wrapper


def _notify_listeners(event: CaseEvent, case: Case) -> None:
    pending = _pending_events.get()
    if pending is None:
        event_recorded.send(sender=CaseEvent, event=event, case=case)
    else:
        pending.append((event, case))


def _record(case: Case, action: str, actor, *, from_status: str = "", to_status: str = "", note: str = "",
            payload: dict | None = None, at: datetime | None = None, notify: bool = True) -> CaseEvent:
    event = CaseEvent.objects.create(
        case=case, actor=actor, at=at or _now(), action=action, from_status=from_status,
        to_status=to_status or from_status, note=note, payload=payload or {},
    )
    _notify_listeners(event, case)
    if notify:
        from cases import tasks

        enqueue(tasks.notify_event, event.pk)
    return event


def _save(case: Case, *fields: str) -> None:
    case.save(update_fields=[*fields, "updated_at"])


CLOCK_FIELDS = ("stage", "stage_started_at", "due_at", "warn_at", "light", "next_check_at")


def _share(case: Case) -> Decimal:
    return case.category.yellow_share or deadlines.default_yellow_share()


def _start_stage(case: Case, stage: str, *, start: datetime, due: datetime, natural: bool, now: datetime) -> None:
    deadlines.start_clock(case, stage, start=start, due=due, share=_share(case), natural=natural, now=now)


def _start_accept_clock(case: Case, now: datetime) -> None:
    limit = deadlines.stage_limit(Stage.ACCEPT)
    case.accept_due_at = limit.due_from(now)
    _start_stage(case, Stage.ACCEPT, start=now, due=case.accept_due_at, natural=limit.natural, now=now)


def _start_handle_clock(case: Case, lead: Dispatch, now: datetime) -> None:
    case.handle_due_at = lead.due_at
    natural = deadlines.category_limit(case.category).natural
    _start_stage(case, Stage.HANDLE, start=lead.dispatched_at, due=lead.due_at, natural=natural, now=now)


def _attach(case: Case, event: CaseEvent, kind: str, files: Iterable, actor) -> list[Attachment]:
    saved = []
    for upload in files:
        content_type = check_upload(upload)
        saved.append(Attachment.objects.create(
            case=case, event=event, kind=kind, file=upload, content_type=content_type, size=upload.size,
            uploaded_by=actor,
        ))
    return saved


def _check_files(files: Sequence, *, required: bool, field: str = "photos") -> list:
    files = list(files or [])
    if required and not files:
        raise ActionError(_("Add at least one photo."), field=field, code="required")
    for upload in files:
        check_upload(upload, field=field)
    return files


def owning_centre(grid: Area) -> Centre:
    """The nearest centre above a grid: its town's, else the district's, else the city's."""
    codes = grid.path.rstrip("/").split("/")
    centre = Centre.objects.filter(area__code__in=codes).select_related("area").order_by("-level").first()
    if centre is None:
        raise ActionError(_("No centre covers grid %(grid)s.") % {"grid": grid.name}, field="location")
    return centre


def _parent_centre(centre: Centre) -> Centre | None:
    codes = centre.area.path.rstrip("/").split("/")[:-1]
    return Centre.objects.filter(area__code__in=codes).select_related("area").order_by("-level").first()


# --- intake ----------------------------------------------------------------------------------


def report_case(
    *,
    reporter,
    category: Category,
    lon: float,
    lat: float,
    description: str,
    channel: str | None = None,
    address: str = "",
    client_uuid: uuid.UUID | str | None = None,
    urgency: str | None = None,
    photos: Sequence = (),
    self_resolve: bool = False,
    report_only: bool = False,
    resolution_note: str = "",
    after_photos: Sequence = (),
) -> tuple[Case, bool]:
    """Log a problem found in a grid. Returns (case, created).

    A retry with the same `client_uuid` from the same reporter returns the case of the first call
    (created=False), whatever happened to the first response on a flaky network.
    """
    scope = scope_for(reporter)
    if reporter is None or not scope.has_role(*REPORTER_ROLES):
        raise Forbidden(_("Your role may not report cases."))
    if client_uuid is not None:
        try:
            client_uuid = uuid.UUID(str(client_uuid))
        except ValueError:
            raise ActionError(_("client_uuid is not a valid UUID."), field="client_uuid") from None
        existing = Case.objects.filter(reporter=reporter, client_uuid=client_uuid).first()
        if existing is not None:
            return existing, False
    channel = channel or _default_channel(scope)
    if channel not in Channel.values:
        raise ActionError(_("Unknown channel."), field="channel")
    if category is None or not category.is_leaf or not category.is_active:
        raise ActionError(_("Choose an active category (not a family)."), field="category")
    if channel in CITIZEN_CHANNELS and channel != Channel.HOTLINE and not category.citizen_allowed:
        raise ActionError(_("Citizens may not report in this category."), field="category")
    description = _require_text(description, "description", _("Describe the problem."))
    if self_resolve and report_only:
        raise ActionError(_("A case is either resolved on the spot or report-only, not both."), field="report_only")
    if urgency and urgency not in Urgency.values:
        raise ActionError(_("Unknown urgency."), field="urgency")
    try:
        grid = locate_grid(float(lon), float(lat))
    except (LocationError, TypeError, ValueError) as exc:
        raise ActionError(str(exc), field="location") from None
    photos = _check_files(photos, required=False)
    if self_resolve:
        resolution_note = _require_text(
            resolution_note, "resolution_note", _("Say how the problem was resolved on the spot.")
        )
        after_photos = _check_files(after_photos, required=True, field="after_photos")
    centre = owning_centre(grid)
    now = _now()
    case = Case(
        channel=channel, reporter=reporter, client_uuid=client_uuid, category=category, description=description,
        address=(address or "").strip()[:200], location=Point(float(lon), float(lat), srid=4326), grid=grid,
        area_path=grid.path, centre=centre, urgency=urgency or category.urgency, reported_at=now,
    )
    if self_resolve:
        case.status, case.closure_kind, case.closed_at, case.closed_on_time = (
            Status.CLOSED, ClosureKind.SELF_RESOLVED, now, True,
        )
        case.handled_at = case.verified_at = now
        deadlines.stop_clock(case)
        case.triaged_at = now
    elif report_only:
        case.status = Status.FILED
        deadlines.stop_clock(case)
        case.triaged_at = now
    else:
        _start_accept_clock(case, now)
    try:
        with _recording():
            case.save()
            if self_resolve:
                action, note = Action.SELF_RESOLVE, resolution_note
            elif report_only:
                action, note = Action.FILE, ""
            else:
                action, note = Action.REPORT, ""
            event = _record(case, action, reporter, to_status=case.status, note=note, at=now,
                            payload={"channel": channel, "grid": grid.code, "centre": centre.pk})
            _attach(case, event, AttachmentKind.REPORT, photos, reporter)
            if self_resolve:
                _attach(case, event, AttachmentKind.SELF_RESOLVE, after_photos, reporter)
    except IntegrityError:
        # Two retries raced past the look-up above; the unique constraint let one win.
        existing = Case.objects.filter(reporter=reporter, client_uuid=client_uuid).first() if client_uuid else None
        if existing is None:
            raise
        return existing, False
    if case.status == Status.REPORTED:
        from cases import tasks

        enqueue(tasks.triage_case, case.pk)
    return case, True


def _default_channel(scope) -> str:
    if scope.has_role(*GRID_ROLES) and not scope.is_admin:
        return Channel.GRID_WORKER
    if scope.has_role(Role.DEPT_HANDLER) and not scope.is_admin:
        return Channel.DEPARTMENT
    if scope.has_role(*CENTRE_ROLES) and not scope.is_admin:
        return Channel.HOTLINE
    return Channel.GRID_WORKER


@_action
def triage_case(case_id: int) -> Case:
    """Suggest a lead department and possible duplicates for a new report. Idempotent."""
    from django.contrib.gis.measure import D

    case = _lock(case_id)
    if case.triaged_at is not None:
        return case
    department = suggest_lead_department(case)
    radius = case.category.duplicate_radius_m or 50
    # A degree box prefilter that uses the GiST index, then the exact distance on the sphere.
    degrees = radius / 111_320 / max(0.2, math.cos(math.radians(case.location.y)))
    duplicates = list(
        Case.objects.filter(
            category=case.category, status__in=OPEN_STATUSES, reported_at__gte=case.reported_at - timedelta(hours=72),
            location__dwithin=(case.location, degrees),
        )
        .filter(location__distance_lte=(case.location, D(m=radius)))
        .exclude(pk=case.pk)
        .order_by("reported_at")
        .values_list("pk", flat=True)[:20]
    )
    case.triaged_at = _now()
    case.suggested_department = department
    _save(case, "triaged_at", "suggested_department")
    if duplicates:
        case.duplicate_candidates.set(duplicates)
    _record(case, Action.TRIAGE, None, from_status=case.status, notify=False,
            payload={"suggested_department": department.pk if department else None, "duplicates": duplicates})
    return case


def suggest_lead_department(case: Case) -> Department | None:
    """The category's lead department for the case, nearest the grid.

    A department whose kind is the category's lead kind at its own level wins (a town's 城管中队 for
    the town level, else the district's 城管局); failing that, the most local department of any of the
    category's lead kinds (a town without a 司法所 falls back to the district's 司法局).
    """
    leads = {lead.level: lead.department_kind for lead in case.category.leads.all()}
    if not leads:
        return None
    codes = case.area_path.rstrip("/").split("/")
    candidates = list(
        Department.objects.filter(area__code__in=codes, is_active=True, kind__in=set(leads.values()))
        .select_related("area")
    )
    # Most local first; at the same level, an exact (level, kind) match first.
    candidates.sort(key=lambda d: (-d.area.level, leads.get(d.area.level) != d.kind, d.pk))
    return candidates[0] if candidates else None


# --- the centre --------------------------------------------------------------------------------


@_action
def accept_case(case: Case, *, actor, note: str = "") -> Case:
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, Status.REPORTED)
    now = _now()
    case.status, case.accepted_at = Status.ACCEPTED, now
    _save(case, "status", "accepted_at")
    _record(case, Action.ACCEPT, actor, from_status=Status.REPORTED, to_status=Status.ACCEPTED, note=note)
    return case


@_action
def reject_case(case: Case, *, actor, reason: str) -> Case:
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, Status.REPORTED)
    reason = _require_text(reason, "reason", _("Give the reason for not accepting the case."))
    deadlines.stop_clock(case)
    case.status = Status.REJECTED
    _save(case, "status", *CLOCK_FIELDS)
    _record(case, Action.REJECT, actor, from_status=Status.REPORTED, to_status=Status.REJECTED, note=reason)
    return case


@_action
def merge_case(case: Case, *, actor, master: Case, note: str = "") -> Case:
    if master is None:
        raise ActionError(_("Choose the case to merge into."), field="master", code="required")
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, Status.REPORTED)
    if master.pk == case.pk:
        raise ActionError(_("A case cannot be merged into itself."), field="master")
    if actor is not None and not visible_cases(actor).filter(pk=master.pk).exists():
        raise ActionError(_("No such master case."), field="master")
    master = Case.objects.get(pk=master.pk)
    if master.status not in OPEN_STATUSES:
        raise ActionError(_("The master case must still be open."), field="master")
    deadlines.stop_clock(case)
    case.status, case.master = Status.MERGED, master
    _save(case, "status", "master", *CLOCK_FIELDS)
    _record(case, Action.MERGE, actor, from_status=Status.REPORTED, to_status=Status.MERGED, note=note,
            payload={"master": master.pk})
    return case


@_action
def dispatch_case(case: Case, *, actor, lead: Department, assists: Sequence[Department] = (), note: str = "",
                  time_limit: Decimal | None = None, time_unit: str | None = None) -> Case:
    """Send the case to one lead and any assisting departments, each with its own deadlines."""
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, Status.ACCEPTED)
    _require_running(case)
    if lead is None:
        raise ActionError(_("Choose the lead department."), field="lead", code="required")
    assists = list(dict.fromkeys(assists or ()))
    if lead in assists:
        raise ActionError(_("The lead department cannot also assist."), field="assists")
    allowed = visible_departments(actor, act=True) if actor is not None else Department.objects.all()
    chosen = [lead, *assists]
    allowed_ids = set(allowed.filter(pk__in=[d.pk for d in chosen], is_active=True).values_list("pk", flat=True))
    for department, field in [(lead, "lead"), *((d, "assists") for d in assists)]:
        if department.pk not in allowed_ids:
            raise ActionError(
                _("%(department)s is not a department this centre can dispatch to.") % {"department": department},
                field=field,
            )
    limit = deadlines.category_limit(case.category)
    if time_limit is not None or time_unit is not None:
        try:
            amount = Decimal(str(time_limit))
        except (InvalidOperation, TypeError):
            raise ActionError(_("The time limit must be a number."), field="time_limit") from None
        if amount <= 0 or time_unit not in TimeUnit.values:
            raise ActionError(_("Give a positive time limit and a valid unit."), field="time_limit")
        limit = deadlines.Limit(amount, time_unit)
    now = _now()
    sign_due = deadlines.stage_limit(Stage.SIGN).due_from(now)
    handle_due = limit.due_from(now)
    rows = [
        Dispatch(case=case, department=department, role=DispatchRole.LEAD if i == 0 else DispatchRole.ASSIST,
                 dispatched_at=now, sign_due_at=sign_due, due_at=handle_due)
        for i, department in enumerate(chosen)
    ]
    Dispatch.objects.bulk_create(rows)
    case.status, case.dispatched_at = Status.DISPATCHED, now
    case.sign_due_at, case.handle_due_at = sign_due, handle_due
    _start_stage(case, Stage.SIGN, start=now, due=sign_due, natural=deadlines.stage_limit(Stage.SIGN).natural, now=now)
    _save(case, "status", "dispatched_at", "sign_due_at", "handle_due_at", *CLOCK_FIELDS)
    _record(case, Action.DISPATCH, actor, from_status=Status.ACCEPTED, to_status=Status.DISPATCHED, note=note,
            payload={"lead": lead.pk, "assists": [d.pk for d in assists], "dispatches": [r.pk for r in rows],
                     "due_at": handle_due.isoformat()})
    return case


# --- departments -------------------------------------------------------------------------------


def _lock_dispatch(dispatch: Dispatch | int, actor) -> tuple[Dispatch, Case]:
    pk = dispatch.pk if isinstance(dispatch, Dispatch) else dispatch
    found = Dispatch.objects.filter(pk=pk).values_list("case_id", "department_id").first()
    if found is None:
        raise NotFound(_("No such dispatch."))
    case_id, department_id = found
    _see(actor, case_id)
    scope = scope_for(actor)
    if not (scope.is_admin or department_id in scope.department_ids):
        raise Forbidden(_("Only handlers of the department this was dispatched to may do that."))
    case = _lock(case_id)  # always lock the case first, then its dispatch: one lock order, no deadlock
    dispatch = Dispatch.objects.select_for_update(of=("self",), no_key=True).select_related("department").get(pk=pk)
    return dispatch, case


def _require_dispatch_state(dispatch: Dispatch, *allowed: str) -> None:
    if dispatch.status not in allowed:
        raise Conflict(
            _("This dispatch is %(status)s; the action needs it to be %(allowed)s.")
            % {"status": dispatch.get_status_display(),
               "allowed": _(" or ").join(str(DispatchStatus(s).label) for s in allowed)}
        )


@_action
def sign_dispatch(dispatch: Dispatch, *, actor, note: str = "") -> Case:
    dispatch, case = _lock_dispatch(dispatch, actor)
    _require_dispatch_state(dispatch, DispatchStatus.DISPATCHED)
    now = _now()
    dispatch.status, dispatch.signed_at, dispatch.signed_by = DispatchStatus.SIGNED, now, actor
    dispatch.save(update_fields=["status", "signed_at", "signed_by"])
    from_status = case.status
    if dispatch.role == DispatchRole.LEAD and case.status == Status.DISPATCHED:
        case.status = Status.IN_PROGRESS
        # Also while suspended: start_clock leaves next_check_at empty, and resume_case then restarts
        # the stage the case is really in (not the signing clock of a signed case).
        _start_handle_clock(case, dispatch, now)
        _save(case, "status", *CLOCK_FIELDS, "handle_due_at")
    _record(case, Action.SIGN, actor, from_status=from_status, to_status=case.status, note=note,
            payload={"dispatch": dispatch.pk, "department": dispatch.department_id, "role": dispatch.role})
    return case


@_action
def return_dispatch(dispatch: Dispatch, *, actor, reason: str) -> Case:
    """退单: a department sends back a wrong dispatch. The lead's return puts the case back at the centre."""
    dispatch, case = _lock_dispatch(dispatch, actor)
    _require_dispatch_state(dispatch, DispatchStatus.DISPATCHED, DispatchStatus.SIGNED)
    reason = _require_text(reason, "reason", _("Give the reason for returning the case."))
    now = _now()
    dispatch.status, dispatch.returned_at, dispatch.return_reason = DispatchStatus.RETURNED, now, reason
    dispatch.save(update_fields=["status", "returned_at", "return_reason"])
    from_status = case.status
    payload = {"dispatch": dispatch.pk, "department": dispatch.department_id, "role": dispatch.role}
    if dispatch.role == DispatchRole.LEAD:
        cancelled = list(
            case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES).values_list("pk", flat=True)
        )
        case.dispatches.filter(pk__in=cancelled).update(status=DispatchStatus.CANCELLED)
        ExtensionRequest.objects.filter(dispatch__case=case, status=ExtensionStatus.PENDING).update(
            status=ExtensionStatus.REJECTED, decided_at=now, decision_note=_("The case was returned.")
        )
        case.status = Status.ACCEPTED
        case.sign_due_at = case.handle_due_at = None
        _start_accept_clock(case, now)
        _save(case, "status", "sign_due_at", "handle_due_at", "accept_due_at", *CLOCK_FIELDS)
        payload["cancelled"] = cancelled
    else:
        _complete_handling_if_done(case, now)
    _record(case, Action.RETURN, actor, from_status=from_status, to_status=case.status, note=reason, payload=payload)
    return case


@_action
def request_extension(dispatch: Dispatch, *, actor, amount, unit: str, reason: str) -> ExtensionRequest:
    dispatch, case = _lock_dispatch(dispatch, actor)
    _require_dispatch_state(dispatch, DispatchStatus.DISPATCHED, DispatchStatus.SIGNED)
    reason = _require_text(reason, "reason", _("Give the reason for needing more time."))
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, TypeError):
        raise ActionError(_("The extra time must be a number."), field="amount") from None
    if amount <= 0:
        raise ActionError(_("The extra time must be more than zero."), field="amount")
    if unit not in TimeUnit.values:
        raise ActionError(_("Unknown time unit."), field="unit")
    now = _now()
    if now >= dispatch.due_at:
        raise Conflict(_("The deadline has passed; an extension must be asked for before it expires."),
                       code="deadline_passed")
    if dispatch.extensions.filter(status=ExtensionStatus.PENDING).exists():
        raise Conflict(_("This dispatch already has an extension request waiting."))
    extension = ExtensionRequest.objects.create(
        dispatch=dispatch, requested_by=actor, requested_at=now, reason=reason, amount=amount, unit=unit,
        previous_due_at=dispatch.due_at,
    )
    _record(case, Action.REQUEST_EXTENSION, actor, from_status=case.status, note=reason,
            payload={"extension": extension.pk, "dispatch": dispatch.pk, "amount": str(amount), "unit": unit})
    return extension


@_action
def decide_extension(extension: ExtensionRequest, *, actor, approve: bool, note: str = "") -> ExtensionRequest:
    case_id = ExtensionRequest.objects.filter(pk=extension.pk).values_list("dispatch__case_id", flat=True).first()
    if case_id is None:
        raise NotFound(_("No such extension request."))
    case = _lock(case_id)
    _require_centre(actor, case)
    extension = (
        ExtensionRequest.objects.select_for_update(of=("self",), no_key=True).select_related("dispatch")
        .get(pk=extension.pk)
    )
    if extension.status != ExtensionStatus.PENDING:
        raise Conflict(_("This extension request has already been decided."))
    if not approve:
        note = _require_text(note, "note", _("Say why the extension is refused."))
    now = _now()
    dispatch = extension.dispatch
    extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    extension.decided_by, extension.decided_at, extension.decision_note = actor, now, note
    if approve:
        extension.new_due_at = deadlines.Limit(extension.amount, extension.unit).due_from(dispatch.due_at)
        dispatch.due_at = extension.new_due_at
        dispatch.save(update_fields=["due_at"])
        if dispatch.role == DispatchRole.LEAD:
            case.handle_due_at = dispatch.due_at
            if case.stage == Stage.HANDLE:
                _start_handle_clock(case, dispatch, now)
            _save(case, "handle_due_at", *CLOCK_FIELDS)
    extension.save()
    _record(case, Action.DECIDE_EXTENSION, actor, from_status=case.status, note=note,
            payload={"extension": extension.pk, "dispatch": dispatch.pk, "approved": approve,
                     "due_at": dispatch.due_at.isoformat()})
    return extension


@_action
def feedback_dispatch(dispatch: Dispatch, *, actor, note: str, photos: Sequence = ()) -> Case:
    """A department reports its handling. The case is handled when the lead and every assist have."""
    dispatch, case = _lock_dispatch(dispatch, actor)
    _require_dispatch_state(dispatch, DispatchStatus.SIGNED)
    note = _require_text(note, "note", _("Describe how the case was handled."))
    photos = _check_files(photos, required=False)
    now = _now()
    dispatch.status, dispatch.handled_at, dispatch.feedback = DispatchStatus.HANDLED, now, note
    dispatch.save(update_fields=["status", "handled_at", "feedback"])
    from_status = case.status
    _complete_handling_if_done(case, now)
    event = _record(case, Action.FEEDBACK, actor, from_status=from_status, to_status=case.status, note=note,
                    payload={"dispatch": dispatch.pk, "department": dispatch.department_id, "role": dispatch.role})
    _attach(case, event, AttachmentKind.FEEDBACK, photos, actor)
    return case


def _complete_handling_if_done(case: Case, now: datetime) -> None:
    if case.status != Status.IN_PROGRESS:
        return
    live = list(case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES).values_list("role", "status"))
    if not any(role == DispatchRole.LEAD for role, _status in live):
        return
    if all(status == DispatchStatus.HANDLED for _role, status in live):
        limit = deadlines.stage_limit(Stage.VERIFY)
        case.status, case.handled_at = Status.HANDLED, now
        case.verify_due_at = limit.due_from(now)
        _start_stage(case, Stage.VERIFY, start=now, due=case.verify_due_at, natural=limit.natural, now=now)
        _save(case, "status", "handled_at", "verify_due_at", *CLOCK_FIELDS)


# --- verification, closure, follow-up ---------------------------------------------------------


@_action
def assign_verification(case: Case, *, actor, verifier) -> Case:
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, Status.HANDLED)
    if verifier is None:
        raise ActionError(_("Choose who verifies on site."), field="verifier", code="required")
    verifier_scope = scope_for(verifier)
    if not (verifier_scope.has_role(*GRID_ROLES) and verifier_scope.covers_area(case.grid, act=True)):
        raise ActionError(_("The verifier must be a grid worker of the case's grid."), field="verifier")
    case.verifier = verifier
    _save(case, "verifier")
    _record(case, Action.ASSIGN_VERIFICATION, actor, from_status=case.status, payload={"verifier": verifier.pk})
    return case


@_action
def verify_case(case: Case, *, actor, passed: bool, note: str = "", photos: Sequence = ()) -> Case:
    """核查 on site: pass → verified; fail → back to the departments as rework."""
    _see(actor, case.pk)
    case = _lock(case)
    scope = scope_for(actor)
    allowed = scope.is_admin or (
        case.verifier_id == actor.pk
        if case.verifier_id
        else scope.has_role(*GRID_ROLES) and scope.covers_area(case.grid, act=True)
    )
    if not allowed:
        raise Forbidden(_("Only the assigned verifier (or, if none, a grid worker of this grid) may verify."))
    _require_state(case, Status.HANDLED)
    if not passed:
        note = _require_text(note, "note", _("Say what is still wrong."))
    photos = _check_files(photos, required=True)
    now = _now()
    if passed:
        case.status, case.verified_at = Status.VERIFIED, now
        deadlines.stop_clock(case)
        _save(case, "status", "verified_at", *CLOCK_FIELDS)
    else:
        _reopen_for_rework(case, now)
    event = _record(case, Action.VERIFY, actor, from_status=Status.HANDLED, to_status=case.status, note=note,
                    payload={"passed": passed, "rework_count": case.rework_count})
    _attach(case, event, AttachmentKind.VERIFICATION, photos, actor)
    return case


def _reopen_for_rework(case: Case, now: datetime) -> None:
    """返工: the departments get the case back with a fresh handling deadline."""
    limit = deadlines.category_limit(case.category)
    due = limit.due_from(now)
    live = case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES)
    live.update(status=DispatchStatus.SIGNED, handled_at=None, due_at=due, dispatched_at=now)
    lead = live.filter(role=DispatchRole.LEAD).first()
    case.status = Status.IN_PROGRESS
    case.rework_count += 1
    case.handled_at = case.verified_at = case.closed_at = case.closed_on_time = None
    case.closure_kind = ""
    case.verifier = None
    if lead is not None:
        _start_handle_clock(case, lead, now)
    _save(case, "status", "rework_count", "handled_at", "verified_at", "closed_at", "closed_on_time",
          "closure_kind", "verifier", "handle_due_at", *CLOCK_FIELDS)


@_action
def close_case(case: Case, *, actor, note: str = "") -> Case:
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, Status.VERIFIED)
    if case.channel in CITIZEN_CHANNELS and not case.satisfaction:
        raise Conflict(_("A citizen's case gets a follow-up call before it is closed."), code="follow_up_first")
    now = _now()
    case.status, case.closed_at, case.closure_kind = Status.CLOSED, now, ClosureKind.HANDLED
    case.closed_on_time = bool(case.handled_at and case.handle_due_at and case.handled_at <= case.handle_due_at)
    _save(case, "status", "closed_at", "closure_kind", "closed_on_time")
    _record(case, Action.CLOSE, actor, from_status=Status.VERIFIED, to_status=Status.CLOSED, note=note,
            payload={"on_time": case.closed_on_time})
    return case


@_action
def follow_up(case: Case, *, actor, satisfaction: str, note: str = "") -> Case:
    """回访: record the reporter's satisfaction; "dissatisfied" reopens the case as rework."""
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, Status.VERIFIED, Status.CLOSED)
    if case.closure_kind == ClosureKind.SELF_RESOLVED:
        raise Conflict(_("A self-resolved case has no follow-up call."))
    if satisfaction not in Satisfaction.values:
        raise ActionError(_("Choose satisfied, basically satisfied or dissatisfied."), field="satisfaction")
    if case.satisfaction and case.satisfaction != Satisfaction.DISSATISFIED and case.status == Status.CLOSED:
        raise Conflict(_("The follow-up call for this case is already recorded."))
    from_status = case.status
    case.satisfaction = satisfaction
    _save(case, "satisfaction")
    if satisfaction == Satisfaction.DISSATISFIED:
        _reopen_for_rework(case, _now())
    _record(case, Action.FOLLOW_UP, actor, from_status=from_status, to_status=case.status, note=note,
            payload={"satisfaction": satisfaction})
    return case


# --- clocks, escalation, supervision -------------------------------------------------------------


@_action
def suspend_case(case: Case, *, actor, reason: str) -> Case:
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, *OPEN_STATUSES)
    if case.suspended_at is not None:
        raise Conflict(_("The case is already suspended."))
    reason = _require_text(reason, "reason", _("Give the reason for suspending the case."))
    case.suspended_at = _now()
    case.next_check_at = None
    _save(case, "suspended_at", "next_check_at")
    _record(case, Action.SUSPEND, actor, from_status=case.status, note=reason)
    return case


@_action
def resume_case(case: Case, *, actor, note: str = "") -> Case:
    case = _lock(case)
    _require_centre(actor, case)
    if case.suspended_at is None:
        raise Conflict(_("The case is not suspended."))
    now, paused_from = _now(), case.suspended_at
    natural_handle = deadlines.category_limit(case.category).natural

    def shift(moment, natural=False):
        return deadlines.shift_after_pause(moment, paused_from, now, natural=natural)

    case.accept_due_at, case.sign_due_at, case.verify_due_at = (
        shift(case.accept_due_at), shift(case.sign_due_at), shift(case.verify_due_at),
    )
    case.handle_due_at = shift(case.handle_due_at, natural_handle)
    for dispatch in case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES):
        dispatch.sign_due_at, dispatch.due_at = shift(dispatch.sign_due_at), shift(dispatch.due_at, natural_handle)
        dispatch.save(update_fields=["sign_due_at", "due_at"])
    case.suspended_at = None
    lead = case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES, role=DispatchRole.LEAD).first()
    stage_due = {
        Stage.ACCEPT: (case.accept_due_at, False), Stage.SIGN: (case.sign_due_at, False),
        Stage.HANDLE: (lead.due_at if lead else case.handle_due_at, natural_handle),
        Stage.VERIFY: (case.verify_due_at, False),
    }
    if case.stage in stage_due and stage_due[case.stage][0] is not None:
        due, natural = stage_due[case.stage]
        start = deadlines.shift_start_after_pause(case.stage_started_at, paused_from, now, natural=natural)
        _start_stage(case, case.stage, start=start, due=due, natural=natural, now=now)
    _save(case, "suspended_at", "accept_due_at", "sign_due_at", "handle_due_at", "verify_due_at", *CLOCK_FIELDS)
    _record(case, Action.RESUME, actor, from_status=case.status, note=note,
            payload={"paused_seconds": int((now - paused_from).total_seconds())})
    return case


@_action
def escalate_case(case: Case, *, actor, note: str = "") -> Case:
    """Move the case to the centre above (分级响应). Also done by the sweep for overdue reports."""
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, *OPEN_STATUSES)
    parent = _parent_centre(case.centre)
    if parent is None:
        raise Conflict(_("The case is already at the top centre."))
    return _move_to_centre(case, parent, Action.ESCALATE, actor, note)


@_action
def hand_down_case(case: Case, *, actor, centre: Centre, note: str = "") -> Case:
    """交办: give the case to a centre below the current one that covers the case's grid."""
    if centre is None:
        raise ActionError(_("Choose the centre to hand the case to."), field="centre", code="required")
    case = _lock(case)
    _require_centre(actor, case)
    _require_state(case, *OPEN_STATUSES)
    target = Centre.objects.select_related("area").get(pk=centre.pk)
    if target.level <= case.centre.level or not case.area_path.startswith(target.area.path):
        raise ActionError(_("Hand a case down only to a centre below this one that covers its grid."), field="centre")
    return _move_to_centre(case, target, Action.HAND_DOWN, actor, note)


def _move_to_centre(case: Case, centre: Centre, action: str, actor, note: str) -> Case:
    previous = case.centre
    case.centre = centre
    fields = ["centre"]
    if action == Action.ESCALATE:
        case.escalation_count += 1
        fields.append("escalation_count")
    if case.status == Status.REPORTED and case.suspended_at is None:
        # The new centre gets its own acceptance time; otherwise it inherits a red light on arrival.
        _start_accept_clock(case, _now())
        fields += ["accept_due_at", *CLOCK_FIELDS]
    _save(case, *fields)
    _record(case, action, actor, from_status=case.status, note=note,
            payload={"from_centre": previous.pk, "to_centre": centre.pk})
    return case


@_action
def supervise_case(case: Case, *, actor, level: str, note: str) -> Case:
    """督办: a centre or an official presses on a case; it raises the priority and notifies."""
    _see(actor, case.pk)
    scope = scope_for(actor)
    if not scope.has_role(*CENTRE_ROLES, Role.OFFICIAL):
        raise Forbidden(_("Only centre staff and officials may supervise cases."))
    case = _lock(case)
    _require_state(case, *OPEN_STATUSES)
    if level not in (Supervision.NORMAL, Supervision.YELLOW, Supervision.RED):
        raise ActionError(_("Choose normal, yellow card or red card."), field="level")
    note = _require_text(note, "note", _("Say what is expected of the handlers."))
    previous = case.supervision
    if SUPERVISION_RANK[Supervision(level)] > SUPERVISION_RANK[Supervision(previous or "")]:
        case.supervision = level
    if level in (Supervision.YELLOW, Supervision.RED) and case.urgency == Urgency.NORMAL:
        case.urgency = Urgency.URGENT
    _save(case, "supervision", "urgency")
    _record(case, Action.SUPERVISE, actor, from_status=case.status, note=note,
            payload={"level": level, "previous": previous})
    return case


def sweep_deadlines(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Move lights whose next change has come, and escalate unaccepted overdue reports.

    Reads only rows with `next_check_at <= now` (partial index), so an idle sweep over a million
    open cases is one index probe. Rows are claimed with SKIP LOCKED, so two sweeps never
    double-process a case and an action in flight is never waited for.
    """
    now = now or _now()
    totals = {"yellow": 0, "red": 0, "escalated": 0}
    while True:
        with _recording():
            rows = list(
                Case.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
                .filter(next_check_at__lte=now)
                .select_related("category", "centre__area")
                .defer("location", "centre__area__boundary", "centre__area__centroid")
                .order_by("next_check_at")[:batch]
            )
            if not rows:
                return totals
            events, changed = [], []
            for case in rows:
                new_light = deadlines.light_at(now, case.warn_at, case.due_at)
                if (new_light == Light.RED and case.stage == Stage.ACCEPT and case.status == Status.REPORTED
                        and case.centre.level > 1 and _parent_centre(case.centre) is not None):
                    _move_to_centre(case, _parent_centre(case.centre), Action.ESCALATE, None,
                                    _("Not accepted in time at %(centre)s.") % {"centre": case.centre.name})
                    totals["escalated"] += 1
                    continue
                previous = case.light
                case.light = new_light
                case.next_check_at = deadlines.next_check(new_light, case.warn_at, case.due_at)
                changed.append(case)
                if new_light != previous:
                    totals[new_light] = totals.get(new_light, 0) + 1
                    events.append(CaseEvent(
                        case=case, at=now, action=Action.LIGHT, from_status=case.status, to_status=case.status,
                        payload={"stage": case.stage, "from": previous, "to": new_light,
                                 "due_at": case.due_at.isoformat() if case.due_at else None},
                    ))
            _write_lights(changed)
            CaseEvent.objects.bulk_create(events)
            for event in events:
                _notify_listeners(event, event.case)
            if events:
                from cases import tasks

                enqueue(tasks.notify_events, [event.pk for event in events])


def _write_lights(cases: list[Case]) -> None:
    """One UPDATE for the whole batch (bulk_update's CASE WHEN per row costs more than the sweep)."""
    if not cases:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case AS c SET light = u.light, next_check_at = u.next_check_at, updated_at = now() "
            "FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[]) AS u(id, light, next_check_at) "
            "WHERE c.id = u.id",
            [[c.pk for c in cases], [c.light for c in cases], [c.next_check_at for c in cases]],
        )


def cases_needing_triage(*, older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Reports whose triage never ran (the task was lost, e.g. Redis was down when they came in)."""
    cutoff = _now() - timedelta(seconds=older_than_seconds)
    return list(
        Case.objects.filter(triaged_at__isnull=True, reported_at__lte=cutoff)
        .order_by("reported_at")
        .values_list("pk", flat=True)[:limit]
    )


def mark_notifications_read(user, ids: Iterable[int] | None = None) -> int:
    from cases.models import Notification

    query = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        query = query.filter(pk__in=list(ids))
    return query.update(read_at=_now())


def add_photos(case: Case, *, actor, kind: str, photos: Sequence) -> list[Attachment]:
    """Attach more photos to a case the actor can act on (the same checks as any upload)."""
    _see(actor, case.pk)
    if kind not in AttachmentKind.values:
        raise ActionError(_("Unknown photo kind."), field="kind")
    photos = _check_files(photos, required=True)
    with _recording():
        case = _lock(case)
        event = _record(case, Action.ATTACH, actor, from_status=case.status, notify=False,
                        payload={"kind": kind, "count": len(photos)})
        return _attach(case, event, kind, photos, actor)
