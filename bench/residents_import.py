"""Residents import: an XLSX form of 100,000 rows, checked (dry run) and imported, time and peak memory.

    .venv/bin/python bench/residents_import.py [--rows 100000] [--grids 200] [--keep]

Run by hand or by ``make bench``; it prints figures and asserts nothing. The form is written first
(openpyxl write-only, like the template: 18 columns, every row a valid synthetic person in one of
``--grids`` Foshan grids, 50 people (10 households of 5) per building, each building new, with its road, number and a
point inside its grid), then a fresh child process reads it and runs ``parties.importer.check_file``
(the dry run) and ``import_file`` (check again, then the bulk write in one transaction). The child
measures its own peak resident memory (``ru_maxrss``) after Django starts, after the dry run and
after the import, so the figures are the importer's, not the file generator's. The import runs
inside a transaction that is rolled back at the end (``--keep`` commits), so the bench database is
left as it was and the bench can run again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

REGION = "910101"  # a region code no seeded person has, so the bench's people never collide


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def write_form(path: Path, rows: int, grids: int) -> float:
    from openpyxl import Workbook

    from grids.choices import Level
    from grids.models import Area
    from parties import importer, pii

    chosen = list(Area.objects.filter(level=Level.GRID, path__startswith=Area.objects.get(
        code=common.CITY_CODE).path).order_by("code").only("code", "boundary")[:grids])
    points = {grid.code: grid.boundary.point_on_surface for grid in chosen}
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("居民")
    sheet.append([column.header for column in importer.COLUMNS])
    keys = [column.key for column in importer.COLUMNS]
    first = dt.date(1950, 1, 1)
    for index in range(rows):
        grid = chosen[(index // 50) % len(chosen)]
        building = f"imp-{index // 50}"
        room = index % 50 // 5  # 10 rooms a building, a household of 5 in each
        floor = room // 2 + 1
        point = points[grid.code]
        new_building = index % 50 == 0
        values = {
            "grid": grid.code, "building": building, "road": "基准路" if new_building else "",
            "road_number": str(index // 50) if new_building else "", "compound": "",
            "lon": round(point.x, 7) if new_building else None, "lat": round(point.y, 7) if new_building else None,
            "unit": "1", "floor": floor, "room": f"{floor}{room % 2 + 1:02d}", "rental": "否", "name": f"居民{index}",
            "id_number": pii.make_id_number(REGION, first + dt.timedelta(days=index // 500), index,
                                            female=bool(index % 2)),
            "phone": f"139{index:08d}", "residence_kind": "户籍" if index % 4 else "流动",
            "household": f"B{index // 5}", "relation": "户主" if index % 5 == 0 else "子女",
            "moved_in": dt.date(2020, 1, 1) + dt.timedelta(days=index % 1500),
        }
        sheet.append([values[key] for key in keys])
    workbook.save(path)
    return time.perf_counter() - started


def child(path: Path, keep: bool) -> int:
    common.setup()
    from django.conf import settings
    from django.db import connection, transaction

    # The benches run with DEBUG=1 (bench/common.py), under which Django keeps the text of every query:
    # the bulk inserts' SQL, cipher texts and all, would count as the importer's memory. Production runs
    # with DEBUG off.
    settings.DEBUG = False

    from parties import importer
    from parties.models import Resident

    content = path.read_bytes()
    baseline = _rss_mb()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    busy_before = common.system_busy_seconds()
    own_before = common.process_cpu_seconds(os.getpid()) + common.process_cpu_seconds(backend)
    wall_started = time.perf_counter()

    started = time.perf_counter()
    result = importer.check_file(content, "xlsx")
    check_seconds = time.perf_counter() - started
    after_check = _rss_mb()
    if not result.ok:
        print("  the generated form has problems (bench bug):", *[str(p) for p in result.problems[:5]], sep="\n    ")
        return 1
    del result

    before = Resident.objects.count()
    started = time.perf_counter()
    with transaction.atomic():
        written = importer.import_file(content, "xlsx")
        import_seconds = time.perf_counter() - started
        if not keep:
            transaction.set_rollback(True)
    after_import = _rss_mb()
    wall = time.perf_counter() - wall_started
    busy = common.system_busy_seconds() - busy_before
    mine = common.process_cpu_seconds(os.getpid()) + common.process_cpu_seconds(backend) - own_before
    rows = written.residents
    print(f"  dry run (read + check):   {check_seconds:7.1f} s   {rows / check_seconds:8,.0f} rows/s")
    print(f"  import (check + write):   {import_seconds:7.1f} s   {rows / import_seconds:8,.0f} rows/s   "
          f"{written.residents:,} residents, {written.buildings:,} buildings, {written.houses:,} houses, "
          f"{written.households:,} households")
    print(f"  peak memory (max RSS):    {baseline:7.0f} MB after Django started, {after_check:.0f} MB after the dry "
          f"run, {after_import:.0f} MB after the import (file {len(content) / 1e6:.1f} MB)")
    print(f"  {'kept' if keep else 'rolled back'}: residents in the database {before:,} → "
          f"{Resident.objects.count():,}")
    print(f"  {common.others_line(busy, mine, wall)}")
    common.record("residents_import", {"rows": rows, "check_seconds": check_seconds, "import_seconds": import_seconds,
                                       "peak_rss_mb": max(after_check, after_import)},
                  others_cores=common.others_cores(busy, mine, wall))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--grids", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="commit the import instead of rolling it back")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.keep)

    common.setup()
    common.ensure_city()
    print(f"residents import · {args.rows:,} rows of XLSX · {common.machine_line()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "residents.xlsx"
        seconds = write_form(path, args.rows, args.grids)
        print(f"  form written in {seconds:.1f} s ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
        command = [sys.executable, __file__, "--child", str(path)] + (["--keep"] if args.keep else [])
        return subprocess.run(command, env={**os.environ, **common.bench_environment()}, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
