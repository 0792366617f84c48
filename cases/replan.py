"""Re-planning the running clocks of a subtree when emergency mode changes (the table's ``replan`` row).

When an activation is switched on, changes level, is switched off or reaches its planned end, every
open case under its area may now run on other rules: natural time shortened by the strictest level's
factor, or the normal limits again. Each running clock is re-planned from that moment keeping the
share of the stage already used: new due = moment + (1 − used share) × the stage's limit under the new
rules; the light and ``next_check_at`` follow, so the deadline sweep needs nothing new. A suspended case
is re-planned as of the moment it was suspended and stays paused (resume shifts it by the pause).

The work runs in a Celery task, in batches of cases by id (cases.tasks.replan_emergency_clocks), after
the activation has committed. It is idempotent: a case whose ``clock_factor`` already matches the mode
over its area is left alone, so a retried or repeated batch changes nothing more.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from cases import deadlines
from cases.actions._base import CLOCK_FIELDS, notify_listeners, recording
from cases.actions.clocks import live_lead
from cases.choices import ACTIVE_DISPATCH_STATUSES, OPEN_STATUSES, Action, DispatchStatus, Stage
from cases.emergency import Activation, strictest
from cases.models import Case, CaseEvent, Dispatch
from govgrid import clock

BATCH = 500
STAGE_DUE_FIELDS = {
    Stage.ACCEPT: "accept_due_at", Stage.SIGN: "sign_due_at", Stage.HANDLE: "handle_due_at",
    Stage.VERIFY: "verify_due_at",
}


def replan_batch(path: str, *, after: int = 0, batch: int = BATCH,
                 at: datetime | None = None) -> tuple[int, int | None]:
    """Re-plan one batch of the open cases under ``path`` with an id above ``after``, in one transaction.

    Returns (how many were re-planned, the last id looked at — None when the subtree is done)."""
    at = at or clock.now()
    with recording():
        # Every activation over or inside the subtree (a few): the mode of each case is read from them.
        activations = list(Activation.objects.active(at).intersecting([path]))
        rows = list(
            Case.objects.select_for_update(of=("self",), no_key=True)
            .filter(area_path__startswith=path, status__in=OPEN_STATUSES, pk__gt=after)
            .select_related("category").order_by("pk")[:batch]
        )
        if not rows:
            return 0, None
        # The live dispatches of the batch in one query (their deadlines are re-planned with the case's).
        live: dict[int, list[Dispatch]] = {}
        for dispatch in Dispatch.objects.filter(case_id__in=[c.pk for c in rows], status__in=ACTIVE_DISPATCH_STATUSES):
            live.setdefault(dispatch.case_id, []).append(dispatch)
        events = []
        for case in rows:
            mode = strictest(activations, case.area_path)
            factor = mode.factor if mode else None
            if case.clock_factor == factor:
                continue
            events.append(replan_case(case, factor, at, activation=mode, dispatches=live.get(case.pk, [])))
        CaseEvent.objects.bulk_create(events)
        for event in events:
            notify_listeners(event, event.case)
    return len(events), rows[-1].pk if len(rows) == batch else None


def replan_case(case: Case, factor: Decimal | None, at: datetime, *, activation: Activation | None,
                dispatches: list[Dispatch]) -> CaseEvent:
    """Move one locked case's clocks to ``factor`` (in place, saved), and return its unsaved event.
    ``dispatches``: the case's live dispatches."""
    old_factor = case.clock_factor
    moment = case.suspended_at or at
    before = case.due_at
    fields = ["clock_factor"]
    for dispatch in dispatches:
        if dispatch.status == DispatchStatus.DISPATCHED:
            dispatch.sign_due_at = _replan(dispatch.sign_due_at, moment, deadlines.stage_limit(Stage.SIGN, old_factor),
                                           deadlines.stage_limit(Stage.SIGN, factor))
        if dispatch.status in (DispatchStatus.DISPATCHED, DispatchStatus.SIGNED):  # a fed-back one is done
            dispatch.due_at = _replan(dispatch.due_at, moment, deadlines.dispatch_limit(dispatch, old_factor),
                                      deadlines.dispatch_limit(dispatch, factor))
            dispatch.save(update_fields=["sign_due_at", "due_at"])
    case._prefetched_objects_cache = {"dispatches": dispatches}
    case.clock_factor = factor
    lead = live_lead(case)
    if lead is not None:
        case.sign_due_at, case.handle_due_at = lead.sign_due_at, lead.due_at
        fields += ["sign_due_at", "handle_due_at"]
    # (A handling clock always has its live lead; without one there is nothing to re-plan it on.)
    if case.stage in STAGE_DUE_FIELDS and case.due_at is not None and (case.stage != Stage.HANDLE or lead):
        if case.stage == Stage.HANDLE and lead is not None:
            old_limit, new_limit = deadlines.dispatch_limit(lead, old_factor), deadlines.dispatch_limit(lead, factor)
        else:
            old_limit = deadlines.stage_limit(case.stage, old_factor)
            new_limit = deadlines.stage_limit(case.stage, factor)
        remaining = deadlines.remaining_share(case.due_at, moment, old_limit)
        if remaining > 0:
            if case.stage in (Stage.SIGN, Stage.HANDLE) and lead is not None:
                due = lead.sign_due_at if case.stage == Stage.SIGN else lead.due_at  # re-planned above
            else:
                due = deadlines.replanned_due(case.due_at, remaining, moment, new_limit)
            share = deadlines.yellow_share(case.category, case.stage)
            case.due_at = due
            case.warn_at = deadlines.replanned_warn(moment, due, remaining, share, natural=new_limit.natural)
            case.light = deadlines.light_at(at, case.warn_at, due)
            case.next_check_at = None if case.suspended_at else deadlines.next_check(case.light, case.warn_at, due)
            setattr(case, STAGE_DUE_FIELDS[case.stage], due)
            fields += [STAGE_DUE_FIELDS[case.stage], *CLOCK_FIELDS]
    case.save(update_fields=sorted({*fields, "updated_at"}))
    return CaseEvent(
        case=case, actor=None, at=at, action=Action.REPLAN, from_status=case.status, to_status=case.status,
        payload={"activation": activation.pk if activation else None,
                 "level": activation.level if activation else None,
                 "factor": str(factor) if factor is not None else None,
                 "previous_factor": str(old_factor) if old_factor is not None else None,
                 "stage": case.stage, "from": before.isoformat() if before else None,
                 "to": case.due_at.isoformat() if case.due_at else None},
    )


def _replan(due, moment, old_limit, new_limit):
    return deadlines.replanned_due(due, deadlines.remaining_share(due, moment, old_limit), moment, new_limit)
