"""Reads of the governance map."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _

from grids.choices import Level
from grids.models import Area


class LocationError(ValueError):
    """A point that no grid covers, or that is not a valid WGS84 coordinate."""


def locate_grid(lon: float, lat: float) -> Area:
    """The grid whose boundary covers the point (lon/lat, WGS84).

    ``ST_Covers`` (not ``ST_Contains``) so that a point exactly on a boundary still finds a grid;
    on an edge shared by two grids the one with the smaller code wins, always the same one. The
    GiST index on ``boundary`` makes this an index probe (benchmark: bench/locate.py).
    """
    check_coordinate(lon, lat)
    point = Point(lon, lat, srid=4326)
    # Only the columns a caller uses: loading the boundary and centroid back would double the cost.
    grid = (
        Area.objects.filter(level=Level.GRID, boundary__covers=point)
        .only("id", "code", "name", "level", "parent_id", "path")
        .order_by("code")
        .first()
    )
    if grid is None:
        raise outside_every_grid(lon, lat)
    return grid


def check_coordinate(lon: float, lat: float) -> None:
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise LocationError(
            _("Longitude %(lon)s, latitude %(lat)s is not a valid coordinate.") % {"lon": lon, "lat": lat}
        )


def outside_every_grid(lon: float, lat: float) -> LocationError:
    return LocationError(_("The point (%(lon).6f, %(lat).6f) lies outside every grid.") % {"lon": lon, "lat": lat})
