"""Patrols 巡查: start, positions, check-ins, findings, end, and the stale-patrol sweep.

A grid worker patrols one of their own grids, one patrol at a time. The phone sends its positions in
batches from the offline queue (static/js/patrol.js): a batch is all or nothing (a bad position
refuses the whole batch with the reason, and nothing of it is written), and a resent batch adds
nothing, because (patrol, recorded_at) is unique and the insert skips what is there. After every
batch PostGIS rebuilds the track (ST_MakeLine ordered by the phone's time) and its length on the
geography, so the distance is always that of the whole track, whatever order the batches came in.

Objects named by the caller come through the access module (cases.access): someone else's patrol is
"no such patrol", whether it exists or not. Findings become cases through intake (report_case, channel
``patrol``), so they follow the pipeline like every other report.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from cases import access, live
from cases.actions._base import now
from cases.actions.intake import report_case
from cases.choices import Channel
from cases.models import Case
from cases.patrols import CheckIn, EndReason, Patrol, PatrolFinding, PatrolPoint, PatrolStatus
from cases.uploads import prepare_upload
from govgrid.errors import ActionError, Conflict, Forbidden
from grids.choices import GRID_ROLES
from grids.scope import scope_for

# A batch the phone sends holds a few minutes of positions; a day's worth at most. More is refused.
MAX_BATCH = 500
# Between two positions: faster than this is a GPS jump, not a walk, a bicycle or a patrol car.
MAX_SPEED_MPS = 50.0
# Positions must lie in a box around the patrolled grid, this far out on every side (≈ 5.5 km).
BOX_MARGIN_DEG = 0.05
# A phone's clock runs a little ahead of the server's; more than this is "in the future".
CLOCK_SLACK = timedelta(minutes=2)


def stale_after() -> timedelta:
    """A patrol with no position for this long is ended by the sweep (setting PATROL_STALE_HOURS)."""
    return timedelta(hours=float(getattr(settings, "PATROL_STALE_HOURS", 4)))


@dataclass(frozen=True)
class Fix:
    """One position from the phone."""

    lon: float
    lat: float
    at: datetime
    accuracy: float | None = None


def _uuid(value) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ActionError(_("client_uuid is not a valid UUID."), field="client_uuid") from None


def _lock(patrol: Patrol) -> Patrol:
    return Patrol.objects.select_for_update(no_key=True).select_related("grid").get(pk=patrol.pk)


# --- start -----------------------------------------------------------------------------------------


def start_patrol(*, worker, grid=None, client_uuid=None) -> tuple[Patrol, bool]:
    """Start a patrol of one of the worker's grids. Returns (patrol, created).

    A resend with the same ``client_uuid`` returns the patrol of the first call. A worker already on
    a patrol is told so (409): one patrol at a time, which the database also enforces.
    """
    if worker is None or not scope_for(worker).has_role(*GRID_ROLES):
        raise Forbidden(_("Only grid workers patrol their grids."))
    client_uuid = _uuid(client_uuid)
    if client_uuid is not None:
        existing = Patrol.objects.filter(worker=worker, client_uuid=client_uuid).first()
        if existing is not None:
            return existing, False
    grid = access.access_patrol_grid(worker, grid)
    running = Patrol.objects.filter(worker=worker, status=PatrolStatus.ACTIVE).first()
    if running is not None:
        raise Conflict(_("You are already on a patrol (since %(time)s): end it first.")
                       % {"time": f"{running.started_at.astimezone():%H:%M}"}, code="already_patrolling")
    patrol = Patrol(worker=worker, grid=grid, area_path=grid.path, started_at=now(), client_uuid=client_uuid)
    try:
        with transaction.atomic():
            patrol.save()
    except IntegrityError:
        # Two starts raced (a double tap, a resend): the constraints let one win.
        existing = Patrol.objects.filter(worker=worker).filter(
            Q(client_uuid=client_uuid) if client_uuid else Q(status=PatrolStatus.ACTIVE)).first()
        if existing is not None and client_uuid is not None:
            return existing, False
        raise Conflict(_("You are already on a patrol: end it first."), code="already_patrolling") from None
    live.publish_patrol(patrol, state="started")
    return patrol, True


# --- positions -------------------------------------------------------------------------------------


def _metres(a: Fix, b: Fix) -> float:
    """Great-circle distance, only to tell a GPS jump from a walk (the track's length is PostGIS's)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


def _in_box(patrol: Patrol, lon: float, lat: float) -> bool:
    xmin, ymin, xmax, ymax = patrol.grid.boundary.extent
    return (xmin - BOX_MARGIN_DEG <= lon <= xmax + BOX_MARGIN_DEG
            and ymin - BOX_MARGIN_DEG <= lat <= ymax + BOX_MARGIN_DEG)


