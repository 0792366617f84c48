"""Departments, each on its own dispatch: sign, return, ask for more time, feed back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from cases import pipeline
from cases.actions._base import (
    CLOCK_FIELDS,
    action,
    attach,
    check_files,
    lock,
    now,
    record,
    refresh_dispatches,
    require_text,
    save,
    see,
)
from cases.actions.clocks import start_accept, start_handle, start_verify
from cases.choices import ACTIVE_DISPATCH_STATUSES, Action, AttachmentKind, DispatchRole, DispatchStatus, Status
from cases.models import Case, Dispatch, ExtensionRequest
from cases.selectors import suggest_lead_department
from govgrid.errors import ActionError, NotFound
from govgrid.workcalendar import TimeUnit


def reach_dispatch(actor, dispatch: Dispatch | int, rule: str) -> tuple[Dispatch, Case]:
    """Scope, then the case lock, then the dispatch lock (one lock order: no deadlock), then the rule."""
    pk = dispatch.pk if isinstance(dispatch, Dispatch) else dispatch
    case_id = Dispatch.objects.filter(pk=pk).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotFound(_("No such dispatch."), field="dispatch")
    see(actor, case_id)
    case = lock(case_id)
    locked = Dispatch.objects.select_for_update(of=("self",), no_key=True).select_related("department").get(pk=pk)
    pipeline.check(rule, actor, case, locked)
    return locked, case


@action
def sign_dispatch(dispatch: Dispatch | int, *, actor, note: str = "") -> Case:
    """签收: the lead's signature starts the handling clock, in the dispatch's own unit."""
    dispatch, case = reach_dispatch(actor, dispatch, "sign")
    at = now()
    dispatch.status, dispatch.signed_at, dispatch.signed_by = DispatchStatus.SIGNED, at, actor
    dispatch.save(update_fields=["status", "signed_at", "signed_by"])
    from_status = case.status
    if dispatch.role == DispatchRole.LEAD and case.status == Status.DISPATCHED:
        case.status = Status.IN_PROGRESS
        # Also while suspended: start_clock leaves next_check_at empty, and resume_case then restarts
        # the stage the case is really in (not the signing clock of a signed case).
        start_handle(case, dispatch, at)
        save(case, "status", *CLOCK_FIELDS, "handle_due_at")
    record(case, Action.SIGN, actor, from_status=from_status, to_status=case.status, note=note,
           payload={"dispatch": dispatch.pk, "department": dispatch.department_id, "role": dispatch.role})
    return case


@action
def return_dispatch(dispatch: Dispatch | int, *, actor, reason: str) -> Case:
    """退单: a department sends back a wrong dispatch. The lead's return puts the case back at the centre."""
    from cases.choices import ExtensionStatus

    dispatch, case = reach_dispatch(actor, dispatch, "return")
    reason = require_text(reason, "reason", _("Give the reason for returning the case."))
    at = now()
    dispatch.status, dispatch.returned_at, dispatch.return_reason = DispatchStatus.RETURNED, at, reason
    dispatch.save(update_fields=["status", "returned_at", "return_reason"])
    from_status = case.status
    payload = {"dispatch": dispatch.pk, "department": dispatch.department_id, "role": dispatch.role}
    if dispatch.role == DispatchRole.LEAD:
        cancelled = list(case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES).values_list("pk", flat=True))
        case.dispatches.filter(pk__in=cancelled).update(status=DispatchStatus.CANCELLED)
        ExtensionRequest.objects.filter(dispatch__case=case, status=ExtensionStatus.PENDING).update(
            status=ExtensionStatus.REJECTED, decided_at=at, decision_note=_("The case was returned.")
        )
        refresh_dispatches(case)
        case.status = Status.ACCEPTED
        case.sign_due_at = case.handle_due_at = None
        # The department said it is not theirs: the suggestion leaves it out from now on.
        case.suggested_department = suggest_lead_department(case)
        start_accept(case, at)
        save(case, "status", "sign_due_at", "handle_due_at", "accept_due_at", "suggested_department", *CLOCK_FIELDS)
        payload["cancelled"] = cancelled
    else:
        refresh_dispatches(case)
        complete_handling_if_done(case, at)
    record(case, Action.RETURN, actor, from_status=from_status, to_status=case.status, note=reason, payload=payload)
    return case


@action
def request_extension(dispatch: Dispatch | int, *, actor, amount, unit: str, reason: str) -> ExtensionRequest:
    """延期申请: before the dispatch's deadline, with a reason; the centre decides."""
    dispatch, case = reach_dispatch(actor, dispatch, "request_extension")
    reason = require_text(reason, "reason", _("Give the reason for needing more time."))
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, TypeError):
        raise ActionError(_("The extra time must be a number."), field="amount") from None
    if not amount.is_finite() or amount <= 0 or amount >= 10000:
        raise ActionError(_("The extra time must be more than zero."), field="amount")
    if unit not in TimeUnit.values:
        raise ActionError(_("Unknown time unit."), field="unit")
    extension = ExtensionRequest.objects.create(
        dispatch=dispatch, requested_by=actor, requested_at=now(), reason=reason, amount=amount, unit=unit,
        previous_due_at=dispatch.due_at,
    )
    record(case, Action.REQUEST_EXTENSION, actor, from_status=case.status, note=reason,
           payload={"extension": extension.pk, "dispatch": dispatch.pk, "amount": str(amount), "unit": unit})
    return extension


@action
def feedback_dispatch(dispatch: Dispatch | int, *, actor, note: str, photos: Sequence = ()) -> Case:
    """反馈: a department reports its handling. The case is handled when the lead and every assist have."""
    dispatch, case = reach_dispatch(actor, dispatch, "feedback")
    note = require_text(note, "note", _("Describe how the case was handled."))
    photos = check_files(photos, required=False)
    at = now()
    dispatch.status, dispatch.handled_at, dispatch.feedback = DispatchStatus.HANDLED, at, note
    dispatch.save(update_fields=["status", "handled_at", "feedback"])
    from_status = case.status
    refresh_dispatches(case)
    complete_handling_if_done(case, at)
    event = record(case, Action.FEEDBACK, actor, from_status=from_status, to_status=case.status, note=note,
                   payload={"dispatch": dispatch.pk, "department": dispatch.department_id, "role": dispatch.role})
    attach(case, event, AttachmentKind.FEEDBACK, photos, actor)
    return case


def complete_handling_if_done(case: Case, at: datetime) -> None:
    """When the lead and every live assist have fed back, the case is handled and waits for one
    verifier: the reporter when they work the case's grid (who found it checks it), else whoever the
    centre assigns."""
    if case.status != Status.IN_PROGRESS:
        return
    live = [d for d in case.dispatches.all() if d.status in ACTIVE_DISPATCH_STATUSES]
    if not any(d.role == DispatchRole.LEAD for d in live):
        return
    if all(d.status == DispatchStatus.HANDLED for d in live):
        case.status, case.handled_at = Status.HANDLED, at
        case.verifier_id = pipeline.default_verifier_id(case)
        start_verify(case, at)
        save(case, "status", "handled_at", "verify_due_at", "verifier", *CLOCK_FIELDS)
