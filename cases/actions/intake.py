"""Intake: a report from the grid (or a centre, a department, the hotline), resolved on the spot or
filed as report-only; photos added later."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.contrib.gis.geos import Point
from django.db import IntegrityError
from django.utils.translation import gettext as _

from cases import deadlines, outbox, pipeline
from cases.actions._base import (
    attach,
    check_files,
    lock,
    now,
    owning_centre,
    record,
    recording,
    require_text,
    see,
)
from cases.actions.clocks import start_accept
from cases.actions.emergency import after_report
from cases.choices import Action, AttachmentKind, Channel, ClosureKind, Status, Urgency
from cases.emergency import mode_for
from cases.models import Attachment, Case, Category
from govgrid.errors import ActionError, Forbidden
from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.scope import scope_for
from grids.selectors import LocationError, check_coordinate, outside_every_grid
from parties.addresses import locate_report


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
    answered: bool = False,
    resolution_note: str = "",
    after_photos: Sequence = (),
) -> tuple[Case, bool]:
    """Log a problem found in a grid. Returns (case, created).

    A retry with the same `client_uuid` from the same reporter returns the case of the first call
    (created=False), whatever happened to the first response on a flaky network.

    A citizen has no account: ``reporter`` None on the citizen and Open311 channels (the appeal,
    cases.actions.appeals, records who asked). ``answered``: a hotline call answered on the phone
    (the table's "answer" row).
    """
    scope = scope_for(reporter)
    citizen = reporter is None and channel in (Channel.CITIZEN, Channel.OPEN311)
    if not citizen and (reporter is None or not scope.has_role(*pipeline.REPORTER_ROLES)):
        raise Forbidden(_("Your role may not report cases."))
    if client_uuid is not None:
        try:
            client_uuid = uuid.UUID(str(client_uuid))
        except ValueError:
            raise ActionError(_("client_uuid is not a valid UUID."), field="client_uuid") from None
    try:
        lon, lat = float(lon), float(lat)
        check_coordinate(lon, lat)
    except (LocationError, TypeError, ValueError) as exc:
        if client_uuid is not None:  # a resend answers with the first case, whatever it carries
            existing = Case.objects.filter(reporter=reporter, client_uuid=client_uuid).first()
            if existing is not None:
                return existing, False
        raise ActionError(str(exc), field="location") from None
    # The grid, the address if none was typed, and an earlier send of this report: one round trip.
    address = (address or "").strip()
    located = locate_report(lon, lat, reporter_id=reporter.pk if reporter is not None else None,
                            client_uuid=client_uuid, want_address=not address)
    if located.existing_case_id is not None:
        return Case.objects.get(pk=located.existing_case_id), False
    channel = channel or _default_channel(scope)
    if channel not in Channel.values:
        raise ActionError(_("Unknown channel."), field="channel")
    if category is None or not category.is_leaf or not category.is_active:
        raise ActionError(_("Choose an active category (not a family)."), field="category")
    if channel in pipeline.CITIZEN_CHANNELS and channel != Channel.HOTLINE and not category.citizen_allowed:
        raise ActionError(_("Citizens may not report in this category."), field="category")
    description = require_text(description, "description", _("Describe the problem."))
    if sum((self_resolve, report_only, answered)) > 1:
        raise ActionError(_("A case is either resolved on the spot or report-only, not both."), field="report_only")
    if urgency and urgency not in Urgency.values:
        raise ActionError(_("Unknown urgency."), field="urgency")
    grid = located.grid
    if grid is None:
        raise ActionError(str(outside_every_grid(lon, lat)), field="location")
    if not citizen and not pipeline.may_report_in(reporter, grid):
        raise ActionError(
            _("The point lies in grid %(grid)s (%(code)s), outside the grids you work in; report it to that "
              "grid's worker or its centre.") % {"grid": grid.name, "code": grid.code},
            field="location", code="outside_own_grids",
        )
    # Every case has an address: what the reporter typed, else the nearest standard address (一标).
    address = address or located.address
    photos = check_files(photos, required=False)
    if answered:
        resolution_note = require_text(resolution_note, "resolution_note", _("Say what the caller was told."))
    if self_resolve:
        resolution_note = require_text(
            resolution_note, "resolution_note", _("Say how the problem was resolved on the spot.")
        )
        after_photos = check_files(after_photos, required=True, field="after_photos")
    centre = owning_centre(grid)
    at = now()
    mode = mode_for(grid, at)  # emergency mode over the grid: the case is flagged and its clocks run short
    case = Case(
        channel=channel, reporter=reporter, client_uuid=client_uuid, category=category, description=description,
        address=address[:200], location=Point(lon, lat, srid=4326), grid=grid,
        area_path=grid.path, centre=centre, urgency=urgency or category.urgency, reported_at=at,
        is_emergency=mode is not None, activation=mode, clock_factor=mode.factor if mode else None,
    )
    if self_resolve:
        case.status, case.closure_kind, case.closed_at, case.closed_on_time = (
            Status.CLOSED, ClosureKind.SELF_RESOLVED, at, True,
        )
        case.handled_at = case.verified_at = at
        deadlines.stop_clock(case)
        case.triaged_at = at
        action_name, note = Action.SELF_RESOLVE, resolution_note
    elif report_only or answered:
        case.status = Status.FILED
        if answered:
            case.closure_kind, case.closed_at = ClosureKind.ANSWERED, at
        deadlines.stop_clock(case)
        case.triaged_at = at
        action_name, note = (Action.ANSWER, resolution_note) if answered else (Action.FILE, "")
    else:
        start_accept(case, at)
        action_name, note = Action.REPORT, ""
    try:
        with recording():
            case.save()
            event = record(case, action_name, reporter, to_status=case.status, note=note, at=at,
                           payload={"channel": channel, "grid": grid.code, "centre": centre.pk})
            attach(case, event, AttachmentKind.REPORT, photos, reporter)
            if self_resolve:
                attach(case, event, AttachmentKind.SELF_RESOLVE, after_photos, reporter)
            if case.status == Status.REPORTED:
                after_report(case)  # the table's rows that follow a report (emergency escalation)
    except IntegrityError:
        # Two retries raced past the look-up above; the unique constraint let one win.
        existing = Case.objects.filter(reporter=reporter, client_uuid=client_uuid).first() if client_uuid else None
        if existing is None:
            raise
        return existing, False
    if case.status == Status.REPORTED:
        outbox.case_reported(case.pk)
    return case, True


def _default_channel(scope) -> str:
    if scope.has_role(*GRID_ROLES) and not scope.is_admin:
        return Channel.GRID_WORKER
    if scope.has_role(Role.DEPT_HANDLER) and not scope.is_admin:
        return Channel.DEPARTMENT
    if scope.has_role(*CENTRE_ROLES) and not scope.is_admin:
        return Channel.HOTLINE
    return Channel.GRID_WORKER


def add_photos(case: Case, *, actor, kind: str, photos: Sequence) -> list[Attachment]:
    """Attach more photos to a case: each kind only by whose work it shows (the table's attach rows)."""
    rule_name = pipeline.ATTACH_RULES.get(kind)
    if rule_name is None:
        raise ActionError(_("Unknown photo kind."), field="kind")
    rule = pipeline.RULES_BY_NAME[rule_name]
    photos = check_files(photos, required=True)
    with recording():
        see(actor, case.pk if isinstance(case, Case) else case)
        case = lock(case)
        pipeline.check(rule, actor, case, pipeline.dispatch_for(rule, actor, case))
        event = record(case, Action.ATTACH, actor, from_status=case.status,
                       payload={"kind": kind, "count": len(photos)})
        return attach(case, event, kind, photos, actor)
