"""Open cases as vector tiles (/tiles/cases/z/x/y.mvt), for the map at city scale (issue #16).

The rows are ``cases.selectors.visible_cases(user)`` — the one rule of who sees which case — limited
to open cases in the tile; ``govgrid.tiles`` wraps that queryset's SQL in the statement that encodes
the tile. Layer ``cases``:

* from ``POINTS_FROM_ZOOM`` on, one point per case with ``id``, ``status``, ``light`` and
  ``category`` (the category's code); a click opens the case;
* below it, one point per cell of a grid of ``CLUSTER_CELLS`` × ``CLUSTER_CELLS`` cells a tile
  (aligned on the world, so a cell is the same in every tile), at the mean of its cases, with
  ``count``, ``red``, ``yellow`` and ``light`` (its worst light): a town at zoom 12 is a few dozen
  features, not ten thousand.

Cached per scope (``cases.selectors.case_scope_key``: everyone at the city centre shares the city's
tiles; a user whose own reports reach past their areas gets tiles of their own), with the ``cases``
version that every committed case event bumps (``event_recorded``). Cluster tiles, which read every
case under them, may be served up to ``MAP_TILES_STALE_SECONDS`` after they were built: counts a few
seconds old, never a rebuild per report in a busy city. Point tiles are always current.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models.functions import Transform
from django.db.models import F
from django.http import HttpRequest, HttpResponse

from cases.choices import OPEN_STATUSES
from cases.models import Case
from cases.selectors import case_scope_key, visible_cases
from govgrid import tiles
from govgrid.errors import ActionError

LAYER = "cases"
POINTS_FROM_ZOOM = 15
CLUSTER_CELLS = 8  # a cell is 32 px of a 256 px tile
CACHE_SECONDS = 600
_LOCATION = '"cases_case"."location"'


def scope_key(user) -> str:
    return tiles.scope_hash(case_scope_key(user))


def stamp() -> int | None:
    """The newest case's id (one read of the primary key's index): cases written in bulk without
    events (a load with COPY) must not be answered from older tiles."""
    return Case.objects.order_by("-pk").values_list("pk", flat=True).first()


def open_cases_in(user, tile: tiles.Tile, *, margin: float = 0.0):
    return visible_cases(user).filter(status__in=OPEN_STATUSES).filter(tiles.in_tile(_LOCATION, tile, margin=margin))


def build_points(user, tile: tiles.Tile) -> bytes:
    # The margin brings in the cases just beyond the edges, which the tile draws in its buffer.
    rows = open_cases_in(user, tile, margin=tiles.BUFFER / tiles.EXTENT).values(
        "id", "status", "light", "location", category_code=F("category__code"))
    select = ("r.id, r.status, r.light, r.category_code AS category, "
              + tiles.mvt_geom("ST_Transform(r.location, 3857)"))
    return tiles.encode(LAYER, rows, select, tile)


def build_clusters(user, tile: tiles.Tile) -> bytes:
    # No margin: a cell belongs to one tile only, or its cluster would be drawn twice with two counts.
    rows = open_cases_in(user, tile).values("light", p=Transform("location", 3857))
    cell = tile.size_m / CLUSTER_CELLS
    half = tiles.MERCATOR_HALF
    select = (
        "count(*) AS count, count(*) FILTER (WHERE r.light = 'red') AS red, "
        "count(*) FILTER (WHERE r.light = 'yellow') AS yellow, "
        "CASE WHEN bool_or(r.light = 'red') THEN 'red' WHEN bool_or(r.light = 'yellow') THEN 'yellow' "
        "ELSE 'green' END AS light, "
        + tiles.mvt_geom("ST_SetSRID(ST_MakePoint(avg(ST_X(r.p)), avg(ST_Y(r.p))), 3857)")
    )
    group_by = f"GROUP BY floor((ST_X(r.p) + {half!r}) / {cell!r}), floor((ST_Y(r.p) + {half!r}) / {cell!r})"
    return tiles.encode(LAYER, rows, select, tile, group_by=group_by)


def case_tile(user, tile: tiles.Tile) -> tiles.Built:
    if tile.z >= POINTS_FROM_ZOOM:
        return tiles.cached_tile(LAYER, scope_key(user), tile, lambda: build_points(user, tile), ttl=CACHE_SECONDS,
                                 stamp=stamp())
    return tiles.cached_tile(LAYER, scope_key(user), tile, lambda: build_clusters(user, tile), ttl=CACHE_SECONDS,
                             max_stale=settings.MAP_TILES_STALE_SECONDS, stamp=stamp())


@login_required
def cases_tile_view(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    try:
        tile = tiles.tile_or_error(z, x, y)
    except ActionError as error:
        return HttpResponse(error.message, status=error.status_code, content_type="text/plain; charset=utf-8")
    return tiles.tile_response(request, case_tile(request.user, tile))


def cases_changed(sender, **kwargs) -> None:
    """A case event (report, status, light, …) or a move of areas: the case tiles are rebuilt after the
    commit (once per transaction)."""
    tiles.bump_after_commit(LAYER)
