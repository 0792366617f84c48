"""Vector tiles (Mapbox Vector Tile, PostGIS ``ST_AsMVT``) for the maps at city scale (DESIGN.md §8).

A layer module (``grids.tiles``, ``cases.tiles``) gives the rows of one tile as a scoped Django
queryset; this module wraps its SQL in the one statement that encodes the tile, checks the tile's
address, caches the bytes in Redis and answers with an ETag.

Caching. A tile is kept under its layer, address and a key of whatever decides which rows the user
sees (``scope_key``), with the layer's *version* beside it. A layer's version is a Redis counter that
the layer bumps after a commit that changes its rows (a case event, an area saved). A cached tile is
served while its version is the layer's version; for layers that change all day (cases, many times
a second in a busy city) a tile may also be served for ``max_stale`` seconds after it was built,
whatever the version, so that a tile costing a few hundred milliseconds is built at most once in that
time however busy the city. Redis down costs the cache, never the tile.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from govgrid.errors import ActionError

log = logging.getLogger("govgrid.tiles")

CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
EXTENT = 4096  # tile coordinates per side (the MVT default)
BUFFER = 64  # coordinates drawn beyond each edge, so a point's symbol is not cut at a tile's edge
# Web Mercator's half width in metres: cells of the cluster grid are aligned on the world, not on a
# tile, so a cluster is the same whichever tile asks.
MERCATOR_HALF = 20037508.342789244
GZIP_LEVEL = 5  # ~2.5x smaller; 10 ms for the largest tile (the city's grids at zoom 9)


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    def __str__(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"

    @property
    def size_m(self) -> float:
        """The tile's width in Web Mercator metres."""
        return 2 * MERCATOR_HALF / (1 << self.z)


def tile_or_error(z: int, x: int, y: int) -> Tile:
    """The tile at z/x/y, or ActionError (400) saying which number is out of range."""
    if not 0 <= z <= MAX_ZOOM:
        raise ActionError(_("The zoom level must be between 0 and %(max)d.") % {"max": MAX_ZOOM}, field="z",
                          code="invalid")
    last = (1 << z) - 1
    if not 0 <= x <= last:
        raise ActionError(_("x must be between 0 and %(last)d at zoom %(z)d.") % {"last": last, "z": z},
                          field="x", code="invalid")
    if not 0 <= y <= last:
        raise ActionError(_("y must be between 0 and %(last)d at zoom %(z)d.") % {"last": last, "z": z},
                          field="y", code="invalid")
    return Tile(z, x, y)


def in_tile(column: str, tile: Tile, *, margin: float = 0.0) -> RawSQL:
    """A condition for ``filter()``: the WGS 84 geometry ``column`` (a quoted ``"table"."column"``)
    meets the tile (grown by ``margin``, a share of its width), through the column's GiST index."""
    return RawSQL(
        f"{column} && ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), 4326)",
        (tile.z, tile.x, tile.y, margin), output_field=BooleanField(),
    )


