"""Reads of cases, always scoped (grids.scope decides; this module turns it into case queries)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from cases.choices import ACTIVE_DISPATCH_STATUSES
from cases.models import Case, Dispatch
from govgrid.versioned import Versioned
from grids.scope import scope_for


def _places_q(scope) -> Q:
    """Cases under the scope's areas or dispatched to its departments."""
    query = scope.area_q("area_") if scope.see_paths else Q(pk__in=[])
    if scope.department_ids:
        query |= Q(
            Exists(Dispatch.objects.filter(case=OuterRef("pk"), department_id__in=scope.department_ids))
        )
    return query


def case_scope_q(user) -> Q:
    """Cases the user may see: under their areas, dispatched to their department, or their own reports."""
    scope = scope_for(user)
    if scope.is_admin:
        return Q()
    query = _places_q(scope)
    if user.is_authenticated:
        query |= Q(reporter=user)
    return query


def case_scope_key(user) -> tuple:
    """What ``case_scope_q(user)`` depends on, for a cache that people with the same answer share (the
    map's tiles): the scope's areas and departments, and the user too when some of their own reports lie
    outside those (one look along the reporter index). Everyone at the city centre shares one key."""
    scope = scope_for(user)
    if scope.is_admin:
        return ("admin",)
    key = ("places", scope.see_paths, tuple(sorted(scope.department_ids)))
    if user.is_authenticated and Case.objects.filter(reporter=user).exclude(_places_q(scope)).exists():
        return (*key, "reporter", user.pk)
    return key


def case_scope_by_area(user, key: tuple | None = None) -> Q | None:
    """The user's case scope as a Q over an ``area_path`` column, when "cases under these areas" is the
    whole of it: rows kept per grid (the map's summary of open cases, cases.tiles) then hold exactly
    the user's cases. None when it is more than that: a department's dispatched cases, or the user's
    own reports outside their areas. ``key``: ``case_scope_key(user)`` when the caller has it."""
    key = case_scope_key(user) if key is None else key
    if key == ("admin",):
        return Q()
    _places, _paths, department_ids, *reporter = key
    if department_ids or reporter:
        return None
    return scope_for(user).area_q("area_")


def visible_cases(user) -> QuerySet[Case]:
    return Case.objects.filter(case_scope_q(user))


def live_dispatches(case: Case) -> QuerySet[Dispatch]:
    return case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES)


def suggest_lead_department(case: Case):
    """The category's lead department for the case, nearest the grid, leaving out any department that
    has returned this case as not its duty (退单).

    A department whose kind is the category's lead kind at its own level wins (a town's 城管中队 for
    the town level, else the district's 城管局); failing that, the most local department of any of the
    category's lead kinds (a town without a 司法所 falls back to the district's 司法局).
    """
    from cases.choices import DispatchRole, DispatchStatus
    from grids.models import Department

    leads = {lead.level: lead.department_kind for lead in case.category.leads.all()}
    if not leads:
        return None
    codes = case.area_path.rstrip("/").split("/")
    returned = Dispatch.objects.filter(case=case, role=DispatchRole.LEAD, status=DispatchStatus.RETURNED)
    candidates = list(
        Department.objects.filter(area__code__in=codes, is_active=True, kind__in=set(leads.values()))
        .exclude(pk__in=returned.values("department_id"))
        .select_related("area")
    )
    # Most local first; at the same level, an exact (level, kind) match first.
    candidates.sort(key=lambda d: (-d.area.level, leads.get(d.area.level) != d.kind, d.pk))
    return candidates[0] if candidates else None


_CATEGORIES = Versioned("categories")


def _load_leaf_categories() -> dict:
    from cases.models import Category

    return {category.code: category for category in Category.objects.filter(parent__isnull=False, is_active=True)}


def leaf_categories() -> dict:
    """The active leaf categories by code, kept per process (govgrid.versioned; a category saved
    anywhere is seen on the next request). Shared objects: read them, never change them."""
    return _CATEGORIES.get(_load_leaf_categories)
