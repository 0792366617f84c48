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

Up to ``SUMMARY_ZOOM`` a cluster tile does not read the cases: it adds up ``GridOpenSummary``, the open
cases per grid and zoom-13 cell (count, red, yellow, sums of coordinates) that ``refresh_grid_summary``
rewrites every half minute (beat). A cell of a coarser zoom is a block of zoom-13 cells, so the
clusters are the ones the cases would give, at the same places — from a few hundred rows for a town
to 40,000 for a million cases over Foshan, whatever the number of cases. Only when the user's case
scope is exactly "the cases under these areas" (``cases.selectors.case_scope_by_area``: not a
department handler's dispatched cases, not a worker's own reports beyond their grids), and only while
the summary is being refreshed (its mark in Redis, ``SUMMARY_TRUSTED_SECONDS``); else the tile is
counted from the cases.

Cached per scope (``cases.selectors.case_scope_key``: everyone at the city centre shares the city's
tiles; a user whose own reports reach past their areas gets tiles of their own), with the ``cases``
version that every committed case event bumps (``event_recorded``). Cluster tiles may be served up to
``MAP_TILES_STALE_SECONDS`` after they were built: counts a few seconds old, never a rebuild per report
in a busy city; from the summary, add its age (at most the beat interval and one refresh). Point tiles
are always current.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models.functions import Transform
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse

from cases.choices import OPEN_STATUSES
from cases.models import Case, GridOpenSummary
from cases.selectors import case_scope_by_area, case_scope_key, visible_cases
from govgrid import tiles
from govgrid.errors import ActionError

log = logging.getLogger("govgrid.tiles")

LAYER = "cases"
POINTS_FROM_ZOOM = 15
CLUSTER_CELLS = 8  # a cell is 32 px of a 256 px tile
CACHE_SECONDS = 600
_LOCATION = '"cases_case"."location"'
# Cluster tiles up to this zoom add up the summary, whose cells are this zoom's cluster cells (a tile of
# zoom SUMMARY_ZOOM + 3). Deeper, a tile holds few enough cases to read them (bench/README.md "tiles.py").
SUMMARY_ZOOM = 13
_CELL_LEVEL = SUMMARY_ZOOM + 3  # CLUSTER_CELLS = 8 = 2 ** 3 cells a tile side
# The summary is trusted while its last refresh is younger than this (the mark's lifetime in Redis): a
# beat that stopped, or a Redis that lost the mark, sends the tiles back to the cases, slower but current.
SUMMARY_TRUSTED_SECONDS = 120
# Not under "tiles:": emptying the tile cache (bench/map_page.py) must not make the summary untrusted.
_SUMMARY_MARK = "map_summary:refreshed_at"
_CLUSTER_LIGHT = ("CASE WHEN {red} > 0 THEN 'red' WHEN {yellow} > 0 THEN 'yellow' ELSE 'green' END AS light")


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


def _cell_group_by(point: str, tile: tiles.Tile) -> str:
    cell = tile.size_m / CLUSTER_CELLS
    half = tiles.MERCATOR_HALF
    return f"GROUP BY floor((ST_X({point}) + {half!r}) / {cell!r}), floor((ST_Y({point}) + {half!r}) / {cell!r})"


def build_case_clusters(user, tile: tiles.Tile) -> bytes:
    """Clusters counted from the cases themselves: every open case in scope under the tile."""
    # No margin: a cell belongs to one tile only, or its cluster would be drawn twice with two counts.
    rows = open_cases_in(user, tile).values("light", p=Transform("location", 3857))
    select = (
        "count(*) AS count, count(*) FILTER (WHERE r.light = 'red') AS red, "
        "count(*) FILTER (WHERE r.light = 'yellow') AS yellow, "
        + _CLUSTER_LIGHT.format(red="count(*) FILTER (WHERE r.light = 'red')",
                                yellow="count(*) FILTER (WHERE r.light = 'yellow')") + ", "
        + tiles.mvt_geom("ST_SetSRID(ST_MakePoint(avg(ST_X(r.p)), avg(ST_Y(r.p))), 3857)")
    )
    return tiles.encode(LAYER, rows, select, tile, group_by=_cell_group_by("r.p", tile))


