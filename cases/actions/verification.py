"""Verification on site (核查): one verifier per case, assigned by the centre or by default the reporter."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.utils.translation import gettext as _

from cases import access, deadlines
from cases.actions._base import (
    CLOCK_FIELDS,
    action,
    attach,
    check_files,
    lock,
    now,
    reach_and_lock,
    record,
    refresh_dispatches,
    require_text,
    save,
    see,
)
from cases.actions.clocks import live_lead, start_handle
from cases.choices import ACTIVE_DISPATCH_STATUSES, Action, AttachmentKind, DispatchStatus, Status
from cases.models import Case, ClientRequest
from govgrid.errors import ActionError


@action
def assign_verification(case: Case, *, actor, verifier) -> Case:
    """The centre names who checks the handling on site (or changes who does): a grid worker of the grid."""
    case = reach_and_lock(actor, case, "assign_verification")
    if verifier is None:
        raise ActionError(_("Choose who verifies on site."), field="verifier", code="required")
    verifier = access.access_verifier(actor, case, getattr(verifier, "username", verifier))
    case.verifier = verifier
    save(case, "verifier")
    record(case, Action.ASSIGN_VERIFICATION, actor, from_status=case.status, payload={"verifier": verifier.pk})
    return case


@action
def verify_case(case: Case, *, actor, passed: bool, note: str = "", photos: Sequence = (),
                client_uuid: uuid.UUID | str | None = None) -> Case:
    """核查 on site: pass → verified; fail → back to the departments as rework.

    A resend with the same ``client_uuid`` by the same verifier (the phone's offline queue, a retry on a
    flaky network) answers with the case as the first call left it instead of a Conflict: the check is
    made under the case lock, so two copies in flight act once.
    """
    if client_uuid is not None:
        try:
            client_uuid = uuid.UUID(str(client_uuid))
        except ValueError:
            raise ActionError(_("client_uuid is not a valid UUID."), field="client_uuid") from None
        see(actor, case.pk if isinstance(case, Case) else case)
        locked = lock(case)
        earlier = ClientRequest.objects.filter(actor=actor, client_uuid=client_uuid).values_list(
            "case_id", "action").first()
        if earlier == (locked.pk, Action.VERIFY):
            return locked
        if earlier is not None:
            raise ActionError(_("This request id was already used for something else."), field="client_uuid")
    case = reach_and_lock(actor, case, "verify")
    if not passed:
        note = require_text(note, "note", _("Say what is still wrong."))
    photos = check_files(photos, required=True)
    at = now()
    if passed:
        case.status, case.verified_at = Status.VERIFIED, at
        deadlines.stop_clock(case)
        save(case, "status", "verified_at", *CLOCK_FIELDS)
    else:
        reopen_for_rework(case, at)
    event = record(case, Action.VERIFY, actor, from_status=Status.HANDLED, to_status=case.status, note=note,
                   payload={"passed": passed, "rework_count": case.rework_count}, client_uuid=client_uuid)
    attach(case, event, AttachmentKind.VERIFICATION, photos, actor)
    return case


def reopen_for_rework(case: Case, at: datetime) -> None:
    """返工: the departments get the case back, each with a fresh deadline on its own limit."""
    for dispatch in case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES):
        dispatch.status, dispatch.handled_at, dispatch.dispatched_at = DispatchStatus.SIGNED, None, at
        dispatch.due_at = deadlines.dispatch_limit(dispatch, case.clock_factor).due_from(at)
        dispatch.save(update_fields=["status", "handled_at", "dispatched_at", "due_at"])
    refresh_dispatches(case)
    case.status = Status.IN_PROGRESS
    case.rework_count += 1
    case.handled_at = case.verified_at = case.closed_at = case.closed_on_time = None
    case.closure_kind = ""
    case.verifier = None
    lead = live_lead(case)
    if lead is not None:
        start_handle(case, lead, at)
    save(case, "status", "rework_count", "handled_at", "verified_at", "closed_at", "closed_on_time",
         "closure_kind", "verifier", "handle_due_at", *CLOCK_FIELDS)
