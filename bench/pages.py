"""Pages beside a million cases: the centre inbox and the case list, rendered for a city centre operator.

    .venv/bin/python bench/pages.py [--repeat 20] [--warmup 3] [--profile NAME]

Issue #11: "the centre inbox and the case list render in under 1 s with 1 M cases in the database".
Prints figures, asserts nothing. Uses the bench database (bench/common.py) and its million open cases
(loaded by bench/sweep.py on first use; this script loads them too when they are missing). Each
page is requested ``--repeat`` times after ``--warmup`` untimed ones through Django's test client:
the whole middleware stack, the view, the templates, the session and user read from the database,
with DEBUG off (no query log, as in production). Figures per page: p50/p95/max wall time, how many
SQL statements one request makes and how much of the p50 request waits on SQL, and the slowest
statement. ``--profile NAME`` prints a cProfile of one request of that page.

The operator works at the city centre: every one of the million cases is in scope, so every count
and list covers the whole table.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

# name → path (query string included); the same pages a centre operator opens all day.
PAGES = {
    "inbox": "/centre/",
    "inbox, oldest first": "/centre/?sort=reported",
    "case list": "/cases/",
    "case list, open by due time": "/cases/?open=true&sort=due",
    "case list, red lights": "/cases/?light=red",
    "case list, page 2,000": "/cases/?page=2000",
    "case list, text search": "/cases/?q=%E4%BA%95%E7%9B%96",  # 井盖
    # The REST list staff clients page through (issue #16: first page, each filter kind); {district}
    # and {department} are filled in from the bench database.
    "API, status": "/api/v1/cases/?status=in_progress&page_size=25",
    "API, area subtree": "/api/v1/cases/?within={district}&page_size=25",
    "API, red lights": "/api/v1/cases/?light=red&page_size=25",
    "API, department": "/api/v1/cases/?department={department}&page_size=25",
}


def fill_in(path: str) -> str:
    """A district of the city and the department with the most dispatches (any, when none has one)."""
    if "{" not in path:
        return path
    from django.db.models import Count

    from grids.choices import Level
    from grids.models import Area, Department

    district = Area.objects.filter(level=Level.DISTRICT, code__startswith=common.CITY_CODE).order_by("code").first()
    department = (Department.objects.annotate(n=Count("dispatches")).order_by("-n", "pk").first())
    return path.format(district=district.code if district else common.CITY_CODE,
                       department=department.pk if department else 0)


def ensure_dispatches() -> int:
    """Lead dispatches for the bench's dispatched, in-progress and handled cases (once): each to a
    department of its owning centre's area (a town's, else the district's above it), so that the list
    "dispatched to this department" has rows to find. Returns how many were written (0: already there)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM cases_dispatch)")
        if cursor.fetchone()[0]:
            return 0
        started = time.monotonic()
        cursor.execute(
            "WITH first_department AS (SELECT DISTINCT ON (area_id) area_id, id FROM grids_department "
            "                          WHERE is_active ORDER BY area_id, id) "
            "INSERT INTO cases_dispatch (case_id, department_id, role, status, dispatched_at, sign_due_at, due_at, "
            "                            time_limit, time_unit, signed_at, return_reason, feedback) "
            "SELECT c.id, coalesce(own.id, above.id), 'lead', "
            "       CASE c.status WHEN 'dispatched' THEN 'dispatched' WHEN 'in_progress' THEN 'signed' "
            "            ELSE 'handled' END, "
            "       c.reported_at, c.reported_at + interval '1 hour', c.reported_at + interval '3 days', 3, "
            "       'working_days', CASE WHEN c.status <> 'dispatched' THEN c.reported_at + interval '30 minutes' END, "
            "       '', '' "
            "FROM cases_case c JOIN grids_centre centre ON centre.id = c.centre_id "
            "JOIN grids_area area ON area.id = centre.area_id "
            "LEFT JOIN first_department own ON own.area_id = area.id "
            "LEFT JOIN first_department above ON above.area_id = area.parent_id "
            "WHERE c.status IN ('dispatched', 'in_progress', 'handled') AND coalesce(own.id, above.id) IS NOT NULL"
        )
        written = cursor.rowcount
        cursor.execute("ANALYZE cases_dispatch")
    print(f"wrote {written:,} lead dispatches for the bench's cases in {time.monotonic() - started:.1f} s", flush=True)
    return written


def ensure_cases() -> dict:
    """The million cases of bench/sweep.py (loaded here when they are missing)."""
    from django.db import connection

    from bench import sweep

    with connection.cursor() as cursor:
        meta = sweep.read_meta(cursor)
        present = sweep.rows_present(cursor, meta) if meta else 0
    if meta is None or present < meta["rows"]:
        meta = sweep.load(1_000_000, seed=1)
    return meta


