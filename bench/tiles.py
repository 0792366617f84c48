"""The map's vector tiles beside a million cases: time and size per tile, cold and warm cache.

    .venv/bin/python bench/tiles.py [--tiles 12] [--zooms 9-16] [--seed 1] [--from-cases]

Issue #16: "cases and grids served as vector tiles (PostGIS ST_AsMVT, cached), under 50 ms per tile".
Prints figures, asserts nothing. Uses the bench database (bench/common.py): Foshan (5,069 grids) and the
million open cases of bench/sweep.py (loaded on first use). Logged in as the city centre's operator (every
case and grid in scope), through Django's test client with DEBUG off: middleware, session, the view, the
SQL, Redis. For each zoom 9–16 a set of tiles over Foshan (every tile over the city where that is at most
``--tiles``, else ``--tiles`` tiles holding a random grid's centre, so dense town centres weigh as in use):

* cold: the tile's cache entry deleted first, so the request builds it (one ``ST_AsMVT`` statement);
* warm: the same tile again, from Redis.

Cases below zoom 15 are clusters (cases/tiles.py), from 15 on one point per case. Clusters up to zoom 13
add up the summary of open cases per grid and cell (``GridOpenSummary``), which the script refreshes first
(timed: from an empty table, then with nothing changed) and marks trusted for the whole run; with
``--from-cases`` they are counted from the cases, as before the summary.

The headline figures also go to ``var/bench/tiles.json`` (not with ``--from-cases``), for bench/summary.py.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 1 << z
    return z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def tiles_for(zoom: int, count: int, rng: random.Random) -> list[tuple[int, int, int]]:
    from django.contrib.gis.db.models import Extent

    from grids.choices import Level
    from grids.models import Area

    grids = Area.objects.filter(level=Level.GRID, path__startswith=f"{common.CITY_CODE}/")
    x0, y0, x1, y1 = grids.aggregate(e=Extent("boundary"))["e"]
    _, tx0, ty1 = tile_of(x0, y0, zoom)
    _, tx1, ty0 = tile_of(x1, y1, zoom)
    every = [(zoom, x, y) for x in range(tx0, tx1 + 1) for y in range(ty0, ty1 + 1)]
    if len(every) <= count:
        return every
    centres = list(grids.values_list("centroid", flat=True))
    holding = sorted({tile_of(point.x, point.y, zoom) for point in centres})
    if len(holding) <= count:
        return holding
    chosen: dict = {}
    while len(chosen) < count:
        point = rng.choice(centres)
        chosen[tile_of(point.x, point.y, zoom)] = True
    return list(chosen)


def timed(client, url: str, cpu: list | None = None):
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    if cpu is not None:
        cpu.append(time.process_time() - cpu_started)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return elapsed, response


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiles", type=int, default=12, help="tiles per zoom level (default 12)")
    parser.add_argument("--zooms", default="9-16", help="zoom levels, e.g. 9-16 or 12")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--from-cases", action="store_true",
                        help="count cluster tiles from the cases, not the summary (the way before it)")
    parser.add_argument("--refreshes", type=int, default=3, help="timed refreshes with nothing changed (default 3)")
    args = parser.parse_args(argv)
    low, _, high = args.zooms.partition("-")
    zooms = range(int(low), int(high or low) + 1)

    common.setup()
    common.ensure_city()
    from bench.pages import city_operator, ensure_cases

    ensure_cases()
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from cases import tiles as case_tiles
    from cases.choices import OPEN_STATUSES
    from cases.models import Case, GridOpenSummary
    from govgrid import tiles
    from grids import tiles as grid_tiles

    settings.DEBUG = False
    settings.MAP_TILES_STALE_SECONDS = 0
    operator = city_operator()
    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_ENCODING="gzip, deflate, br")  # as a browser asks
    client.force_login(operator)
    open_cases = Case.objects.filter(status__in=OPEN_STATUSES).count()
    from grids.choices import Level
    from grids.models import Area

    grid_count = Area.objects.filter(level=Level.GRID, path__startswith=f"{common.CITY_CODE}/").count()
    keys = {"cases": case_tiles.scope_key(operator), "grids": grid_tiles.scope_key(operator)}
    rng = random.Random(args.seed)
    with connection.cursor() as cursor:  # the tables and the GiST index read once, as on a server in use
        cursor.execute("SELECT count(*) FROM cases_case WHERE location && ST_MakeEnvelope(112, 22, 114, 24, 4326)")

    # The summary as beat keeps it: refreshed (timed), and trusted for the whole run (beat would refresh it
    # every 30 s; here nothing changes meanwhile, and a refresh in the middle would stand in the figures).
    GridOpenSummary.objects.all().delete()
    started = time.perf_counter()
    full = case_tiles.refresh_grid_summary()
    refresh_full_ms = (time.perf_counter() - started) * 1000
    refresh_ms = []
    for _ in range(args.refreshes):
        started = time.perf_counter()
        case_tiles.refresh_grid_summary()
        refresh_ms.append((time.perf_counter() - started) * 1000)
    summary_rows = GridOpenSummary.objects.count()
    if args.from_cases:
        cache.delete(case_tiles._SUMMARY_MARK)
    else:
        cache.set(case_tiles._SUMMARY_MARK, time.time(), None)

    timed(client, "/tiles/cases/16/{1}/{2}.mvt".format(*tile_of(0.0, 0.0, 16)))  # the first request's imports

    cpu_started, busy_started, wall_started = time.process_time(), common.system_busy_seconds(), time.monotonic()
    rows = []
    for zoom in zooms:
        chosen = tiles_for(zoom, args.tiles, rng)
        for layer in ("cases", "grids"):
            cold, warm, warm_cpu, sizes, raw = [], [], [], [], []
            for z, x, y in chosen:
                url = f"/tiles/{layer}/{z}/{x}/{y}.mvt"
                cache.delete(f"tiles:{layer}:{keys[layer]}:{tiles.Tile(z, x, y)}")
                elapsed, response = timed(client, url)
                assert response["X-Tile-Cache"] == "miss", url
                cold.append(elapsed)
                sizes.append(len(response.content))  # gzipped, as sent
                raw.append(len(gzip.decompress(response.content)))
                elapsed, response = timed(client, url, warm_cpu)
                assert response["X-Tile-Cache"] == "hit", url
                warm.append(elapsed)
            cold_ms, warm_ms = sorted(t * 1000 for t in cold), sorted(t * 1000 for t in warm)
            rows.append((zoom, layer, len(chosen), cold_ms, warm_ms, statistics.median(warm_cpu) * 1000,
                         sorted(sizes), max(raw)))
    wall = time.monotonic() - wall_started
    own = time.process_time() - cpu_started
    common.flush_bench_redis()

    print()
    print(f"tiles · {common.machine_line()}")
    print(f"  {open_cases:,} open cases, Foshan's 5,069 grids; logged in as {operator.username}, a centre operator "
          f"of the city (everything in scope); DEBUG off; through Django's test client")
    print(f"  cases: clusters below zoom {case_tiles.POINTS_FROM_ZOOM}, points from it; clusters up to zoom "
          f"{case_tiles.SUMMARY_ZOOM} " + ("counted from the cases (--from-cases)" if args.from_cases else
                                           f"added up from the summary ({summary_rows:,} rows: grid × zoom-"
                                           f"{case_tiles.SUMMARY_ZOOM} cell)"))
    print(f"  summary refresh at {open_cases:,} open cases: {refresh_full_ms:,.0f} ms into an empty table "
          f"({full['written']:,} rows written); with nothing changed "
          + " / ".join(f"{ms:,.0f}" for ms in refresh_ms) + " ms")
    print("  ms a tile (wall clock; 'warm CPU': this process's CPU for a warm tile, which a busy machine does not"
          " inflate); KB as sent (gzip), 'raw max' the largest tile unzipped")
    print(f"  {'zoom':>4} {'layer':<6} {'tiles':>5} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9} "
          f"{'warm CPU':>9} {'KB p50':>7} {'KB max':>7} {'raw max':>8}")
    for zoom, layer, n, cold_ms, warm_ms, warm_cpu_ms, sizes, raw_max in rows:
        print(f"  {zoom:>4} {layer:<6} {n:>5} {common.percentile(cold_ms, 0.5):9.1f} "
              f"{common.percentile(cold_ms, 0.95):9.1f} {common.percentile(warm_ms, 0.5):9.1f} "
              f"{common.percentile(warm_ms, 0.95):9.1f} {warm_cpu_ms:9.1f} {statistics.median(sizes) / 1024:7.1f} "
              f"{sizes[-1] / 1024:7.1f} {raw_max / 1024:8.1f}")
    busy = common.system_busy_seconds() - busy_started
    print("  " + common.others_line(busy, own, wall))
    if not args.from_cases:
        path = write_json(rows, open_cases=open_cases, grids=grid_count, summary_rows=summary_rows,
                          refresh_full_ms=refresh_full_ms, refresh_ms=refresh_ms,
                          others=common.others_cores(busy, own, wall))
        print(f"  headline figures written to {path}")
    return 0


def write_json(rows, *, open_cases, grids, summary_rows, refresh_full_ms, refresh_ms, others) -> Path:
    """The headline figures in var/bench/tiles.json (``common.record``) for bench/summary.py: per zoom the
    slower of the two layers (a map view waits for both), and each layer on its own."""
    by_layer: dict = {}
    for zoom, layer, _n, cold_ms, warm_ms, _cpu, _sizes, _raw in rows:
        figures = by_layer.setdefault(layer, {"cold_p50_ms_by_zoom": {}, "cold_p95_ms_by_zoom": {},
                                              "warm_p95_ms_by_zoom": {}})
        figures["cold_p50_ms_by_zoom"][str(zoom)] = round(common.percentile(cold_ms, 0.5), 1)
        figures["cold_p95_ms_by_zoom"][str(zoom)] = round(common.percentile(cold_ms, 0.95), 1)
        figures["warm_p95_ms_by_zoom"][str(zoom)] = round(common.percentile(warm_ms, 0.95), 1)
    zooms = sorted({str(row[0]) for row in rows}, key=int)
    cold_p50 = {z: max(f["cold_p50_ms_by_zoom"][z] for f in by_layer.values()) for z in zooms}
    warm_p95 = [ms for f in by_layer.values() for ms in f["warm_p95_ms_by_zoom"].values()]
    return common.record("tiles", {
        "target_ms": 50,
        "open_cases": open_cases,
        "grids": grids,
        "cold_p50_ms_by_zoom": cold_p50,
        "cold_p50_ms_max": max(cold_p50.values()),
        "warm_p95_ms_max": max(warm_p95),
        "by_layer": by_layer,
        "summary_rows": summary_rows,
        "summary_refresh_ms": {"into_empty": round(refresh_full_ms),
                               "unchanged_median": round(statistics.median(refresh_ms)) if refresh_ms else None},
        "cores": os.cpu_count(),
    }, others_cores=others)

if __name__ == "__main__":
    sys.exit(main())
