"""Exports of a million cases: CSV and XLSX, written a row at a time, with the peak memory it took.

    .venv/bin/python bench/exports.py [--formats csv,xlsx]

Issue #16: "Exports of 1 M cases to CSV and XLSX streamed with bounded memory (under 300 MB peak) and
progress; time them." Uses the bench database and its million cases (bench/sweep.py loads them; this
script loads them when they are missing, through bench/pages.py). Each format runs in a child process
of its own (``build_export`` as the Celery worker runs it, for the city and a period that holds every
case), so its peak resident memory (``ru_maxrss``) is the export's and nothing else's. Figures: rows,
seconds, rows a second, file size, peak RSS of the process, how many progress updates it wrote.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from bench import common
common.setup()
from datetime import timedelta
from django.core.files.storage import default_storage
from django.db.models import Max, Min
from cases.models import Case
from reports import exports

updates = []
real_set_job = exports.set_job
def counting_set_job(export_id, **changes):
    if "progress" in changes:
        updates.append(changes["progress"])
    return real_set_job(export_id, **changes)
exports.set_job = counting_set_job

span = Case.objects.aggregate(first=Min("reported_at"), last=Max("reported_at"))
start = (span["first"] - timedelta(days=1)).date().isoformat()
end = (span["last"] + timedelta(days=1)).date().isoformat()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
export_id = exports.build_export("cases", common.CITY_CODE, start, end, None, fmt={fmt!r})
seconds = time.perf_counter() - started
job = exports.get_job(export_id)
size = default_storage.size(job["file"])
rows = Case.objects.filter(reported_at__date__gte=start, reported_at__date__lte=end).count()
default_storage.delete(job["file"])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"rows": rows, "seconds": seconds, "bytes": size, "updates": len(updates),
                  "rss_before_mb": before / 1024, "rss_peak_mb": peak / 1024}}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args(argv)
    common.setup()
    common.ensure_city()
    from bench import pages

    pages.ensure_cases()
    root = str(Path(__file__).resolve().parent.parent)
    print(f"\nexports · {common.machine_line()}")
    print(f"  {'format':<8} {'rows':>10} {'s':>7} {'rows/s':>9} {'MB file':>8} {'RSS MB at start':>16} "
          f"{'peak RSS MB':>12} {'progress':>9}")
    figures = common.recorded("exports")
    for fmt in args.formats.split(","):
        child = subprocess.run([sys.executable, "-c", CHILD.format(root=root, fmt=fmt)], capture_output=True,
                               text=True, env={**os.environ, **common.bench_environment()}, check=False)
        if child.returncode != 0:
            print(child.stderr[-3000:])
            return 1
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"  {fmt:<8} {r['rows']:>10,} {r['seconds']:7.1f} {r['rows'] / r['seconds']:9,.0f} "
              f"{r['bytes'] / 2**20:8.1f} {r['rss_before_mb']:16.0f} {r['rss_peak_mb']:12.0f} {r['updates']:9d}")
        figures[fmt] = {"rows": r["rows"], "seconds": r["seconds"], "peak_rss_mb": r["rss_peak_mb"],
                        "mb": r["bytes"] / 2**20}
    common.record("exports", {key: value for key, value in figures.items() if key in ("csv", "xlsx")})
    common.flush_bench_redis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
