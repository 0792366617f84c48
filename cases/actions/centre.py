"""The centre: accept, reject, merge, dispatch, and decide extensions."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from cases import access, deadlines
from cases.actions._base import (
    CLOCK_FIELDS,
    action,
    now,
    reach_and_lock,
    record,
    refresh_dispatches,
    require_text,
    save,
)
from cases.actions.clocks import start_handle, start_sign
from cases.choices import Action, DispatchRole, ExtensionStatus, Stage, Status
from cases.models import Case, Dispatch, ExtensionRequest
from govgrid.errors import ActionError, Conflict, NotFound
from govgrid.workcalendar import TimeUnit
from grids.models import Department


@action
def accept_case(case: Case, *, actor, note: str = "") -> Case:
    """立案: the report is the centre's to handle; its acceptance clock runs on until dispatch."""
    case = reach_and_lock(actor, case, "accept")
    case.status, case.accepted_at = Status.ACCEPTED, now()
    save(case, "status", "accepted_at")
    record(case, Action.ACCEPT, actor, from_status=Status.REPORTED, to_status=Status.ACCEPTED, note=note)
    return case


@action
def reject_case(case: Case, *, actor, reason: str) -> Case:
    case = reach_and_lock(actor, case, "reject")
    reason = require_text(reason, "reason", _("Give the reason for not accepting the case."))
    deadlines.stop_clock(case)
    case.status = Status.REJECTED
    save(case, "status", *CLOCK_FIELDS)
    record(case, Action.REJECT, actor, from_status=Status.REPORTED, to_status=Status.REJECTED, note=reason)
    return case


@action
def merge_case(case: Case, *, actor, master: Case | int, note: str = "") -> Case:
    """合并: a duplicate report points at its master case, an open case the actor can see."""
    case = reach_and_lock(actor, case, "merge")
    if master is None:
        raise ActionError(_("Choose the case to merge into."), field="master", code="required")
    master_pk = master.pk if isinstance(master, Case) else master
    if master_pk == case.pk:
        raise ActionError(_("A case cannot be merged into itself."), field="master")
    master = access.access_master_case(actor, case, master_pk) if actor is not None else Case.objects.get(
        pk=master_pk)
    deadlines.stop_clock(case)
    case.status, case.master = Status.MERGED, master
    save(case, "status", "master", *CLOCK_FIELDS)
    record(case, Action.MERGE, actor, from_status=Status.REPORTED, to_status=Status.MERGED, note=note,
           payload={"master": master.pk})
    return case


@action
def dispatch_case(case: Case, *, actor, lead: Department | int, assists: Sequence[Department | int] = (),
                  note: str = "", time_limit: Decimal | None = None, time_unit: str | None = None) -> Case:
    """派遣: one lead and any assisting departments, each a Dispatch with its own deadlines. The handling
    limit is the category's unless the centre gives another; each dispatch keeps the one it runs on."""
    case = reach_and_lock(actor, case, "dispatch")
    if lead is None:
        raise ActionError(_("Choose the lead department."), field="lead", code="required")
    lead = access.access_department(actor, case, lead, field="lead")
    chosen_assists = []
    for assist in assists or ():
        department = access.access_department(actor, case, assist, field="assists")
        if department not in chosen_assists:
            chosen_assists.append(department)
    if lead in chosen_assists:
        raise ActionError(_("The lead department cannot also assist."), field="assists")
    limit = deadlines.category_limit(case.category)
    if time_limit is not None or time_unit is not None:
        try:
            amount = Decimal(str(time_limit))
        except (InvalidOperation, TypeError):
            raise ActionError(_("The time limit must be a number."), field="time_limit") from None
        if not amount.is_finite() or amount <= 0 or amount >= 10000 or time_unit not in TimeUnit.values:
            raise ActionError(_("Give a positive time limit and a valid unit."), field="time_limit")
        limit = deadlines.Limit(amount, time_unit)
    at = now()
    sign_due = deadlines.stage_limit(Stage.SIGN, case.clock_factor).due_from(at)
    # Each dispatch keeps the limit as given; in emergency mode its clock runs on it shortened.
    handle_due = deadlines.under_mode(limit, case.clock_factor).due_from(at)
    rows = [
        Dispatch(case=case, department=department, role=DispatchRole.LEAD if i == 0 else DispatchRole.ASSIST,
                 dispatched_at=at, sign_due_at=sign_due, due_at=handle_due, time_limit=limit.amount,
                 time_unit=limit.unit)
        for i, department in enumerate([lead, *chosen_assists])
    ]
    Dispatch.objects.bulk_create(rows)
    refresh_dispatches(case)
    case.status, case.dispatched_at = Status.DISPATCHED, at
    case.sign_due_at, case.handle_due_at = sign_due, handle_due
    start_sign(case, at, sign_due)
    save(case, "status", "dispatched_at", "sign_due_at", "handle_due_at", *CLOCK_FIELDS)
    record(case, Action.DISPATCH, actor, from_status=Status.ACCEPTED, to_status=Status.DISPATCHED, note=note,
           payload={"lead": lead.pk, "assists": [d.pk for d in chosen_assists], "dispatches": [r.pk for r in rows],
                    "due_at": handle_due.isoformat(), "time_limit": str(limit.amount), "time_unit": limit.unit})
    return case


@action
def decide_extension(extension: ExtensionRequest | int, *, actor, approve: bool, note: str = "") -> ExtensionRequest:
    """延期审批: an approved extension moves the dispatch's deadline (and the case's, for the lead)."""
    pk = extension.pk if isinstance(extension, ExtensionRequest) else extension
    case_id = ExtensionRequest.objects.filter(pk=pk).values_list("dispatch__case_id", flat=True).first()
    if case_id is None:
        raise NotFound(_("No such extension request waiting on this case."), field="extension")
    case = reach_and_lock(actor, case_id, "decide_extension")
    extension = (
        ExtensionRequest.objects.select_for_update(of=("self",), no_key=True).select_related("dispatch")
        .get(pk=pk)
    )
    if extension.status != ExtensionStatus.PENDING:
        raise Conflict(_("This extension request has already been decided."))
    if not approve:
        note = require_text(note, "note", _("Say why the extension is refused."))
    at = now()
    dispatch = extension.dispatch
    extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    extension.decided_by, extension.decided_at, extension.decision_note = actor, at, note
    if approve:
        extension.new_due_at = deadlines.Limit(extension.amount, extension.unit).due_from(dispatch.due_at)
        dispatch.due_at = extension.new_due_at
        dispatch.save(update_fields=["due_at"])
        if dispatch.role == DispatchRole.LEAD:
            case.handle_due_at = dispatch.due_at
            if case.stage == Stage.HANDLE:
                start_handle(case, dispatch, at)
            save(case, "handle_due_at", *CLOCK_FIELDS)
    extension.save()
    record(case, Action.DECIDE_EXTENSION, actor, from_status=case.status, note=note,
           payload={"extension": extension.pk, "dispatch": dispatch.pk, "approved": approve,
                    "due_at": dispatch.due_at.isoformat()})
    return extension