def city_operator():
    from django.contrib.auth import get_user_model

    from grids.choices import Level, Role

    user = (get_user_model().objects.filter(
        memberships__role=Role.CENTRE_OPERATOR, memberships__area__level=Level.CITY,
        memberships__area__code=common.CITY_CODE).order_by("username").first())
    if user is None:
        raise SystemExit("no centre operator of the city in the bench database")
    return user


def measure(client, path: str, repeat: int, warmup: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    times, queries, sql_ms, slowest = [], 0, [], (0.0, "")
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        queries = len(captured.captured_queries)
        spent = [float(q["time"]) for q in captured.captured_queries]
        sql_ms.append(sum(spent) * 1000)
        top = max(captured.captured_queries, key=lambda q: float(q["time"]))
        listing = [q["sql"] for q in captured.captured_queries if 'FROM "cases_case"' in q["sql"]]
        if float(top["time"]) > slowest[0]:
            slowest = (float(top["time"]), top["sql"])
    ms = sorted(t * 1000 for t in times)
    return {"p50": common.percentile(ms, 0.5), "p95": common.percentile(ms, 0.95), "max": ms[-1],
            "queries": queries, "sql_ms": statistics.median(sql_ms), "slowest_ms": slowest[0] * 1000,
            "slowest_sql": slowest[1], "bytes": len(response.content), "list_sql": listing[-1] if listing else ""}


def explain(sql: str) -> str:
    """PostgreSQL's plan of a statement as it ran (EXPLAIN ANALYZE, BUFFERS), for bench/README.md."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", choices=sorted(PAGES), help="print a cProfile of one request of this page")
    parser.add_argument("--sql", action="store_true", help="print each page's slowest statement")
    parser.add_argument("--explain", action="store_true", help="print the plan of each page's case query")
    parser.add_argument("--only", default="", help="only the pages whose name starts with this (e.g. API)")
    args = parser.parse_args(argv)

    common.setup()
    common.ensure_city()
    meta = ensure_cases()
    ensure_dispatches()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    # As in production: no query log (CaptureQueriesContext still sees each statement and its time).
    settings.DEBUG = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case")
        total = cursor.fetchone()[0]
    operator = city_operator()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(operator)

    if args.profile:
        path = fill_in(PAGES[args.profile])
        client.get(path)
        profile = cProfile.Profile()
        profile.runcall(client.get, path)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return 0

    cpu_started, busy_started, wall_started = time.process_time(), common.system_busy_seconds(), time.monotonic()
    results = {name: measure(client, fill_in(path), args.repeat, args.warmup) for name, path in PAGES.items()
               if name.startswith(args.only)}
    wall = time.monotonic() - wall_started
    own = time.process_time() - cpu_started
    common.flush_bench_redis()

    print()
    print(f"pages · {common.machine_line()}")
    print(f"  {total:,} cases in the database (loaded {meta['reference_at']:%Y-%m-%d}); logged in as "
          f"{operator.username}, a centre operator of the city (every case in scope); DEBUG off, "
          f"{args.repeat} requests a page after {args.warmup} untimed")
    print(f"  {'page':<30} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'SQL ms':>8} "
          f"{'slowest':>8} {'KB':>6}")
    for name, r in results.items():
        print(f"  {name:<30} {r['p50']:8.0f} {r['p95']:8.0f} {r['max']:8.0f} {r['queries']:8d} "
              f"{r['sql_ms']:8.0f} {r['slowest_ms']:8.0f} {r['bytes'] / 1024:6.0f}")
    if args.sql:
        for name, r in results.items():
            print(f"\n  {name}: slowest statement {r['slowest_ms']:.0f} ms\n    {r['slowest_sql'][:1500]}")
    if args.explain:
        for name, r in results.items():
            if r["list_sql"]:
                plan = explain(r["list_sql"]).replace("\n", "\n    ")
                print(f"\n  {name}: the case query's plan\n    {plan}")
    # Python's own CPU (this process) vs PostgreSQL's: the rest of the machine is "others".
    busy = common.system_busy_seconds() - busy_started
    print("  " + common.others_line(busy, own, wall))
    # A run of some pages (--only) keeps the other pages' last figures.
    pages = common.recorded("pages").get("pages", {}) if args.only else {}
    pages.update({name: {key: r[key] for key in ("p50", "p95", "queries", "sql_ms")} for name, r in results.items()})
    api_queries = [figures["queries"] for name, figures in pages.items() if name.startswith("API")]
    common.record("pages", {"cases": total, "pages": pages, "api_queries_max": max(api_queries, default=None)},
                  others_cores=common.others_cores(busy, own, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
