"""Reads of people and places, always scoped like cases (grids.scope): a grid worker their own grids,
a centre its subtree, an official reads their subtree, an admin everything, anyone else nothing.

Every scoped table carries the grid's path in ``area_path``, so a scope is one indexed prefix match.
"""

from __future__ import annotations

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from grids.choices import GRID_ROLES
from grids.scope import scope_for
from parties.choices import PiiField
from parties.models import (
    Building,
    BuildingRole,
    House,
    Household,
    KeyPerson,
    Organisation,
    PartyMember,
    PartyOrganisation,
    Resident,
    Visit,
)


def party_scope_q(user, *, act: bool = False) -> Q:
    """Rows whose ``area_path`` lies in the user's scope (``act``: the part they may change)."""
    scope = scope_for(user)
    if scope.is_admin:
        return Q()
    paths = scope.act_paths if act else scope.see_paths
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(area_path__startswith=path)
    return query


def _scoped(model: type[Model], user, *, act: bool = False) -> QuerySet:
    return model.objects.filter(party_scope_q(user, act=act))


def visible_buildings(user, *, act: bool = False) -> QuerySet[Building]:
    return _scoped(Building, user, act=act)


def visible_houses(user, *, act: bool = False) -> QuerySet[House]:
    return _scoped(House, user, act=act)


def visible_households(user, *, act: bool = False) -> QuerySet[Household]:
    return _scoped(Household, user, act=act)


def visible_residents(user, *, act: bool = False) -> QuerySet[Resident]:
    return _scoped(Resident, user, act=act)


def visible_organisations(user, *, act: bool = False) -> QuerySet[Organisation]:
    return _scoped(Organisation, user, act=act)


def visible_key_persons(user, *, act: bool = False) -> QuerySet[KeyPerson]:
    return _scoped(KeyPerson, user, act=act)


def visible_visits(user, *, act: bool = False) -> QuerySet[Visit]:
    return _scoped(Visit, user, act=act)


def visible_party_organisations(user, *, act: bool = False) -> QuerySet[PartyOrganisation]:
    return _scoped(PartyOrganisation, user, act=act)


def visible_party_members(user, *, act: bool = False) -> QuerySet[PartyMember]:
    return _scoped(PartyMember, user, act=act)


def visible_building_roles(user) -> QuerySet[BuildingRole]:
    scope = scope_for(user)
    if scope.is_admin:
        return BuildingRole.objects.all()
    query = Q(pk__in=[])
    for path in scope.see_paths:
        query |= Q(building__area_path__startswith=path)
    return BuildingRole.objects.filter(query)


def visits_due(user, *, by=None) -> QuerySet[KeyPerson]:
    """The worker's to-do: active key persons they answer for whose next visit is due by ``by`` (now)."""
    return KeyPerson.objects.filter(
        worker=user, is_active=True, next_visit_due__lte=by or timezone.now(),
    ).select_related("resident").order_by("next_visit_due")


def may_reveal(user, area_path: str, field: str) -> bool:
    """Who may see a number whole (after giving a reason): centre staff over the record and admins
    every number; the grid's own workers the phone numbers, which they need to call people; officials
    and department handlers never (they read figures, not people)."""
    scope = scope_for(user)
    if scope.is_admin:
        return True
    if any(area_path.startswith(path) for path in scope.centre_paths):
        return True
    if field in (PiiField.PHONE, PiiField.CONTACT_PHONE) and scope.roles.intersection(GRID_ROLES):
        return any(area_path.startswith(path) for path in scope.act_paths)
    return False