def encode(layer: str, rows: QuerySet, select: str, tile: Tile, *, group_by: str = "") -> bytes:
    """One statement: the rows of ``rows`` (a scoped queryset's SQL, as a subquery ``r``) turned into
    the features of ``layer``. ``select`` lists the feature's columns over ``r``, one of them ``geom``
    (see ``mvt_geom``); ``%(env)s`` in it stands for the tile's envelope. ``group_by`` (SQL of our own,
    no parameters) makes each feature a group of rows."""
    inner, params = rows.order_by().query.sql_with_params()  # no model ordering: nothing to sort
    envelope = "ST_TileEnvelope(%s, %s, %s)"
    select_sql = select.replace("%(env)s", envelope)
    env_params = (tile.z, tile.x, tile.y) * select.count("%(env)s")
    sql = (
        f"SELECT ST_AsMVT(f, %s, {EXTENT}, 'geom') FROM ("
        f"SELECT {select_sql} FROM ({inner}) AS r {group_by}"
        f") AS f WHERE f.geom IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (layer, *env_params, *params))
        data = cursor.fetchone()[0]
    return bytes(data or b"")


def mvt_geom(geometry_3857: str) -> str:
    """``ST_AsMVTGeom`` of a Web Mercator expression into the tile (``%(env)s``), clipped with the buffer."""
    return f"ST_AsMVTGeom({geometry_3857}, %(env)s, {EXTENT}, {BUFFER}, true) AS geom"


# --- versions and the cache ---------------------------------------------------------------------------


def _version_key(layer: str) -> str:
    return f"tiles:version:{layer}"


def layer_version(layer: str) -> int | None:
    """The layer's version now; None when Redis does not answer (then nothing is cached)."""
    key = _version_key(layer)
    try:
        version = cache.get(key)
        if version is None:
            # A counter that starts at the clock in milliseconds: should Redis lose it (evicted,
            # restarted), it starts again above any number it gave before, so an old tile never matches.
            cache.add(key, int(time.time() * 1000), None)
            version = cache.get(key)
        return int(version) if version is not None else None
    except Exception:  # noqa: BLE001 - the cache is an optimisation: a tile is built without it
        log.warning("tiles: Redis did not answer for the %s version", layer, exc_info=True)
        return None


def bump_now(layer: str) -> None:
    """One round trip after a commit: SET NX (start at the clock) and INCR in a pipeline. Django's cache
    API would take three (ADD, then its INCR's EXISTS and INCR) on every committed case event."""
    key = _version_key(layer)
    try:
        backend = getattr(cache, "_cache", None)
        if backend is None or not hasattr(backend, "get_client"):  # another cache backend
            if not cache.add(key, int(time.time() * 1000), None):
                cache.incr(key)
            return
        raw_key = cache.make_and_validate_key(key)
        pipe = backend.get_client(raw_key, write=True).pipeline(transaction=False)
        pipe.set(raw_key, int(time.time() * 1000), nx=True)
        pipe.incr(raw_key)
        pipe.execute()
    except Exception:  # noqa: BLE001 - never fail the commit that changed the rows
        log.warning("tiles: could not bump the %s version", layer, exc_info=True)


class _Bump:
    def __init__(self, layer: str) -> None:
        self.layer = layer

    def __call__(self) -> None:
        bump_now(self.layer)


def bump_after_commit(layer: str) -> None:
    """Bump the layer's version once the surrounding transaction commits (at once outside one): once
    per transaction, however many rows it changed (a sweep batch moves hundreds of lights)."""
    if not connection.in_atomic_block:
        bump_now(layer)
        return
    current = set(connection.savepoint_ids)
    for savepoints, func, _robust in connection.run_on_commit:
        # One already waiting that no rollback can drop without dropping this one too.
        if isinstance(func, _Bump) and func.layer == layer and savepoints <= current:
            return
    transaction.on_commit(_Bump(layer))


@dataclass(frozen=True)
class Built:
    """A tile, kept gzipped (a city's grids at zoom 9 are 300 kB, 120 kB so): browsers take it as is."""

    gzipped: bytes
    etag: str
    cached: bool

    @property
    def data(self) -> bytes:
        return gzip.decompress(self.gzipped)


def cached_tile(layer: str, scope_key: str, tile: Tile, build: Callable[[], bytes], *, ttl: int,
                max_stale: float = 0, stamp=None) -> Built:
    """The tile's bytes from the cache when they are current (see the module's docstring), else built.
    ``stamp`` is compared like the version: something read from the rows that a bulk write changes
    without bumping the version (the newest id)."""
    key = f"tiles:{layer}:{scope_key}:{tile}"
    try:  # the version and the tile in one round trip
        found = cache.get_many([_version_key(layer), key])
    except Exception:  # noqa: BLE001 - the cache is an optimisation: a tile is built without it
        found = None
    version = None
    entry = None
    if found is not None:
        version = found.get(_version_key(layer))
        if version is None:
            version = layer_version(layer)
        else:
            entry = found.get(key)
    if version is not None:
        version = (int(version), stamp)
        if entry is not None:
            built_version, built_at, etag, gzipped = entry
            if built_version == version or (max_stale and time.time() - built_at < max_stale):
                return Built(gzipped, etag, True)
    data = build()
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    gzipped = gzip.compress(data, GZIP_LEVEL, mtime=0)
    if version is not None:
        try:
            cache.set(key, (version, time.time(), etag, gzipped), ttl)
        except Exception:  # noqa: BLE001
            log.warning("tiles: could not cache %s %s", layer, tile, exc_info=True)
    return Built(gzipped, etag, False)


def tile_response(request: HttpRequest, built: Built, *, max_age: int = 0) -> HttpResponse:
    """The tile (gzipped when the client takes gzip), or 304 when the browser holds these bytes (its
    If-None-Match). Private: per user."""
    compressed = "gzip" in request.headers.get("Accept-Encoding", "")
    # Each encoding its own tag (RFC 9110 §8.8.3): a cache must not answer one with the other.
    etag = built.etag[:-1] + '-gz"' if compressed else built.etag
    if_none_match = request.headers.get("If-None-Match", "")
    if etag in {tag.strip() for tag in if_none_match.split(",")}:
        response = HttpResponse(status=304)
    elif compressed:
        response = HttpResponse(built.gzipped, content_type=CONTENT_TYPE)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(built.data, content_type=CONTENT_TYPE)
    response["ETag"] = etag
    patch_vary_headers(response, ["Accept-Encoding"])
    response["Cache-Control"] = f"private, max-age={max_age}" + (", must-revalidate" if not max_age else "")
    response["X-Tile-Cache"] = "hit" if built.cached else "miss"
    return response


def scope_hash(*parts) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()