def _check_time(patrol: Patrol, at: datetime, *, field: str, label: str, current: datetime) -> None:
    if at > current + CLOCK_SLACK:
        raise ActionError(_("%(what)s is dated in the future (%(at)s); check the phone's clock.")
                          % {"what": label, "at": f"{at.astimezone():%Y-%m-%d %H:%M:%S}"}, field=field,
                          code="in_future")
    if at < patrol.started_at - CLOCK_SLACK:
        raise ActionError(_("%(what)s is dated before the patrol started.") % {"what": label}, field=field,
                          code="before_start")
    # A patrol the sweep ended for want of positions takes those the phone kept offline meanwhile.
    if patrol.ended_at is not None and patrol.end_reason != EndReason.STALE and at > patrol.ended_at + CLOCK_SLACK:
        raise ActionError(_("%(what)s is dated after the patrol ended.") % {"what": label}, field=field,
                          code="after_end")


def _check_batch(patrol: Patrol, fixes: list[Fix]) -> None:
    current = now()
    for index, fix in enumerate(fixes, 1):
        label = _("Position %(n)s") % {"n": index}
        if not (-180 <= fix.lon <= 180 and -90 <= fix.lat <= 90) or not _in_box(patrol, fix.lon, fix.lat):
            raise ActionError(_("%(what)s (%(lon).6f, %(lat).6f) is far outside grid %(grid)s; nothing of this "
                                "batch was saved.") % {"what": label, "lon": fix.lon, "lat": fix.lat,
                                                       "grid": patrol.grid.name},
                              field="points", code="outside_box")
        _check_time(patrol, fix.at, field="points", label=label, current=current)
    ordered = sorted(fixes, key=lambda f: f.at)
    before = (PatrolPoint.objects.filter(patrol=patrol, recorded_at__lt=ordered[0].at)
              .order_by("-recorded_at").first())
    previous = Fix(before.point.x, before.point.y, before.recorded_at) if before else None
    for fix in ordered:
        if previous is not None:
            seconds = (fix.at - previous.at).total_seconds()
            if seconds > 0 and _metres(previous, fix) / seconds > MAX_SPEED_MPS:
                raise ActionError(
                    _("The position of %(at)s is %(m).0f m from the one before, %(s).0f s earlier: faster than "
                      "anyone patrols (a GPS jump); nothing of this batch was saved.")
                    % {"at": f"{fix.at.astimezone():%H:%M:%S}", "m": _metres(previous, fix), "s": seconds},
                    field="points", code="too_fast")
        previous = fix


# The track and its length from the positions, in one statement: metres on the spheroid (geography).
_REBUILD_TRACK = """
UPDATE cases_patrol AS p
   SET track = CASE WHEN t.n >= 2 THEN t.line END,
       distance_m = CASE WHEN t.n >= 2 THEN ST_Length(t.line::geography) ELSE 0 END,
       point_count = t.n,
       last_point_at = t.last,
       ended_at = CASE WHEN p.end_reason = 'stale' THEN GREATEST(p.ended_at, t.last) ELSE p.ended_at END
  FROM (SELECT ST_MakeLine(point ORDER BY recorded_at) AS line, count(*) AS n, max(recorded_at) AS last
          FROM cases_patrolpoint WHERE patrol_id = %s) AS t
 WHERE p.id = %s
RETURNING p.point_count
"""


def add_points(patrol: Patrol | int, *, actor, points: Sequence[Fix]) -> int:
    """Add a batch of the phone's positions to the actor's own patrol. Returns how many were new.

    All or nothing: a position far outside the grid, dated in the future or outside the patrol, or
    implying a speed no patrol has refuses the batch, saying which and why.
    """
    fixes = list(points)
    if not fixes:
        raise ActionError(_("Send at least one position."), field="points", code="required")
    if len(fixes) > MAX_BATCH:
        raise ActionError(_("At most %(max)s positions per batch; send the rest in another.") % {"max": MAX_BATCH},
                          field="points", code="too_many")
    patrol = access.access_own_patrol(actor, patrol)
    with transaction.atomic():
        patrol = _lock(patrol)
        _check_batch(patrol, fixes)
        PatrolPoint.objects.bulk_create(
            [PatrolPoint(patrol=patrol, point=Point(f.lon, f.lat, srid=4326), recorded_at=f.at, accuracy=f.accuracy)
             for f in fixes],
            ignore_conflicts=True,
        )
        before = patrol.point_count
        with connection.cursor() as cursor:
            cursor.execute(_REBUILD_TRACK, [patrol.pk, patrol.pk])
            (after,) = cursor.fetchone()
        if after > before and patrol.is_active:  # the screens move the patrol to its latest position
            latest = max(fixes, key=lambda f: f.at)
            live.publish_patrol(patrol, state="moved", point=Point(latest.lon, latest.lat, srid=4326))
    return after - before


