"""The access module of parties: every building, house, resident, organisation or key person a user
names, by id in a URL or inside a request body, comes from here.

Each ``access_*`` function returns the object if the user may reach it (``act=True``: may change
it), or raises NotFound with the same message whether it does not exist or lies outside the user's
scope, so an answer never tells an outsider that a person is registered.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from govgrid.errors import NotFound
from parties import selectors
from parties.models import (
    Building,
    House,
    Household,
    KeyPerson,
    Organisation,
    PartyMember,
    PartyOrganisation,
    Resident,
    Visit,
)


def _pk(value) -> int | None:
    if hasattr(value, "pk"):
        value = value.pk
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _get(queryset: QuerySet, value, message: str, field: str | None):
    pk = _pk(value)
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise NotFound(message, field=field)
    return found


def access_building_by_id(user, building_id, *, act: bool = False, field: str | None = None) -> Building:
    return _get(selectors.visible_buildings(user, act=act).select_related("grid"), building_id,
                _("No such building."), field)


def access_house_by_id(user, house_id, *, act: bool = False, field: str | None = None) -> House:
    return _get(selectors.visible_houses(user, act=act).select_related("building", "grid"), house_id,
                _("No such house."), field)


def access_household_by_id(user, household_id, *, act: bool = False, field: str | None = None) -> Household:
    return _get(selectors.visible_households(user, act=act).select_related("grid"), household_id,
                _("No such household."), field)


def access_resident_by_id(user, resident_id, *, act: bool = False, field: str | None = None) -> Resident:
    return _get(selectors.visible_residents(user, act=act).select_related("grid", "household", "house"),
                resident_id, _("No such resident."), field)


def access_organisation_by_id(user, organisation_id, *, act: bool = False,
                              field: str | None = None) -> Organisation:
    return _get(selectors.visible_organisations(user, act=act).select_related("grid"), organisation_id,
                _("No such organisation."), field)


def access_key_person_by_id(user, key_person_id, *, act: bool = False, field: str | None = None) -> KeyPerson:
    return _get(selectors.visible_key_persons(user, act=act).select_related("resident", "grid"), key_person_id,
                _("No such key person."), field)


def access_visit_by_id(user, visit_id, *, field: str | None = None) -> Visit:
    return _get(selectors.visible_visits(user).select_related("key_person"), visit_id, _("No such visit."), field)


def access_party_organisation_by_id(user, organisation_id, *, act: bool = False,
                                    field: str | None = None) -> PartyOrganisation:
    return _get(selectors.visible_party_organisations(user, act=act).select_related("area"), organisation_id,
                _("No such party organisation."), field)


def access_party_member_by_id(user, member_id, *, act: bool = False, field: str | None = None) -> PartyMember:
    return _get(selectors.visible_party_members(user, act=act).select_related("organisation", "resident", "user"),
                member_id, _("No such party member."), field)
