"""Addresses for points: the nearest standard address (一标, a parties Building) to where a case was
found, else the names of the community and grid the point lies in.

A case is filed with an address even when the reporter typed none (issue #10): the phone form
shows the suggestion before sending (``/m/address/``), and intake fills it when the field stays blank.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.db.models.functions import Distance, GeometryDistance
from django.contrib.gis.geos import Point

from grids.models import Area
from parties.models import Building

NEAREST_WITHIN_M = 50
# How many index neighbours to weigh in metres. ``<->`` on a geometry in EPSG:4326 orders by degrees,
# and a degree of longitude is shorter than one of latitude (by cos(latitude)), so the first by degrees
# is not always the first by metres; a handful of candidates makes the answer right at any latitude.
CANDIDATES = 8


@dataclass(frozen=True)
class Suggestion:
    address: str
    source: str  # "building" (a standard address within reach) or "grid" (community and grid names)
    distance_m: float | None = None
    building_id: int | None = None


def fallback_address(grid: Area) -> str:
    """The community and grid names ("朝阳社区 第3网格"), for a point with no building near it."""
    community = Area.objects.filter(pk=grid.parent_id).values_list("name", flat=True).first()
    return " ".join(name for name in (community, grid.name) if name)


def nearest_address(point: Point, within_m: float = NEAREST_WITHIN_M) -> tuple[Building, float] | None:
    """The standard address (building) nearest to ``point`` within ``within_m`` metres, with its distance.

    A nearest-neighbour scan of the GiST index on Building.point (``ORDER BY point <-> %s LIMIT n``,
    whatever the number of buildings), then the exact distance in metres on the spheroid for those few.
    """
    candidates = (
        Building.objects.annotate(metres=Distance("point", point))
        .order_by(GeometryDistance("point", point))
        .only("id", "address", "point", "grid_id")[:CANDIDATES]
    )
    best = min(candidates, key=lambda b: b.metres.m, default=None)
    if best is None or best.metres.m > within_m:
        return None
    return best, best.metres.m


def suggest(point: Point, grid: Area) -> Suggestion:
    """The address a case at ``point`` (inside ``grid``) is filed under when the reporter typed none."""
    found = nearest_address(point)
    if found is not None:
        building, metres = found
        return Suggestion(building.address, "building", round(metres, 1), building.pk)
    return Suggestion(fallback_address(grid), "grid")


def suggest_address(point: Point, grid: Area) -> str:
    return suggest(point, grid).address


@dataclass(frozen=True)
class Located:
    """A report's place in one round trip (cases.actions.intake): the grid covering the point (None
    outside every grid), the address it would be filed under, and the case an earlier send of the same
    report created (its id, when the reporter's ``client_uuid`` is already taken)."""

    grid: Area | None
    address: str
    existing_case_id: int | None


LOCATE_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS geom)
SELECT g.id, g.code, g.name, g.level, g.parent_id, g.path,
       (SELECT p.name FROM grids_area p WHERE p.id = g.parent_id),
       b.address, b.metres,
       {existing}
FROM pt
LEFT JOIN LATERAL (
    SELECT a.id, a.code, a.name, a.level, a.parent_id, a.path FROM grids_area a
    WHERE a.level = %(grid_level)s AND ST_Covers(a.boundary, pt.geom) ORDER BY a.code LIMIT 1
) g ON true
LEFT JOIN LATERAL (
    SELECT k.address, ST_DistanceSphere(k.point, pt.geom) AS metres FROM (
        SELECT address, point FROM parties_building WHERE %(want_address)s
        ORDER BY point <-> pt.geom LIMIT %(candidates)s
    ) k ORDER BY metres, k.point <-> pt.geom LIMIT 1
) b ON true
"""


def locate_report(lon: float, lat: float, *, reporter_id: int | None, client_uuid, want_address: bool) -> Located:
    """``grids.selectors.locate_grid``, ``suggest`` (when ``want_address``) and the look-up of an
    earlier send, in one statement: what a report needs to know of its place before it is written."""
    from django.db import connection

    from grids.choices import Level

    if client_uuid is None:
        existing = "NULL"
    elif reporter_id is None:
        existing = "(SELECT c.id FROM cases_case c WHERE c.reporter_id IS NULL AND c.client_uuid = %(uuid)s LIMIT 1)"
    else:
        existing = "(SELECT c.id FROM cases_case c WHERE c.reporter_id = %(reporter)s AND c.client_uuid = %(uuid)s)"
    with connection.cursor() as cursor:
        cursor.execute(LOCATE_SQL.format(existing=existing), {
            "lon": lon, "lat": lat, "grid_level": Level.GRID, "want_address": want_address,
            "candidates": CANDIDATES, "reporter": reporter_id, "uuid": client_uuid,
        })
        (grid_id, code, name, level, parent_id, path, parent_name, address, metres, existing_id) = cursor.fetchone()
    grid = None
    if grid_id is not None:
        # As locate_grid's .only(): the other columns load if asked for.
        grid = Area.from_db(connection.alias, ["id", "code", "name", "level", "parent_id", "path"],
                            [grid_id, code, name, level, parent_id, path])
    if grid is not None and want_address:
        if address is not None and metres <= NEAREST_WITHIN_M:
            suggested = address
        else:
            suggested = " ".join(part for part in (parent_name, grid.name) if part)
    else:
        suggested = ""
    return Located(grid, suggested, existing_id)
