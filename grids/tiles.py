"""The grids as vector tiles (/tiles/grids/z/x/y.mvt): the grid boundaries the user may see (grids.scope).

A city's 5,069 grids are megabytes of GeoJSON; as tiles the browser fetches what is in view, simplified
to the tile's resolution by ``ST_AsMVTGeom``. Features: ``id``, ``code``, ``name``. Grids change
seldom (an import, an admin's edit, a move): their tiles are cached for an hour, and any saved or
deleted area bumps the layer's version (``govgrid.tiles``).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse

from govgrid import tiles
from govgrid.errors import ActionError
from grids.models import Area
from grids.scope import scope_for, visible_grids

LAYER = "grids"
CACHE_SECONDS = 3600


def scope_key(user) -> str:
    """What decides the rows: visible_grids reads the scope's area paths alone."""
    scope = scope_for(user)
    return tiles.scope_hash(scope.is_admin, scope.see_paths)


def stamp() -> tuple:
    """The number of grids and the newest one's id: grids written in bulk send no signal (an import,
    the seeding), and their tiles must not be answered from older ones."""
    found = Area.objects.grids().aggregate(n=Count("id"), last=Max("id"))
    return found["n"], found["last"]


def build(user, tile: tiles.Tile) -> bytes:
    rows = visible_grids(user).filter(tiles.in_tile('"grids_area"."boundary"', tile)).values(
        "id", "code", "name", "boundary")
    return tiles.encode(LAYER, rows, "r.id, r.code, r.name, " + tiles.mvt_geom("ST_Transform(r.boundary, 3857)"),
                        tile)


def grid_tile(user, tile: tiles.Tile) -> tiles.Built:
    return tiles.cached_tile(LAYER, scope_key(user), tile, lambda: build(user, tile), ttl=CACHE_SECONDS,
                             stamp=stamp())


@login_required
def grids_tile_view(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    try:
        tile = tiles.tile_or_error(z, x, y)
    except ActionError as error:
        return HttpResponse(error.message, status=error.status_code, content_type="text/plain; charset=utf-8")
    return tiles.tile_response(request, grid_tile(request.user, tile), max_age=300)


def areas_changed(sender, **kwargs) -> None:
    """An area saved, deleted or moved: the grid tiles are rebuilt after the commit."""
    tiles.bump_after_commit(LAYER)
