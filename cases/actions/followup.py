"""Closure and the follow-up call (回访)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cases.actions._base import action, now, reach_and_lock, record, save
from cases.actions.verification import reopen_for_rework
from cases.choices import Action, ClosureKind, Satisfaction, Status
from cases.models import Case
from govgrid.errors import ActionError


@action
def close_case(case: Case, *, actor, note: str = "") -> Case:
    """结案: a verified case; a citizen's only after the follow-up call; never while suspended."""
    case = reach_and_lock(actor, case, "close")
    case.status, case.closed_at, case.closure_kind = Status.CLOSED, now(), ClosureKind.HANDLED
    case.closed_on_time = bool(case.handled_at and case.handle_due_at and case.handled_at <= case.handle_due_at)
    save(case, "status", "closed_at", "closure_kind", "closed_on_time")
    record(case, Action.CLOSE, actor, from_status=Status.VERIFIED, to_status=Status.CLOSED, note=note,
           payload={"on_time": case.closed_on_time})
    return case


@action
def follow_up(case: Case, *, actor, satisfaction: str, note: str = "") -> Case:
    """回访: record the reporter's satisfaction; "dissatisfied" reopens the case as rework."""
    case = reach_and_lock(actor, case, "follow_up")
    if satisfaction not in Satisfaction.values:
        raise ActionError(_("Choose satisfied, basically satisfied or dissatisfied."), field="satisfaction")
    from_status = case.status
    case.satisfaction = satisfaction
    save(case, "satisfaction")
    if satisfaction == Satisfaction.DISSATISFIED:
        reopen_for_rework(case, now())
    record(case, Action.FOLLOW_UP, actor, from_status=from_status, to_status=case.status, note=note,
           payload={"satisfaction": satisfaction})
    return case
