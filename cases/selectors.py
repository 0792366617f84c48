"""Reads of cases, always scoped (grids.scope decides; this module turns it into case queries)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from cases.choices import ACTIVE_DISPATCH_STATUSES
from cases.models import Case, Dispatch
from grids.scope import scope_for


def case_scope_q(user) -> Q:
    """Cases the user may see: under their areas, dispatched to their department, or their own reports."""
    scope = scope_for(user)
    if scope.is_admin:
        return Q()
    query = scope.area_q("area_") if scope.see_paths else Q(pk__in=[])
    if scope.department_ids:
        query |= Q(
            Exists(Dispatch.objects.filter(case=OuterRef("pk"), department_id__in=scope.department_ids))
        )
    if user.is_authenticated:
        query |= Q(reporter=user)
    return query


def visible_cases(user) -> QuerySet[Case]:
    return Case.objects.filter(case_scope_q(user))


def live_dispatches(case: Case) -> QuerySet[Dispatch]:
    return case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES)
