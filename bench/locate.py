"""Point → grid: time ``grids.selectors.locate_grid`` over random points in a seeded Foshan.

    .venv/bin/python bench/locate.py [--points 2000] [--warmup 200] [--seed 1]

What is timed: one call of ``locate_grid(lon, lat)`` in this process, ORM included (query build, one
indexed ``ST_Covers`` probe over 5,069 grid polygons on the loopback PostgreSQL, model instance with
its parent). Points are uniform over the city's bounding box, which the grids tile exactly. A warm-up
runs first (connection, query plan cache, buffers). Target (DESIGN.md §9): under 2 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

TARGET_MS = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    common.setup()
    common.ensure_city()

    from grids.choices import Level
    from grids.models import Area
    from grids.selectors import locate_grid

    city = Area.objects.get(code=common.CITY_CODE)
    west, south, east, north = city.boundary.extent
    grids = Area.objects.filter(level=Level.GRID, path__startswith=city.path).count()
    rng = random.Random(args.seed)

    def point() -> tuple[float, float]:
        return rng.uniform(west, east), rng.uniform(south, north)

    from grids.selectors import LocationError

    def probe(lon: float, lat: float):
        """A point outside every grid is refused (LocationError), as the intake does: timed all the same."""
        try:
            return locate_grid(lon, lat)
        except LocationError:
            return None

    for _ in range(args.warmup):
        probe(*point())

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    points = [point() for _ in range(args.points)]
    samples, found = [], 0
    own = os.getpid()
    cpu_before = common.system_busy_seconds(), common.process_cpu_seconds(own) + common.process_cpu_seconds(backend)
    wall_started = time.perf_counter()
    for lon, lat in points:
        started = time.perf_counter()
        grid = probe(lon, lat)
        samples.append(time.perf_counter() - started)
        found += grid is not None and grid.level == Level.GRID

    wall = time.perf_counter() - wall_started

    # The same probe as raw SQL, and a bare round trip: how much of the call is the database.
    raw_sql = (
        "SELECT id FROM grids_area WHERE level = %s AND ST_Covers(boundary, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
        "ORDER BY code LIMIT 1"
    )
    raw_samples, trip_samples = [], []
    with connection.cursor() as cursor:
        for lon, lat in points:
            started = time.perf_counter()
            cursor.execute(raw_sql, [int(Level.GRID), lon, lat])
            cursor.fetchone()
            raw_samples.append(time.perf_counter() - started)
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            trip_samples.append(time.perf_counter() - started)
    busy = common.system_busy_seconds() - cpu_before[0]
    mine = common.process_cpu_seconds(own) + common.process_cpu_seconds(backend) - cpu_before[1]
    s = common.summary_ms(samples)
    print(f"locate_grid · {city.name} ({grids} grids) · {common.machine_line()}")
    print(f"  {s['n']} random points after {args.warmup} warm-up calls; {found} found a grid")
    print(f"  p50 {s['p50']:.3f} ms   p99 {s['p99']:.3f} ms   mean {s['mean']:.3f} ms   max {s['max']:.3f} ms")
    raw, trip = common.summary_ms(raw_samples), common.summary_ms(trip_samples)
    print(f"  for comparison, the same probe as raw SQL (id only): p50 {raw['p50']:.3f} ms   p99 {raw['p99']:.3f} ms; "
          f"SELECT 1: p50 {trip['p50']:.3f} ms")
    print(f"  {common.others_line(busy, mine, wall)}")
    def verdict(value: float) -> str:
        return "within" if value < TARGET_MS else "OVER"

    print(f"  target < {TARGET_MS:g} ms (DESIGN.md §9): p50 {verdict(s['p50'])}, p99 {verdict(s['p99'])}")
    common.record("locate", {"grids": grids, "p50_ms": s["p50"], "p99_ms": s["p99"]},
                  others_cores=common.others_cores(busy, mine, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
