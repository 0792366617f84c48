"""Figures of the party-building network (两网融合) for an area, in the user's scope: party groups per
grid (党小组建到网格), party grid workers (党建网格员) and the households each serves (the grids'
household counts, GridProfile), party-member building heads (党员楼长), and the share of compounds with
three or more party members that have their own party organisation (the "93.4 %" figure).

A compound is the ``Building.compound`` name; a member belongs to the compound of the building they
live in; a compound has its own organisation when a party organisation is placed on it by that name.
Three queries (grids, organisations, members), grouped by area path and summed up to the child areas.
"""

from __future__ import annotations

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from grids.choices import Level
from grids.models import Area
from grids.scope import visible_areas
from parties import selectors
from parties.choices import PartyOrganisationKind
from parties.models import PartyMember, PartyOrganisation

COMPOUND_MEMBERS = 3  # compounds with at least this many party members should have their own organisation

FIELDS = ("grids", "groups", "grid_groups", "members", "grid_workers", "building_heads", "households",
          "compounds", "compounds_with_org")


def _ratio(part, whole, *, percent: bool = False):
    if not whole:
        return None
    return round((100 if percent else 1) * part / whole, 1)


def _finish(row: dict) -> dict:
    row["groups_per_grid"] = _ratio(row["grid_groups"], row["grids"])
    row["households_per_worker"] = _ratio(row["households"], row["grid_workers"])
    row["compound_share"] = _ratio(row["compounds_with_org"], row["compounds"], percent=True)
    return row


def party_figures(user, area: Area) -> dict:
    """One row per child area of ``area`` (the grid itself for a grid) and a total. ``grid_groups``
    counts party groups placed on a grid; ``groups_per_grid`` divides them by the grids. ``user=None``
    is the system (the monthly report made by the beat): the whole area, unscoped."""
    children = list(area.children.order_by("code")) if area.level != Level.GRID else [area]
    rows = {child.path: {"area": child, **dict.fromkeys(FIELDS, 0)} for child in children}

    def add(path: str, name: str, value: int) -> None:
        for child_path, row in rows.items():
            if path.startswith(child_path):
                row[name] += value
                return

    def grouped(queryset: QuerySet, path: str, **counts) -> None:
        for found in queryset.order_by().values(path).annotate(**counts):
            at = found.pop(path)
            for name, value in found.items():
                add(at, name, value)

    within = area.path
    # Households are the grids' own counts (GridProfile), as the grid-size guidance reads them.
    grouped((Area.objects.all() if user is None else visible_areas(user)).filter(level=Level.GRID,
            path__startswith=within), "path", grids=Count("id"), households=Coalesce(Sum("profile__households"), 0))
    organisations = (PartyOrganisation.objects.all() if user is None
                     else selectors.visible_party_organisations(user)).filter(area_path__startswith=within)
    owned = set()
    for found in organisations.order_by().values("area_path", "compound").annotate(
            groups=Count("id", filter=Q(kind=PartyOrganisationKind.GROUP)),
            grid_groups=Count("id", filter=Q(kind=PartyOrganisationKind.GROUP, area__level=Level.GRID))):
        add(found["area_path"], "groups", found["groups"])
        add(found["area_path"], "grid_groups", found["grid_groups"])
        owned.add(found["compound"])
    # Members by where they live and by their compound, in one query; a compound counts in the child
    # area of its first building.
    members = (PartyMember.objects.all() if user is None else selectors.visible_party_members(user)).filter(
        Q(resident__isnull=True) | Q(resident__moved_out_on__isnull=True), area_path__startswith=within)
    compounds: dict[str, list] = {}
    for found in members.order_by().values("area_path", compound := "resident__house__building__compound").annotate(
            members=Count("id"), grid_workers=Count("id", filter=Q(is_grid_worker=True)),
            building_heads=Count("id", filter=Q(is_building_head=True)),
            at=Min("resident__house__building__area_path")):
        for name in ("members", "grid_workers", "building_heads"):
            add(found["area_path"], name, found[name])
        if found[compound]:
            seen = compounds.setdefault(found[compound], [0, found["at"]])
            seen[0] += found["members"]
            seen[1] = min(seen[1], found["at"])
    for name, (count, at) in compounds.items():
        if count >= COMPOUND_MEMBERS:
            add(at, "compounds", 1)
            if name in owned:
                add(at, "compounds_with_org", 1)

    table = [_finish(row) for row in rows.values()]
    total = _finish({name: sum(row[name] for row in table) for name in FIELDS})
    return {"rows": table, "total": total}


TREE_LIMIT = 600  # organisations on the page; a city's whole network is read area by area


def organisation_tree(user, area: Area, *, limit: int = TREE_LIMIT) -> list[tuple[int, object]]:
    """The party organisations in ``area`` (scoped, the first ``limit`` by area) as (depth,
    organisation), each under its parent, with member counts; one query."""
    found = list(selectors.visible_party_organisations(user).filter(area_path__startswith=area.path)
                 .select_related("area").annotate(member_count=Count("members"))
                 .order_by("area_path", "kind", "name")[:limit])
    ids = {org.pk for org in found}
    children: dict = {}
    for org in found:
        children.setdefault(org.parent_id if org.parent_id in ids else None, []).append(org)
    order = {PartyOrganisationKind.COMMITTEE: 0, PartyOrganisationKind.BRANCH: 1, PartyOrganisationKind.GROUP: 2}
    tree: list[tuple[int, object]] = []

    def walk(parent_id, depth: int) -> None:
        for org in sorted(children.get(parent_id, []), key=lambda o: (order[o.kind], o.area_path, o.name)):
            tree.append((depth, org))
            walk(org.pk, depth + 1)

    walk(None, 0)
    return tree
