"""Stage clocks, and the actions that move them or the case between centres: suspend, resume, escalate,
hand down, supervise.

Each stage runs in its own unit (cases.pipeline.STAGE_UNITS): acceptance, signing and verification
in their configured stage limits, handling in the lead dispatch's own limit (the category's unless
the centre set another). Warnings, suspensions and resumes all measure in that unit.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from cases import deadlines
from cases.actions._base import (
    CLOCK_FIELDS,
    action,
    now,
    parent_centre,
    reach_and_lock,
    record,
    require_text,
    save,
)
from cases.choices import (
    ACTIVE_DISPATCH_STATUSES,
    SUPERVISION_RANK,
    Action,
    DispatchRole,
    Stage,
    Status,
    Supervision,
    Urgency,
)
from cases.models import Case, Dispatch
from govgrid.errors import ActionError
from grids.models import Centre


def start_stage(case: Case, stage: str, *, start: datetime, due: datetime, natural: bool, at: datetime) -> None:
    deadlines.start_clock(case, stage, start=start, due=due, share=deadlines.yellow_share(case.category, stage),
                          natural=natural, now=at)


def start_accept(case: Case, at: datetime) -> None:
    limit = deadlines.stage_limit(Stage.ACCEPT, case.clock_factor)
    case.accept_due_at = limit.due_from(at)
    start_stage(case, Stage.ACCEPT, start=at, due=case.accept_due_at, natural=limit.natural, at=at)


def start_sign(case: Case, at: datetime, due: datetime) -> None:
    start_stage(case, Stage.SIGN, start=at, due=due,
                natural=deadlines.stage_limit(Stage.SIGN, case.clock_factor).natural, at=at)


def start_handle(case: Case, lead: Dispatch, at: datetime) -> None:
    case.handle_due_at = lead.due_at
    start_stage(case, Stage.HANDLE, start=lead.dispatched_at, due=lead.due_at,
                natural=deadlines.dispatch_limit(lead, case.clock_factor).natural, at=at)


def start_verify(case: Case, at: datetime) -> None:
    limit = deadlines.stage_limit(Stage.VERIFY, case.clock_factor)
    case.verify_due_at = limit.due_from(at)
    start_stage(case, Stage.VERIFY, start=at, due=case.verify_due_at, natural=limit.natural, at=at)


def live_lead(case: Case) -> Dispatch | None:
    return next((d for d in case.dispatches.all()
                 if d.role == DispatchRole.LEAD and d.status in ACTIVE_DISPATCH_STATUSES), None)


@action
def suspend_case(case: Case, *, actor, reason: str) -> Case:
    """挂起: every clock pauses (e.g. awaiting a court ruling) until the case is resumed."""
    case = reach_and_lock(actor, case, "suspend")
    reason = require_text(reason, "reason", _("Give the reason for suspending the case."))
    case.suspended_at = now()
    case.next_check_at = None
    save(case, "suspended_at", "next_check_at")
    record(case, Action.SUSPEND, actor, from_status=case.status, note=reason)
    return case


@action
def resume_case(case: Case, *, actor, note: str = "") -> Case:
    """Every deadline moves by the pause, each measured in its own stage's unit."""
    case = reach_and_lock(actor, case, "resume")
    at, paused_from = now(), case.suspended_at

    def shift(moment, unit_natural: bool):
        return deadlines.shift_after_pause(moment, paused_from, at, natural=unit_natural)

    factor = case.clock_factor
    natural = {stage: deadlines.stage_limit(stage, factor).natural
               for stage in (Stage.ACCEPT, Stage.SIGN, Stage.VERIFY)}
    case.accept_due_at = shift(case.accept_due_at, natural[Stage.ACCEPT])
    case.sign_due_at = shift(case.sign_due_at, natural[Stage.SIGN])
    case.verify_due_at = shift(case.verify_due_at, natural[Stage.VERIFY])
    for dispatch in case.dispatches.all():
        if dispatch.status not in ACTIVE_DISPATCH_STATUSES:
            continue
        dispatch.sign_due_at = shift(dispatch.sign_due_at, natural[Stage.SIGN])
        dispatch.due_at = shift(dispatch.due_at, deadlines.dispatch_limit(dispatch, factor).natural)
        dispatch.save(update_fields=["sign_due_at", "due_at"])
    lead = live_lead(case)
    handle_natural = deadlines.dispatch_limit(lead, factor).natural if lead else factor is not None
    case.handle_due_at = lead.due_at if lead else shift(case.handle_due_at, handle_natural)
    case.suspended_at = None
    stage_due = {
        Stage.ACCEPT: (case.accept_due_at, natural[Stage.ACCEPT]), Stage.SIGN: (case.sign_due_at, natural[Stage.SIGN]),
        Stage.HANDLE: (case.handle_due_at, handle_natural), Stage.VERIFY: (case.verify_due_at, natural[Stage.VERIFY]),
    }
    if case.stage in stage_due and stage_due[case.stage][0] is not None:
        due, unit_natural = stage_due[case.stage]
        start = deadlines.shift_start_after_pause(case.stage_started_at, paused_from, at, natural=unit_natural)
        start_stage(case, case.stage, start=start, due=due, natural=unit_natural, at=at)
    save(case, "suspended_at", "accept_due_at", "sign_due_at", "handle_due_at", "verify_due_at", *CLOCK_FIELDS)
    record(case, Action.RESUME, actor, from_status=case.status, note=note,
           payload={"paused_seconds": int((at - paused_from).total_seconds())})
    return case


