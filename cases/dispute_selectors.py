"""Reads of disputes, always scoped: who sees which dispute, the boards, and the screening figures.

A dispute is seen by whoever sees its case (cases.selectors.case_scope_q), and also by the mediators of
the resolution centre mediating it and by its leader in charge (专诊), who may hold no area at all (a
stationed lawyer, a district leader named for one dispute).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from cases.choices import Status
from cases.disputes import DisputeDetails, DisputeStage, Mediator, ScreeningReport
from cases.models import Case
from cases.selectors import case_scope_q
from grids.choices import Level
from grids.models import Area
from grids.scope import scope_for


def dispute_scope_q(user, prefix: str = "") -> Q:
    """Cases (reached by ``prefix``, e.g. ``"case__"``) the user sees as disputes."""
    query = case_scope_q(user)
    if prefix:
        query = Q(**{f"{prefix}pk__in": Case.objects.filter(query).values("pk")}) if query else Q()
    if user.is_authenticated and query:
        centres = Mediator.objects.filter(user=user, is_active=True).values("centre_id")
        query |= Q(**{f"{prefix}dispute__centre__in": centres}) | Q(**{f"{prefix}dispute__leader": user})
    return query


def visible_disputes(user) -> QuerySet[Case]:
    """Dispute cases (with DisputeDetails) the user may see."""
    return Case.objects.filter(dispute__isnull=False).filter(dispute_scope_q(user))


def visible_dispute_details(user) -> QuerySet[DisputeDetails]:
    return DisputeDetails.objects.filter(case__in=visible_disputes(user).values("pk"))


def led_by(user) -> QuerySet[DisputeDetails]:
    """专诊: the disputes the user is the leader in charge of (their own list)."""
    return (DisputeDetails.objects.filter(leader=user).select_related("case__category", "case__grid", "centre")
            .order_by("stage", "-risk_level", "-opened_at"))


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


# --- screening coverage and resolution rate ---------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    area: Area
    grids: int
    reported: int
    zero: int

    @property
    def rate(self) -> float | None:
        return self.reported / self.grids if self.grids else None


def screening_coverage(user, month: dt.date, *, level: int = Level.TOWN) -> list[Coverage]:
    """Per area at ``level`` within the user's scope: grids, grids that reported this month's screening,
    and how many of those were zero reports. Two grouped queries, whatever the number of grids."""
    scope = scope_for(user)
    month = first_of_month(month)
    areas = list(Area.objects.filter(scope.area_q(), level=level).order_by("path"))
    if not areas:
        return []
    under = Q()
    for area in areas:
        under |= Q(path__startswith=area.path)
    grid_paths = Area.objects.filter(under, level=Level.GRID).filter(scope.area_q())
    grids = defaultdict(int)
    reported, zero = defaultdict(int), defaultdict(int)
    length = len(areas[0].path)
    # The area's path is a prefix of its grids' paths, all areas of a level having paths of one length.
    from django.db.models.functions import Left

    for row in grid_paths.annotate(prefix=Left("path", length)).values("prefix").annotate(n=Count("pk")):
        grids[row["prefix"]] = row["n"]
    reports = (ScreeningReport.objects.filter(month=month, grid__in=grid_paths)
               .annotate(prefix=Left("area_path", length)).values("prefix")
               .annotate(n=Count("pk"), zero=Count("pk", filter=Q(is_zero=True))))
    for row in reports:
        reported[row["prefix"]], zero[row["prefix"]] = row["n"], row["zero"]
    return [Coverage(area, grids[area.path], reported[area.path], zero[area.path]) for area in areas]


@dataclass(frozen=True)
class Resolution:
    key: str  # a dispute type or a centre level
    label: str
    accepted: int
    resolved: int

    @property
    def rate(self) -> float | None:
        return self.resolved / self.accepted if self.accepted else None


def resolution_rates(user, start: dt.datetime, end: dt.datetime) -> dict[str, list[Resolution]]:
    """化解率 = disputes resolved by mediation / disputes accepted (registered), for disputes registered
    in [start, end) within the user's scope, by dispute type and by the level of the centre mediating
    them. One grouped query each."""
    from cases.disputes import DisputeType

    base = visible_dispute_details(user).filter(opened_at__gte=start, opened_at__lt=end)
    resolved = Count("pk", filter=Q(stage=DisputeStage.RESOLVED))
    by_type = [
        Resolution(row["dispute_type"], str(DisputeType(row["dispute_type"]).label), row["n"], row["resolved"])
        for row in base.values("dispute_type").annotate(n=Count("pk"), resolved=resolved).order_by("dispute_type")
    ]
    by_level = [
        Resolution(str(row["centre__area__level"]), str(Level(row["centre__area__level"]).label), row["n"],
                   row["resolved"])
        for row in base.values("centre__area__level").annotate(n=Count("pk"), resolved=resolved)
        .order_by("centre__area__level")
    ]
    total = base.aggregate(n=Count("pk"), resolved=resolved)
    return {"by_type": by_type, "by_level": by_level,
            "total": [Resolution("all", "", total["n"], total["resolved"])]}


def board(user, centre=None) -> dict:
    """The centre's dispute board: open disputes by stage and risk (counts), and the list."""
    disputes = visible_dispute_details(user).filter(case__status__in=[Status.IN_PROGRESS, Status.VERIFIED])
    if centre is not None:
        disputes = disputes.filter(centre=centre)
    counts = {(row["stage"], row["risk_level"]): row["n"]
              for row in disputes.values("stage", "risk_level").annotate(n=Count("pk"))}
    return {"counts": counts, "disputes": disputes}
