"""Scope: which areas, grids and departments a user may see and act on.

Every page and endpoint starts its queryset here. The answer comes from the user's memberships:

| role | sees | acts on |
|---|---|---|
| grid worker, grid leader | their own grids | their own grids |
| centre operator, centre lead | the centre's subtree | the centre's subtree |
| department handler | their department (and, later, cases dispatched to it) | the same |
| official | their area's subtree | nothing (read and supervise only) |
| admin (or superuser) | everything | everything |

An object outside scope is answered with 404, not 403, so that scope leaks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from govgrid.versioned import Versioned
from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.models import Area, Department, Membership

_CACHE_ATTR = "_govgrid_scope"
_SCOPES = Versioned("scope")


@dataclass(frozen=True)
class Scope:
    """What one user may see and act on, as materialised-path prefixes and ids."""

    is_admin: bool = False
    see_paths: tuple[str, ...] = ()  # subtrees (area path prefixes) the user may see
    act_paths: tuple[str, ...] = ()  # subtrees the user may act on
    department_ids: frozenset[int] = field(default_factory=frozenset)
    centre_paths: tuple[str, ...] = ()  # subtrees held as centre staff (or area admin)
    official_paths: tuple[str, ...] = ()  # subtrees held as an official
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (self.is_admin or self.see_paths or self.department_ids)

    def has_role(self, *roles: str) -> bool:
        return self.is_admin or bool(self.roles.intersection(roles))

    def area_q(self, prefix: str = "", *, act: bool = False) -> Q:
        """A Q over an area path reached by ``prefix`` (e.g. ``"grid__"``) limited to this scope."""
        if self.is_admin:
            return Q()
        paths = self.act_paths if act else self.see_paths
        query = Q(pk__in=[])
        for path in _outermost(paths):
            query |= Q(**{f"{prefix}path__startswith": path})
        return query

    def covers_area(self, area: Area, *, act: bool = False) -> bool:
        if self.is_admin:
            return True
        return any(area.path.startswith(path) for path in (self.act_paths if act else self.see_paths))


def _outermost(paths: tuple[str, ...]) -> list[str]:
    """Drop paths that lie inside another one: fewer OR branches, same rows."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not kept or not path.startswith(kept[-1]):
            kept.append(path)
    return kept


def scope_for(user) -> Scope:
    """The user's scope, computed once per user object (so once per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    # Across requests: per process, keyed by the user's own flags, dropped when memberships, areas
    # or centres change (govgrid.versioned).
    scope = _SCOPES.get(lambda: _load_scope(user), key=(user.pk, user.is_superuser))
    setattr(user, _CACHE_ATTR, scope)
    return scope


def _load_scope(user) -> Scope:
    see: list[str] = []
    act: list[str] = []
    centre: list[str] = []
    official: list[str] = []
    departments: set[int] = set()
    roles: set[str] = set()
    is_admin = user.is_superuser
    memberships = Membership.objects.filter(user=user).select_related("area").only(
        "role", "area_id", "department_id", "area__path"
    )
    for membership in memberships:
        roles.add(membership.role)
        if membership.role == Role.ADMIN:
            if membership.area_id is None:
                is_admin = True
            else:
                see.append(membership.area.path)
                act.append(membership.area.path)
                centre.append(membership.area.path)
        elif membership.role == Role.DEPT_HANDLER:
            departments.add(membership.department_id)
        elif membership.role == Role.OFFICIAL:
            see.append(membership.area.path)
            official.append(membership.area.path)
        elif membership.role in CENTRE_ROLES:
            see.append(membership.area.path)
            act.append(membership.area.path)
            centre.append(membership.area.path)
        elif membership.role in GRID_ROLES:
            see.append(membership.area.path)
            act.append(membership.area.path)
    scope = Scope(
        is_admin=is_admin,
        see_paths=tuple(_outermost(tuple(see))),
        act_paths=tuple(_outermost(tuple(act))),
        department_ids=frozenset(departments),
        centre_paths=tuple(_outermost(tuple(centre))),
        official_paths=tuple(_outermost(tuple(official))),
        roles=frozenset(roles),
    )
    return scope


def visible_areas(user, *, act: bool = False) -> QuerySet[Area]:
    """Areas (of any level, grids included) the user may see, or act on with ``act=True``."""
    return Area.objects.filter(scope_for(user).area_q(act=act))


def visible_grids(user, *, act: bool = False) -> QuerySet[Area]:
    return visible_areas(user, act=act).grids()


def visible_departments(user, *, act: bool = False) -> QuerySet[Department]:
    """Departments the user may see: a handler their own; centre staff and officials those serving
    their subtree or an area above it (a town centre also dispatches to the district's 城管局)."""
    scope = scope_for(user)
    if scope.is_admin:
        return Department.objects.all()
    query = Q(pk__in=scope.department_ids)
    for path in _outermost(scope.centre_paths if act else scope.centre_paths + scope.official_paths):
        query |= Q(area__path__startswith=path) | Q(area__code__in=path.rstrip("/").split("/")[:-1])
    return Department.objects.filter(query)


def can_act_on_area(user, area: Area) -> bool:
    return scope_for(user).covers_area(area, act=True)


def forget_scope(user) -> None:
    """Drop the cached scope, e.g. after the user's memberships changed in the same request."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