def build_summary_clusters(area_q: Q, tile: tiles.Tile) -> bytes:
    """Clusters added up from the summary's cells (of the areas ``area_q`` selects) that lie in the tile:
    the features ``build_case_clusters`` gives for the cases the summary counted."""
    per_tile = 1 << (_CELL_LEVEL - tile.z)  # summary cells a tile side
    per_cell = per_tile // CLUSTER_CELLS  # … and a cluster cell side
    row = (1 << tile.z) - 1 - tile.y  # the tile's row counted from the south, as the cells are
    rows = GridOpenSummary.objects.filter(
        area_q, cell_x__gte=tile.x * per_tile, cell_x__lt=(tile.x + 1) * per_tile,
        cell_y__gte=row * per_tile, cell_y__lt=(row + 1) * per_tile,
    ).values("cell_x", "cell_y", "open_count", "red", "yellow", "sum_x", "sum_y")
    select = (
        "sum(r.open_count) AS count, sum(r.red) AS red, sum(r.yellow) AS yellow, "
        + _CLUSTER_LIGHT.format(red="sum(r.red)", yellow="sum(r.yellow)") + ", "
        + tiles.mvt_geom("ST_SetSRID(ST_MakePoint(sum(r.sum_x) / sum(r.open_count), "
                         "sum(r.sum_y) / sum(r.open_count)), 3857)")
    )
    try:
        return tiles.encode(LAYER, rows, select, tile,
                            group_by=f"GROUP BY r.cell_x / {per_cell}, r.cell_y / {per_cell}")
    except EmptyResultSet:  # a scope of no areas at all: nothing to ask the database
        return b""


def summary_trusted() -> bool:
    try:
        return cache.get(_SUMMARY_MARK) is not None
    except Exception:  # noqa: BLE001 - no Redis, no mark: count from the cases
        return False


def build_clusters(user, tile: tiles.Tile, *, key: tuple | None = None) -> bytes:
    """From the summary when the tile is coarse, the summary fresh and the user's scope a set of areas
    (``case_scope_by_area``); else from the cases. ``key``: ``case_scope_key(user)`` when known."""
    if tile.z <= SUMMARY_ZOOM and summary_trusted():
        area_q = case_scope_by_area(user, key)
        if area_q is not None:
            return build_summary_clusters(area_q, tile)
    return build_case_clusters(user, tile)


# Web Mercator (EPSG:3857) by its formula, x = R·λ, y = R·ln tan(π/4 + φ/2): the same metres as
# ST_Transform to a nanometre, but priced by the planner as the arithmetic it is (ST_Transform's cost
# estimate, millions for a million rows, turned the plan into an index walk and a sort: 5-9 s, not 1.5 s).
_REFRESH_SQL = """
WITH fresh AS (
    SELECT grid_id, area_path, floor((x + %(half)s) / %(cell)s)::int AS cell_x,
           floor((y + %(half)s) / %(cell)s)::int AS cell_y, count(*) AS open_count,
           count(*) FILTER (WHERE light = 'red') AS red, count(*) FILTER (WHERE light = 'yellow') AS yellow,
           sum(x) AS sum_x, sum(y) AS sum_y
    FROM (SELECT grid_id, area_path, light, ST_X(location) * %(half)s / 180 AS x,
                 ln(tan(pi() / 4 + radians(ST_Y(location)) / 2)) * %(half)s / pi() AS y
          FROM cases_case WHERE status = ANY(%(open)s)) AS c
    GROUP BY 1, 2, 3, 4
), gone AS (
    DELETE FROM cases_gridopensummary AS s
    WHERE NOT EXISTS (SELECT 1 FROM fresh AS f WHERE (f.grid_id, f.area_path, f.cell_x, f.cell_y)
                                                     = (s.grid_id, s.area_path, s.cell_x, s.cell_y))
    RETURNING 1
), put AS (
    INSERT INTO cases_gridopensummary AS s
        (grid_id, area_path, cell_x, cell_y, open_count, red, yellow, sum_x, sum_y)
    SELECT * FROM fresh
    ON CONFLICT (grid_id, area_path, cell_x, cell_y) DO UPDATE
    SET open_count = EXCLUDED.open_count, red = EXCLUDED.red, yellow = EXCLUDED.yellow,
        sum_x = EXCLUDED.sum_x, sum_y = EXCLUDED.sum_y
    -- Rows that did not change are not written (nor their sums, which a new order of addition moves
    -- by a few nanometres).
    WHERE (s.open_count, s.red, s.yellow) IS DISTINCT FROM (EXCLUDED.open_count, EXCLUDED.red, EXCLUDED.yellow)
       OR abs(s.sum_x - EXCLUDED.sum_x) > 0.01 OR abs(s.sum_y - EXCLUDED.sum_y) > 0.01
    RETURNING 1
)
SELECT (SELECT count(*) FROM put), (SELECT count(*) FROM gone)
"""


