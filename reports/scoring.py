"""Safety index 平安指数, grid worker scores 积分 and department scores (DESIGN.md §7).

The safety index reads the counters (per area and month), so its cost follows areas, never cases.
Worker scores count each worker's deeds of the month from the timeline; they are a monthly ranking
within a town, read a month of one town's events at a time.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from cases.choices import Action
from cases.models import CaseEvent
from cases.patrol_selectors import patrol_totals
from grids.choices import GRID_ROLES, Level
from grids.models import Area, GridProfile, Membership
from parties.models import Visit
from reports import kpis
from reports.models import SafetyIndicator, ScoreRule, ScoringSettings

PER_RESIDENTS = 10_000


def month_range(year: int, month: int) -> tuple[date, date]:
    if not 1 <= month <= 12:
        raise ValueError("month must be 1–12")
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def population(area: Area) -> int:
    return GridProfile.objects.filter(grid__path__startswith=area.path).aggregate(n=Sum("population"))["n"] or 0


def light_for(score: float | None, settings: ScoringSettings) -> str:
    if score is None:
        return ""
    if score >= float(settings.safety_green_min):
        return "green"
    if score >= float(settings.safety_yellow_min):
        return "yellow"
    return "red"


def safety_index(area: Area | str, year: int, month: int) -> dict[str, Any]:
    """100 minus, for each active indicator, weight × (its count per 10,000 residents); 0 at worst.

    Indicators with a category family read that family's counts, the others the area's totals.
    """
    area = kpis.resolve_area(area)
    start, end = month_range(year, month)
    settings = ScoringSettings.current()
    people = population(area)
    totals = kpis.kpis(area, start, end)["counts"]
    families = {row["key"]: row["counts"] for row in kpis.kpis(area, start, end, by="family")["rows"]}
    terms = []
    penalty = Decimal(0)
    for indicator in SafetyIndicator.objects.filter(is_active=True):
        counts = families.get(indicator.family_code, {}) if indicator.family_code else totals
        value = int(counts.get(indicator.measure, 0))
        per_10k = Decimal(value) * PER_RESIDENTS / people if people else Decimal(0)
        points = (indicator.weight * per_10k).quantize(Decimal("0.01"))
        penalty += points
        terms.append({"name": indicator.name, "measure": indicator.measure, "family": indicator.family_code,
                      "count": value, "per_10k": float(round(per_10k, 2)), "points_off": float(points)})
    score = float(max(Decimal(0), Decimal(100) - penalty).quantize(Decimal("0.1"))) if people else None
    return {"area": kpis.area_info(area), "year": year, "month": month, "population": people,
            "score": score, "light": light_for(score, settings), "indicators": terms}


def safety_ranking(area: Area | str, year: int, month: int) -> list[dict[str, Any]]:
    """The safety index of each child area, best first."""
    area = kpis.resolve_area(area)
    rows = [safety_index(child, year, month) for child in Area.objects.filter(parent=area).order_by("code")]
    return sorted(rows, key=lambda row: (row["score"] is None, -(row["score"] or 0)))


def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start, end = month_range(year, month)
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(start, time.min), tz),
            timezone.make_aware(datetime.combine(end, time.max), tz))


def worker_scores(town: Area | str, year: int, month: int) -> list[dict[str, Any]]:
    """Grid workers of `town` ranked by points × their coefficient for the month.

    Deeds: a report of theirs accepted, a self-resolution, a report-only filing, a verification on or
    after its deadline, a report of theirs not accepted, a key-person visit on or after its due time,
    and each hour and kilometre of patrol (巡查).
    Points per deed are ScoreRule rows.
    """
    town = kpis.resolve_area(town)
    if town.level > Level.TOWN:
        raise ValueError("worker scores are ranked per town (or above)")
    since, until = _month_bounds(year, month)
    rules = {rule.deed: rule.points for rule in ScoreRule.objects.all()}
    events = CaseEvent.objects.filter(at__gte=since, at__lte=until, case__area_path__startswith=town.path)
    by_reporter = events.filter(action__in=[Action.ACCEPT, Action.REJECT, Action.SELF_RESOLVE, Action.FILE]).values(
        worker=F("case__reporter_id")
    ).annotate(
        valid_report=Count("id", filter=Q(action=Action.ACCEPT)),
        rejected_report=Count("id", filter=Q(action=Action.REJECT)),
        self_resolved=Count("id", filter=Q(action=Action.SELF_RESOLVE)),
        report_only=Count("id", filter=Q(action=Action.FILE)),
    )
    by_verifier = events.filter(action=Action.VERIFY).values(worker=F("actor_id")).annotate(
        verified_on_time=Count("id", filter=Q(at__lte=F("case__verify_due_at"))),
        verified_late=Count("id", filter=Q(at__gt=F("case__verify_due_at"))),
    )
    # Key-person visits (parties): one by its due time earns, a late one costs.
    by_visitor = [
        {"worker": row.pop("worker_id"), **row}
        for row in Visit.objects.filter(visited_at__gte=since, visited_at__lte=until,
                                        area_path__startswith=town.path)
        .values("worker_id").annotate(visit_on_time=Count("id", filter=Q(on_time=True)),
                                      visit_late=Count("id", filter=Q(on_time=False)))
    ]
    # Patrols (cases): hours and kilometres of the patrols started this month, in hundredths.
    by_patroller = [
        {"worker": worker_id, "patrol_hour": Decimal(str(round(totals["hours"], 2))),
         "patrol_km": Decimal(str(round(totals["km"], 2)))}
        for worker_id, totals in patrol_totals(town.path, since, until).items()
    ]
    deeds: dict[int, dict[str, int | Decimal]] = {}
    for row in [*by_reporter, *by_verifier, *by_visitor, *by_patroller]:
        if row["worker"] is None:
            continue
        mine = deeds.setdefault(row["worker"], {})
        for deed in ScoreRule.Deed.values:
            mine[deed] = mine.get(deed, 0) + row.get(deed, 0)
    workers = (
        Membership.objects.filter(role__in=GRID_ROLES, area__path__startswith=town.path)
        .select_related("user", "area").order_by("user_id", "-coefficient")
    )
    seen: dict[int, Membership] = {}
    for membership in workers:
        seen.setdefault(membership.user_id, membership)  # the highest coefficient of a worker's grids
    rows = []
    for user_id, membership in seen.items():
        counts = deeds.get(user_id, {})
        raw = sum((rules.get(deed, Decimal(0)) * n for deed, n in counts.items()), Decimal(0))
        rows.append({
            "user": {"id": user_id, "username": membership.user.username,
                     "name": membership.user.get_full_name() or membership.user.username},
            "grid": {"code": membership.area.code, "name": membership.area.name},
            "deeds": {deed: _plain(counts.get(deed, 0)) for deed in ScoreRule.Deed.values},
            "points": float(raw), "coefficient": float(membership.coefficient),
            "score": float((raw * membership.coefficient).quantize(Decimal("0.01"))),
        })
    rows.sort(key=lambda row: (-row["score"], row["user"]["username"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def _plain(value: int | Decimal) -> int | float:
    """A deed's count for JSON: whole deeds as ints, hours and kilometres as floats."""
    return float(value) if isinstance(value, Decimal) else value