@action
def escalate_case(case: Case, *, actor, note: str = "") -> Case:
    """Move the case to the centre above (分级响应). The sweep does it too for overdue reports."""
    case = reach_and_lock(actor, case, "escalate")
    parent = parent_centre(case.centre)
    if parent is None:
        raise ActionError(_("The case is already at the top centre."), code="top_centre")
    return move_to_centre(case, parent, Action.ESCALATE, actor, note)


@action
def hand_down_case(case: Case, *, actor, centre: Centre, note: str = "") -> Case:
    """交办: give the case to a centre below the current one that covers the case's grid."""
    from cases import access

    case = reach_and_lock(actor, case, "hand_down")
    if centre is None:
        raise ActionError(_("Choose the centre to hand the case to."), field="centre", code="required")
    target = access.access_hand_down_centre(actor, case, centre)
    return move_to_centre(case, target, Action.HAND_DOWN, actor, note)


def move_to_centre(case: Case, centre: Centre, action_name: str, actor, note: str) -> Case:
    previous = case.centre
    case.centre = centre
    fields = ["centre"]
    if action_name == Action.ESCALATE:
        case.escalation_count += 1
        fields.append("escalation_count")
    if case.status == Status.REPORTED and case.suspended_at is None:
        # The new centre gets its own acceptance time; otherwise it inherits a red light on arrival.
        start_accept(case, now())
        fields += ["accept_due_at", *CLOCK_FIELDS]
    save(case, *fields)
    record(case, action_name, actor, from_status=case.status, note=note,
           payload={"from_centre": previous.pk, "to_centre": centre.pk})
    return case


@action
def supervise_case(case: Case, *, actor, level: str, note: str) -> Case:
    """督办: a centre or an official presses on a case; it raises the priority and notifies."""
    case = reach_and_lock(actor, case, "supervise")
    if level not in (Supervision.NORMAL, Supervision.YELLOW, Supervision.RED):
        raise ActionError(_("Choose normal, yellow card or red card."), field="level")
    note = require_text(note, "note", _("Say what is expected of the handlers."))
    previous = case.supervision
    if SUPERVISION_RANK[Supervision(level)] > SUPERVISION_RANK[Supervision(previous or "")]:
        case.supervision = level
    if level in (Supervision.YELLOW, Supervision.RED) and case.urgency == Urgency.NORMAL:
        case.urgency = Urgency.URGENT
    save(case, "supervision", "urgency")
    record(case, Action.SUPERVISE, actor, from_status=case.status, note=note,
           payload={"level": level, "previous": previous})
    return case
