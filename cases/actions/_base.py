"""What every action shares: its transaction, the case lock, the rule check, the event row, photos.

Each action: finds the case in the actor's scope (outside scope → NotFound, so scope leaks nothing),
locks the case row, checks its row of the pipeline table (cases.pipeline: role, state, guards; a
second identical call finds the state moved on and is refused with Conflict, so nothing applies
twice), changes the rows, moves the clocks, writes exactly one timeline event, and leaves its side
effects to the outbox hooks, which run after commit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.dispatch import Signal
from django.utils.translation import gettext as _

from cases import outbox, pipeline
from cases.models import Attachment, Case, CaseEvent, ClientRequest, Dispatch
from cases.selectors import visible_cases
from cases.uploads import check_upload, prepare_upload
from govgrid import clock
from govgrid.errors import ActionError, NotFound
from govgrid.versioned import Versioned
from grids.models import Area, Centre

# Sent inside the action's transaction for every event written; reports keeps its counters with it
# (reports depends on cases, never the other way round).
event_recorded = Signal()

CLOCK_FIELDS = ("stage", "stage_started_at", "due_at", "warn_at", "light", "next_check_at")


def now() -> datetime:
    return clock.now()


def require_text(value: str | None, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ActionError(message, field=field, code="required")
    return text


def see(actor, case_id: int) -> None:
    """NotFound unless the actor may see the case (the system, actor None, sees everything)."""
    if actor is not None and not visible_cases(actor).filter(pk=case_id).exists():
        raise NotFound(_("No such case."))


def lock(case: Case | int) -> Case:
    """Lock the case row alone, then read what the rules need.

    The lock joins nothing: a lock taken through a join to the owning centre is re-checked against
    the join when a concurrent escalation changed the centre, and finds no row (Case.DoesNotExist).
    FOR NO KEY UPDATE, not FOR UPDATE: rows that merely reference this case (events, notifications,
    another case's duplicate links written by a concurrent triage) take FOR KEY SHARE on it, which
    FOR UPDATE would block, and two triages linking each other as duplicates would deadlock.
    """
    pk = case.pk if isinstance(case, Case) else case
    locked = Case.objects.select_for_update(no_key=True).filter(pk=pk).first()
    if locked is None:
        raise NotFound(_("No such case."))
    locked.centre = Centre.objects.select_related("area").get(pk=locked.centre_id)
    prefetch_related_objects(
        [locked], "category", Prefetch("dispatches", queryset=Dispatch.objects.prefetch_related("extensions"))
    )
    return locked


def reach_and_lock(actor, case: Case | int, rule: str, dispatch=None) -> Case:
    """Scope, lock and the pipeline table's check, in that order, for an action on a case."""
    pk = case.pk if isinstance(case, Case) else case
    see(actor, pk)
    locked = lock(pk)
    pipeline.check(rule, actor, locked, dispatch)
    return locked


def refresh_dispatches(case: Case) -> None:
    """Re-read the case's dispatches after the action changed some (the rules read the prefetch)."""
    case._prefetched_objects_cache.pop("dispatches", None)
    prefetch_related_objects([case], Prefetch("dispatches", queryset=Dispatch.objects.prefetch_related("extensions")))


_pending_events: ContextVar[list | None] = ContextVar("pending_events", default=None)


@contextmanager
def recording() -> Iterator[None]:
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


def action(func):
    """Run an action inside :func:`recording` (its transaction)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with recording():
            return func(*args, **kwargs)

    return wrapper


def notify_listeners(event: CaseEvent, case: Case) -> None:
    pending = _pending_events.get()
    if pending is None:
        event_recorded.send(sender=CaseEvent, event=event, case=case)
    else:
        pending.append((event, case))


def record(case: Case, action_name: str, actor, *, from_status: str = "", to_status: str = "", note: str = "",
           payload: dict | None = None, at: datetime | None = None, client_uuid=None) -> CaseEvent:
    """Write the action's one timeline event; it is the outbox of whoever the table says is told."""
    rule = pipeline.RULES_BY_EVENT[action_name]
    event = CaseEvent.objects.create(
        case=case, actor=actor, at=at or now(), action=action_name, from_status=from_status,
        to_status=to_status or from_status, note=note, payload=payload or {}, client_uuid=client_uuid,
    )
    if client_uuid is not None:
        spend_client_uuid(event, actor, client_uuid)
    notify_listeners(event, case)
    if rule.notify:
        outbox.events_written([event.pk])
    return event


def spend_client_uuid(event: CaseEvent, actor, client_uuid) -> None:
    """Keep the phone's request id of the event, once per actor, in the event's transaction.

    The action looks the id up under the case lock first, so a resend to the same case never gets
    here; two copies sent at once to two different cases do (each holds its own case's lock): the
    unique constraint makes the second wait for the first and then refuses it.
    """
    try:
        with transaction.atomic():
            ClientRequest.objects.create(actor=actor, client_uuid=client_uuid, case_id=event.case_id, event=event,
                                         action=event.action)
    except IntegrityError:
        raise ActionError(_("This request id was already used for something else."), field="client_uuid") from None


def save(case: Case, *fields: str) -> None:
    case.save(update_fields=[*fields, "updated_at"])


def attach(case: Case, event: CaseEvent, kind: str, files: Iterable, actor) -> list[Attachment]:
    """Store the photos decoded and cleaned (EXIF and GPS gone, the sniffed type's suffix)."""
    saved = []
    for upload in files:
        photo = prepare_upload(upload)  # check_files decoded it already: this reuses the result
        saved.append(Attachment.objects.create(
            case=case, event=event, kind=kind, file=photo.file, content_type=photo.content_type,
            size=photo.file.size, uploaded_by=actor,
        ))
    return saved


def check_files(files: Sequence, *, required: bool, field: str = "photos") -> list:
    files = list(files or [])
    if required and not files:
        raise ActionError(_("Add at least one photo."), field=field, code="required")
    for upload in files:
        check_upload(upload, field=field)
    return files


_CENTRES = Versioned("centres")


def _centres_by_code() -> dict[str, Centre]:
    return {centre.area.code: centre for centre in Centre.objects.select_related("area")}


def owning_centre(grid: Area) -> Centre:
    """The nearest centre above a grid: its town's, else the district's, else the city's.

    From the per-process table of centres (govgrid.versioned): a report costs no query for it."""
    by_code = _CENTRES.get(_centres_by_code)
    found = [by_code[code] for code in grid.path.rstrip("/").split("/") if code in by_code]
    centre = max(found, key=lambda c: c.level, default=None)
    if centre is None:
        raise ActionError(_("No centre covers grid %(grid)s.") % {"grid": grid.name}, field="location")
    return centre


def parent_centre(centre: Centre) -> Centre | None:
    by_code = _CENTRES.get(_centres_by_code)
    found = [by_code[code] for code in centre.area.path.rstrip("/").split("/")[:-1] if code in by_code]
    return max(found, key=lambda c: c.level, default=None)
