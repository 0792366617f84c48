"""Reads of disputes, always scoped: who sees which dispute, the boards, and the screening figures.

A dispute is seen by whoever sees its case (cases.selectors.case_scope_q), and also by the mediators of
the resolution centre mediating it and by its leader in charge (专诊), who may hold no area at all (a
stationed lawyer, a district leader named for one dispute).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Case as SqlCase
from django.db.models import Count, IntegerField, Q, QuerySet, Value, When

from cases.choices import OPEN_STATUSES, Status
from cases.disputes import RISK_RANK, DisputeDetails, DisputeStage, Mediator, ScreeningReport
from cases.models import Case
from cases.selectors import case_scope_q
from grids.choices import Level
from grids.models import Area
from grids.scope import scope_for


def dispute_scope_q(user) -> Q:
    """Cases the user sees as disputes: the cases they see, and the disputes their centre mediates or
    they lead."""
    query = case_scope_q(user)
    if user.is_authenticated and query:  # an empty Q is everything already (an admin)
        centres = Mediator.objects.filter(user=user, is_active=True).values("centre_id")
        query |= Q(dispute__centre__in=centres) | Q(dispute__leader=user)
    return query


def visible_disputes(user) -> QuerySet[Case]:
    """Dispute cases (with DisputeDetails) the user may see."""
    return Case.objects.filter(dispute__isnull=False).filter(dispute_scope_q(user))


def visible_dispute_details(user) -> QuerySet[DisputeDetails]:
    return DisputeDetails.objects.filter(case__in=visible_disputes(user).values("pk"))


def led_by(user) -> QuerySet[DisputeDetails]:
    """专诊: the disputes the user is the leader in charge of (their own list)."""
    rank = SqlCase(*[When(risk_level=level, then=Value(n)) for level, n in RISK_RANK.items()],
                 default=Value(0), output_field=IntegerField())
    open_first = SqlCase(When(case__status__in=OPEN_STATUSES, then=Value(0)), default=Value(1),
                       output_field=IntegerField())
    return (DisputeDetails.objects.filter(leader=user).select_related("case__category", "case__grid", "centre")
            .annotate(open_first=open_first, risk_rank=rank).order_by("open_first", "-risk_rank", "-opened_at"))


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


def coverage_for(areas: list[Area], month: dt.date, grids_q: Q | None = None) -> list[Coverage]:
    """Per area (all of one level: their paths have one length): its grids (within ``grids_q``), the grids
    that reported the month's screening, and how many of those were zero reports. Two grouped queries,
    whatever the number of grids."""
    if not areas:
        return []
    from django.db.models.functions import Left

    month = first_of_month(month)
    under = Q()
    for area in areas:
        under |= Q(path__startswith=area.path)
    grids_in = Area.objects.filter(under, level=Level.GRID).filter(grids_q or Q())
    length = len(areas[0].path)
    grids = {row["prefix"]: row["n"] for row in grids_in.annotate(prefix=Left("path", length)).values("prefix")
             .annotate(n=Count("pk"))}
    reported, zero = defaultdict(int), defaultdict(int)
    reports = (ScreeningReport.objects.filter(month=month, grid__in=grids_in)
               .annotate(prefix=Left("area_path", length)).values("prefix")
               .annotate(n=Count("pk"), zero=Count("pk", filter=Q(is_zero=True))))
    for row in reports:
        reported[row["prefix"]], zero[row["prefix"]] = row["n"], row["zero"]
    return [Coverage(area, grids.get(area.path, 0), reported[area.path], zero[area.path]) for area in areas]


def screening_coverage(user, month: dt.date, *, level: int = Level.TOWN) -> list[Coverage]:
    """Coverage per area at ``level`` within the user's scope (grids reported / grids)."""
    scope = scope_for(user)
    areas = list(Area.objects.filter(scope.area_q(), level=level).order_by("path").defer("boundary"))
    return coverage_for(areas, month, scope.area_q())


@dataclass(frozen=True)
class Resolution:
    key: str  # a dispute type or a centre level
    label: str
    accepted: int
    resolved: int

    @property
    def rate(self) -> float | None:
        return self.resolved / self.accepted if self.accepted else None


def _resolution(base: QuerySet[DisputeDetails]) -> dict[str, list[Resolution]]:
    """One grouped query by (type, centre level); the totals by type, by level and overall are its sums."""
    from cases.disputes import DisputeType

    resolved = Count("pk", filter=Q(stage=DisputeStage.RESOLVED))
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_level: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in base.values("dispute_type", "centre__area__level").annotate(n=Count("pk"), resolved=resolved) \
            .order_by():
        for bucket in (by_type[row["dispute_type"]], by_level[row["centre__area__level"]]):
            bucket[0] += row["n"]
            bucket[1] += row["resolved"]
    accepted, done = sum(v[0] for v in by_type.values()), sum(v[1] for v in by_type.values())
    return {
        "by_type": [Resolution(key, str(DisputeType(key).label), *by_type[key]) for key in sorted(by_type)],
        "by_level": [Resolution(str(key), str(Level(key).label), *by_level[key]) for key in sorted(by_level)],
        "total": [Resolution("all", "", accepted, done)],
    }


def resolution_rates(user, start: dt.datetime, end: dt.datetime) -> dict[str, list[Resolution]]:
    """化解率 = disputes resolved by mediation / disputes accepted (registered), for disputes registered
    in [start, end) within the user's scope, by dispute type and by the level of the centre mediating
    them. One grouped query each."""
    return _resolution(visible_dispute_details(user).filter(opened_at__gte=start, opened_at__lt=end))


def area_figures(area: Area, start: dt.date, end: dt.date) -> dict:
    """The dispute figures of an area over [start, end] (local days) for the dashboard and the monthly
    safety report: screening coverage of the month ``end`` falls in (the area and its child areas),
    and the resolution rate of the disputes registered in the period, by type and level. The area is the
    reader's (reports.dashboard.report_area checked it)."""
    from django.utils import timezone

    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    month = first_of_month(end)
    children = list(Area.objects.filter(parent=area).order_by("path").defer("boundary")) if area.level < Level.GRID \
        else []
    base = DisputeDetails.objects.filter(case__area_path__startswith=area.path, opened_at__gte=since,
                                         opened_at__lt=until)
    if children:  # the area's coverage is its children's sum (every grid lies under one child)
        rows = coverage_for(children, month)
        coverage = Coverage(area, sum(r.grids for r in rows), sum(r.reported for r in rows), sum(r.zero for r in rows))
    else:
        rows, coverage = [], coverage_for([area], month)[0]
    return {"month": month, "coverage": coverage, "children": rows, **_resolution(base)}


def board(user, centre=None) -> dict:
    """The centre's dispute board: open disputes by stage and risk (counts), and the list."""
    disputes = visible_dispute_details(user).filter(case__status__in=[Status.IN_PROGRESS, Status.VERIFIED])
    if centre is not None:
        disputes = disputes.filter(centre=centre)
    counts = {(row["stage"], row["risk_level"]): row["n"]
              for row in disputes.values("stage", "risk_level").annotate(n=Count("pk"))}
    return {"counts": counts, "disputes": disputes}