def refresh_grid_summary() -> dict[str, int]:
    """Rewrite the summary of open cases per grid and cell from the cases, in one statement (one snapshot of the
    cases; rows that did not change are not written), then mark it fresh and, when a row changed, bump
    the layer's version. One refresh at a time: a second one finding the lock taken does nothing.
    Returns the rows written and removed (-1 each when skipped)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext('cases_gridopensummary'))")
        if not cursor.fetchone()[0]:
            return {"written": -1, "removed": -1}
        # A hash table of the (grid, cell) groups, in one process: the planner expects a group per case
        # (a million), the table holds ~40,000 (65 MB at a million cases), and without the room it sorts
        # the million rows on disk. No JIT: compiling costs more than the statement saves.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(_REFRESH_SQL, {"half": tiles.MERCATOR_HALF, "cell": 2 * tiles.MERCATOR_HALF / (1 << _CELL_LEVEL),
                                      "open": [str(status) for status in OPEN_STATUSES]})
        written, removed = cursor.fetchone()
    try:
        cache.set(_SUMMARY_MARK, time.time(), SUMMARY_TRUSTED_SECONDS)
    except Exception:  # noqa: BLE001 - without the mark the tiles count from the cases
        log.warning("tiles: could not mark the grid summary fresh", exc_info=True)
    if written or removed:
        tiles.bump_now(LAYER)
    return {"written": written, "removed": removed}


def case_tile(user, tile: tiles.Tile) -> tiles.Built:
    key = case_scope_key(user)
    scope = tiles.scope_hash(key)
    if tile.z >= POINTS_FROM_ZOOM:
        return tiles.cached_tile(LAYER, scope, tile, lambda: build_points(user, tile), ttl=CACHE_SECONDS,
                                 stamp=stamp())
    return tiles.cached_tile(LAYER, scope, tile, lambda: build_clusters(user, tile, key=key), ttl=CACHE_SECONDS,
                             max_stale=settings.MAP_TILES_STALE_SECONDS, stamp=stamp())


@login_required
def cases_tile_view(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    try:
        tile = tiles.tile_or_error(z, x, y)
    except ActionError as error:
        return HttpResponse(error.message, status=error.status_code, content_type="text/plain; charset=utf-8")
    return tiles.tile_response(request, case_tile(request.user, tile))


def carry_summary(sender, *, move, **kwargs) -> dict[str, int]:
    """An area moved (``grids.signals.area_moved``, in the move's transaction, beside
    ``cases.receivers.carry_cases``): the summary's copies of the subtree's grid paths follow at once, as
    the cases' do, so that no tile of the old town counts the moved grids until the next refresh. A row
    whose new place is already taken (a refresh that had seen both paths) is left to the next refresh."""
    from grids.signals import like_prefix

    grids = "SELECT id, path FROM grids_area WHERE path LIKE %(pattern)s"
    params = {"pattern": like_prefix(move.new_path)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""DELETE FROM cases_gridopensummary s USING ({grids}) g
            WHERE s.grid_id = g.id AND s.area_path <> g.path AND EXISTS (
                SELECT 1 FROM cases_gridopensummary t WHERE (t.grid_id, t.area_path, t.cell_x, t.cell_y)
                                                            = (s.grid_id, g.path, s.cell_x, s.cell_y))""",
            params,
        )
        dropped = cursor.rowcount
        cursor.execute(
            f"""UPDATE cases_gridopensummary s SET area_path = g.path FROM ({grids}) g
            WHERE s.grid_id = g.id AND s.area_path <> g.path""",
            params,
        )
        return {"summary_rows": cursor.rowcount, "summary_rows_dropped": dropped}


def cases_changed(sender, **kwargs) -> None:
    """A case event (report, status, light, …) or a move of areas: the case tiles are rebuilt after the
    commit (once per transaction)."""
    tiles.bump_after_commit(LAYER)
