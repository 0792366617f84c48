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