# --- check-ins and findings ------------------------------------------------------------------------


def check_in(patrol: Patrol | int, *, actor, lon: float, lat: float, at: datetime | None = None, building=None,
             place: str = "", note: str = "", photo=None, client_uuid=None) -> tuple[CheckIn, bool]:
    """A stop at a place on the actor's own patrol: a building of the registry (in the patrol's grid)
    or a place the worker names, with a note and a photo if they like. Returns (check-in, created);
    a resend with the same ``client_uuid`` returns the first."""
    patrol = access.access_own_patrol(actor, patrol)
    client_uuid = _uuid(client_uuid)
    if client_uuid is not None:
        existing = CheckIn.objects.filter(patrol=patrol, client_uuid=client_uuid).first()
        if existing is not None:
            return existing, False
    building = access.access_checkin_building(actor, patrol, building) if building not in (None, "") else None
    place = (place or "").strip()[:200]
    if building is None and not place:
        raise ActionError(_("Name the place, or choose a building."), field="place", code="required")
    stored = prepare_upload(photo, field="photo") if photo else None
    with transaction.atomic():
        patrol = _lock(patrol)
        at = at or now()
        _check_time(patrol, at, field="at", label=_("The check-in"), current=now())
        if not _in_box(patrol, float(lon), float(lat)):
            raise ActionError(_("The check-in's position is far outside grid %(grid)s.") % {"grid": patrol.grid.name},
                              field="location", code="outside_box")
        checkin = CheckIn(patrol=patrol, point=Point(float(lon), float(lat), srid=4326), at=at, building=building,
                          place=place, note=(note or "").strip()[:4000], client_uuid=client_uuid)
        if stored is not None:
            checkin.photo = stored.file
        checkin.save()
    return checkin, True


def report_finding(patrol: Patrol | int, *, actor, **report) -> tuple[Case, bool]:
    """A problem found on the patrol becomes a case through intake (channel ``patrol``), linked to the
    patrol. The keyword arguments are report_case's; a resend with the same client_uuid returns the
    case of the first call, still linked once."""
    patrol = access.access_own_patrol(actor, patrol, field="patrol")
    report.pop("channel", None)
    with transaction.atomic():
        case, created = report_case(reporter=actor, channel=Channel.PATROL, **report)
        PatrolFinding.objects.get_or_create(case=case, defaults={"patrol": patrol})
    return case, created


# --- end -------------------------------------------------------------------------------------------


def end_patrol(patrol: Patrol | int, *, actor, at: datetime | None = None) -> Patrol:
    """End a patrol: by its worker (``at``: when they tapped end, if the phone sent it later), or by
    centre staff over its grid. Ending an ended patrol changes nothing and answers with it, so a
    resent end from the offline queue is harmless."""
    patrol = access.access_patrol_by_id(actor, patrol)
    if not access.may_end_patrol(actor, patrol):
        raise Forbidden(_("Only the patrol's worker or its centre may end it."))
    with transaction.atomic():
        patrol = _lock(patrol)
        if not patrol.is_active:
            return patrol
        current = now()
        end = at or current
        if end > current + CLOCK_SLACK:
            raise ActionError(_("The end is dated in the future; check the phone's clock."), field="at",
                              code="in_future")
        # Never before the last position or the start: the track would outlast the patrol.
        end = min(max(end, patrol.last_point_at or patrol.started_at, patrol.started_at), current)
        reason = EndReason.WORKER if patrol.worker_id == actor.pk else EndReason.CENTRE
        Patrol.objects.filter(pk=patrol.pk, status=PatrolStatus.ACTIVE).update(
            status=PatrolStatus.ENDED, ended_at=end, end_reason=reason)
        patrol.refresh_from_db()
        live.publish_patrol(patrol, state="stopped")
    return patrol


def end_stale_patrols(*, at: datetime | None = None) -> list[int]:
    """End patrols with no position for ``stale_after()`` (a phone left in a drawer, a page closed
    without ending), at their last position. Compare-and-set: each is ended once, whoever comes first.
    Returns the ids ended."""
    cutoff = (at or now()) - stale_after()
    stale = Patrol.objects.filter(status=PatrolStatus.ACTIVE).filter(
        Q(last_point_at__lt=cutoff) | Q(last_point_at__isnull=True, started_at__lt=cutoff))
    with transaction.atomic():
        ids = list(stale.values_list("pk", flat=True))
        Patrol.objects.filter(pk__in=ids, status=PatrolStatus.ACTIVE).update(
            status=PatrolStatus.ENDED, ended_at=Coalesce("last_point_at", "started_at"),
            end_reason=EndReason.STALE)
        for patrol in Patrol.objects.filter(pk__in=ids).select_related("grid").defer("track", "grid__boundary"):
            live.publish_patrol(patrol, state="stopped")
    return ids