def department_scores(area: Area | str, year: int, month: int) -> list[dict[str, Any]]:
    """Departments ranked by a 0–100 score from on-time rate, dispatch accuracy, rework, satisfaction
    (weights in ScoringSettings) less points per supervision received. A rate with no cases counts
    as full marks: a department is not punished for having had nothing to do."""
    area = kpis.resolve_area(area)
    start, end = month_range(year, month)
    return department_scores_between(area, start, end)


def department_scores_between(area: Area, start: date, end: date,
                              settings: ScoringSettings | None = None) -> list[dict[str, Any]]:
    """``department_scores`` over any period (the unit evaluation's quarters and years)."""
    settings = settings or ScoringSettings.current()
    rows = []
    for row in kpis.department_league(area, start, end):
        rows.append({**row, "score": float(work_score(row, settings))})
    rows.sort(key=lambda row: -row["score"])
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def work_score(row: dict[str, Any], settings: ScoringSettings) -> Decimal:
    """The department score of one league row (``kpis.department_league``'s keys), 0–100, one decimal.

    Also the unit evaluation's work score of a centre, from its area's counts."""
    weights = {
        "on_time_rate": settings.dept_weight_on_time, "dispatch_accuracy": settings.dept_weight_accuracy,
        "no_rework": settings.dept_weight_no_rework, "satisfaction_rate": settings.dept_weight_satisfaction,
    }
    total_weight = sum(weights.values()) or Decimal(1)
    rates = {
        "on_time_rate": row["on_time_rate"], "dispatch_accuracy": row["dispatch_accuracy"],
        "no_rework": None if row["rework_rate"] is None else 1 - row["rework_rate"],
        "satisfaction_rate": row["satisfaction_rate"],
    }
    earned = sum(Decimal(str(1 if rates[name] is None else rates[name])) * weight
                 for name, weight in weights.items())
    score = earned * 100 / total_weight - settings.dept_penalty_supervision * row["supervised"]
    return max(Decimal(0), score).quantize(Decimal("0.1"))
