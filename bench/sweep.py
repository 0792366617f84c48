"""The deadline sweep over a million open cases: idle, and when 1,000 lights change.

    .venv/bin/python bench/sweep.py [--rows 1000000] [--changes 1000] [--repeat 3] [--reload]

1. Load (once): ``--rows`` open cases are written with PostgreSQL COPY (psycopg 3 ``cursor.copy``,
   100,000 rows a transaction), spread uniformly over Foshan's 5,069 grids at points inside them,
   each owned by its town's centre and reported by one of that grid's workers (a few by hotline),
   in every open status with a running clock: 75 % green (yellow later: ``next_check_at = warn_at``,
   1 minute to 5 days after the reference time T), 15 % yellow (``next_check_at`` just after a
   ``due_at`` in the future), 10 % red (no next check). So no case is due at T. Then VACUUM ANALYZE.
   The load time is printed. Loading first empties the case tables of the bench database (TRUNCATE
   … CASCADE: case events are append-only, row deletes are refused). A later run reuses the rows
   when the bench database still holds them (``--reload`` loads again); T is kept with them in the
   table ``bench_sweep_meta``.
2. Idle: an untimed VACUUM of the case table and its clock (autovacuum is off on the bench
   database), then ``sweep_deadlines(now=T)`` when nothing is due, ``--repeat`` × 10 times: ms
   (median and max) and SQL statements.
3. 1,000 changes: ``--changes`` random green cases get ``warn_at = next_check_at`` a few minutes
   before T (one plain UPDATE, not timed), then one ``sweep_deadlines(now=T)`` is timed: they turn
   yellow, each with its timeline event. Once untimed (warm-up: the first sweep with changes in a
   process connects to Redis), then ``--repeat`` times on fresh cases; ms (median, all runs), SQL
   statements, CPU of this process and its PostgreSQL backend, HOT updates of the case rows, and
   the CPU other processes took meanwhile.
4. The headline figures go to ``var/bench/sweep.json`` (read by bench/summary.py).

Cost proportional to what changes (DESIGN.md §9) means: idle ≈ one index probe, whatever the
number of open cases. The Celery messages the sweep enqueues (notify_events) go to the bench Redis
database, flushed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

META_TABLE = "bench_sweep_meta"
JSON_OUT = Path(__file__).resolve().parent.parent / "var" / "bench" / "sweep.json"
CHUNK = 100_000

# What the loader writes; every NOT NULL column without a default must be here (checked before load).
COLUMNS = (
    "channel", "reporter_id", "client_uuid", "category_id", "status", "description", "address", "location",
    "grid_id", "area_path", "centre_id", "urgency", "supervision", "rework_count", "closure_kind",
    "satisfaction", "is_emergency", "is_legacy", "stage", "stage_started_at", "accept_due_at", "sign_due_at",
    "handle_due_at", "verify_due_at", "due_at", "warn_at", "light", "next_check_at", "escalation_count",
    "reported_at", "accepted_at", "dispatched_at", "handled_at", "triaged_at", "updated_at",
)

# (status, stage, share): every open status that runs a clock.
STATUS_MIX = (
    ("reported", "accept", 0.12),
    ("accepted", "accept", 0.05),
    ("dispatched", "sign", 0.10),
    ("in_progress", "handle", 0.53),
    ("handled", "verify", 0.20),
)
DESCRIPTIONS = (
    "路边暴露垃圾未清运", "占道经营影响通行", "井盖缺失存在安全隐患", "小区楼道堆放杂物", "机动车乱停放",
    "路灯不亮", "邻里噪音纠纷", "施工夜间扰民", "非法张贴小广告", "绿化带被毁坏",
)


@dataclass(frozen=True)
class GridRow:
    id: int
    path: str
    centre_id: int
    reporter_id: int | None
    west: float
    south: float
    east: float
    north: float


def load_grids(cursor) -> list[GridRow]:
    """Foshan's grids with their box, owning centre (nearest above) and one grid worker."""
    cursor.execute("SELECT a.code, c.id FROM grids_centre c JOIN grids_area a ON a.id = c.area_id")
    centre_by_code = dict(cursor.fetchall())
    cursor.execute(
        """
        SELECT g.id, g.path, ST_XMin(g.boundary), ST_YMin(g.boundary), ST_XMax(g.boundary), ST_YMax(g.boundary),
               (SELECT min(m.user_id) FROM grids_membership m WHERE m.area_id = g.id AND m.role = 'grid_worker')
        FROM grids_area g
        WHERE g.level = 5 AND g.path LIKE %s
        ORDER BY g.id
        """,
        [f"{common.CITY_CODE}/%"],
    )
    grids = []
    for grid_id, path, west, south, east, north, reporter_id in cursor.fetchall():
        codes = path.rstrip("/").split("/")
        centre_id = next(centre_by_code[code] for code in reversed(codes) if code in centre_by_code)
        grids.append(GridRow(grid_id, path, centre_id, reporter_id, west, south, east, north))
    return grids


def check_columns(cursor) -> None:
    cursor.execute(
        """
        SELECT column_name FROM information_schema.columns
        WHERE table_name = 'cases_case' AND is_nullable = 'NO' AND column_default IS NULL
          AND is_identity = 'NO' AND is_generated = 'NEVER' AND column_name <> 'id'
        """
    )
    missing = sorted(row[0] for row in cursor.fetchall() if row[0] not in COLUMNS)
    if missing:
        raise SystemExit(f"cases_case has NOT NULL columns the loader does not fill: {', '.join(missing)}; "
                         "add them to COLUMNS in bench/sweep.py")


def case_rows(count: int, grids: list[GridRow], categories: list[int], reference: datetime, seed: int):
    """``count`` rows for COPY, in COLUMNS order; none is due at ``reference``."""
    rng = random.Random(seed)
    statuses = [s for s, _stage, _share in STATUS_MIX]
    stages = {s: stage for s, stage, _share in STATUS_MIX}
    weights = [share for _s, _stage, share in STATUS_MIX]
    minute, hour, day = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
    micro = timedelta(microseconds=1)
    for _ in range(count):
        grid = rng.choice(grids)
        status = rng.choices(statuses, weights)[0]
        stage = stages[status]
        pick = rng.random()
        if pick < 0.75:  # green: turns yellow at warn_at, later than T
            light = "green"
            warn_at = reference + minute + (5 * day - minute) * rng.random()
            due_at = warn_at + hour + 2 * day * rng.random()
            next_check_at = warn_at
        elif pick < 0.90:  # yellow: turns red just after due_at, later than T
            light = "yellow"
            warn_at = reference - minute - day * rng.random()
            due_at = reference + minute + 2 * day * rng.random()
            next_check_at = due_at + micro
        else:  # red: nothing left to check
            light = "red"
            due_at = reference - minute - 5 * day * rng.random()
            warn_at = due_at - hour - 2 * day * rng.random()
            next_check_at = None
        stage_started_at = warn_at - (hour + 2 * day * rng.random())
        reported_at = stage_started_at - (timedelta(0) if stage == "accept" else hour + 10 * day * rng.random())
        accepted_at = reported_at + 30 * minute if status != "reported" else None
        dispatched_at = accepted_at + 10 * minute if stage in ("sign", "handle", "verify") else None
        handled_at = stage_started_at if stage == "verify" else None
        accept_due_at = reported_at + 2 * hour
        sign_due_at = dispatched_at + 2 * hour if dispatched_at else None
        handle_due_at = due_at if stage == "handle" else (dispatched_at + 3 * day if stage == "verify" else None)
        verify_due_at = due_at if stage == "verify" else None
        if stage == "accept":
            accept_due_at = due_at
        elif stage == "sign":
            sign_due_at = due_at
        hotline = rng.random() < 0.08
        lon = grid.west + (grid.east - grid.west) * (0.02 + 0.96 * rng.random())
        lat = grid.south + (grid.north - grid.south) * (0.02 + 0.96 * rng.random())
        yield (
            "hotline" if hotline else "grid_worker",
            None if hotline else grid.reporter_id,
            None,
            rng.choice(categories),
            status,
            rng.choice(DESCRIPTIONS),
            "",
            f"SRID=4326;POINT({lon:.7f} {lat:.7f})",
            grid.id,
            grid.path,
            grid.centre_id,
            "urgent" if rng.random() < 0.05 else "normal",
            "", 0, "", "", False, False,
            stage, stage_started_at, accept_due_at, sign_due_at, handle_due_at, verify_due_at,
            due_at, warn_at, light, next_check_at, 0,
            reported_at, accepted_at, dispatched_at, handled_at, reported_at + minute, reference,
        )


def read_meta(cursor) -> dict | None:
    cursor.execute("SELECT to_regclass(%s)", [META_TABLE])
    if cursor.fetchone()[0] is None:
        return None
    cursor.execute(f"SELECT reference_at, first_id, last_id, row_count, load_seconds FROM {META_TABLE}")
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip(("reference_at", "first_id", "last_id", "rows", "load_seconds"), row, strict=True))


def rows_present(cursor, meta: dict) -> int:
    cursor.execute(
        "SELECT count(*) FROM cases_case WHERE id BETWEEN %s AND %s", [meta["first_id"], meta["last_id"]]
    )
    return cursor.fetchone()[0]


def load(rows: int, seed: int) -> dict:
    """Empty the case tables, COPY ``rows`` cases, VACUUM ANALYZE; returns the meta row written."""
    from django.db import connection

    with connection.cursor() as cursor:
        check_columns(cursor)
        grids = load_grids(cursor)
        cursor.execute("SELECT id FROM cases_category WHERE parent_id IS NOT NULL AND is_active ORDER BY id")
        categories = [row[0] for row in cursor.fetchall()]
        print("emptying the case tables of the bench database (TRUNCATE cases_case … CASCADE)", flush=True)
        cursor.execute(f"DROP TABLE IF EXISTS {META_TABLE}")
        cursor.execute("TRUNCATE cases_case RESTART IDENTITY CASCADE")
    reference = datetime.now(UTC).replace(second=0, microsecond=0)
    print(f"loading {rows:,} open cases over {len(grids):,} grids with COPY, {CHUNK:,} a transaction …", flush=True)
    raw = connection.connection  # the psycopg 3 connection under Django's wrapper
    columns = ", ".join(COLUMNS)
    started = time.monotonic()
    generator = case_rows(rows, grids, categories, reference, seed)
    done = 0
    while done < rows:
        size = min(CHUNK, rows - done)
        with raw.transaction(), raw.cursor() as cursor, cursor.copy(f"COPY cases_case ({columns}) FROM STDIN") as copy:
            for _ in range(size):
                copy.write_row(next(generator))
        done += size
        elapsed = time.monotonic() - started
        print(f"  {done:>9,} rows  {elapsed:6.1f} s  ({done / elapsed:,.0f} rows/s)", flush=True)
    copy_seconds = time.monotonic() - started
    vacuum_started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_case")
        cursor.execute("VACUUM ANALYZE cases_caseclock")  # filled by the clock trigger during the COPY
    vacuum_seconds = time.monotonic() - vacuum_started
    total = time.monotonic() - started
    print(f"loaded {rows:,} rows in {copy_seconds:.1f} s ({rows / copy_seconds:,.0f} rows/s), "
          f"VACUUM ANALYZE {vacuum_seconds:.1f} s, total {total:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM cases_case")
        first_id, last_id = cursor.fetchone()
        cursor.execute(
            f"CREATE TABLE {META_TABLE} (reference_at timestamptz NOT NULL, first_id bigint NOT NULL, "
            "last_id bigint NOT NULL, row_count integer NOT NULL, load_seconds double precision NOT NULL, "
            "copy_seconds double precision NOT NULL, vacuum_seconds double precision NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {META_TABLE} VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [reference, first_id, last_id, rows, total, copy_seconds, vacuum_seconds],
        )
    return {"reference_at": reference, "first_id": first_id, "last_id": last_id, "rows": rows,
            "load_seconds": total, "copy_seconds": copy_seconds, "vacuum_seconds": vacuum_seconds, "fresh": True}


def update_counts(cursor) -> tuple[int, int]:
    """(updates, HOT updates) of cases_case so far, this backend's last transaction included."""
    cursor.execute("SELECT pg_stat_force_next_flush()")
    cursor.execute("SELECT pg_stat_clear_snapshot()")  # a new transaction: the flush above happens
    cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'cases_case'")
    return cursor.fetchone()


def backend_cpu_seconds() -> float:
    """CPU seconds of this process and of its PostgreSQL backend: the bench's own work."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    return common.process_cpu_seconds(os.getpid()) + common.process_cpu_seconds(backend)


def timed_sweep(reference: datetime) -> tuple[float, int, dict[str, int], float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.jobs import sweep_deadlines

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        totals = sweep_deadlines(now=reference)
        elapsed = time.perf_counter() - started
    sql_seconds = sum(float(query["time"]) for query in captured.captured_queries)
    # BEGIN and COMMIT are captured too; count the statements that read or write rows.
    statements = [q for q in captured.captured_queries if q["sql"].strip().upper() not in ("BEGIN", "COMMIT")]
    return elapsed, len(statements), totals, sql_seconds


def turn_yellow_soon(meta: dict, reference: datetime, count: int, rng: random.Random) -> int:
    """Give ``count`` random loaded green cases a yellow moment a few minutes before ``reference``."""
    from django.db import connection

    first, last = meta["first_id"], meta["last_id"]
    with connection.cursor() as cursor:
        chosen: set[int] = set()
        while len(chosen) < count:
            candidates = rng.sample(range(first, last + 1), min(last - first + 1, 3 * (count - len(chosen))))
            cursor.execute(
                "SELECT id FROM cases_case WHERE id = ANY(%s) AND light = 'green' AND next_check_at > %s "
                "AND due_at > %s",
                [candidates, reference, reference],
            )
            chosen.update(row[0] for row in cursor.fetchall())
        ids = sorted(chosen)[:count]
        # One UPDATE (one new row version per case, as an action's save would leave): two in a row fill
        # the room fillfactor leaves on the page before the sweep's own update gets there (see README).
        cursor.execute(
            "UPDATE cases_case AS c SET warn_at = v.at, next_check_at = v.at FROM ("
            "  SELECT id, %s - (random() * interval '10 minutes') - interval '1 second' AS at"
            "  FROM unnest(%s::bigint[]) AS id) AS v WHERE c.id = v.id",
            [reference, ids],
        )
        return cursor.rowcount


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="open cases to load (default 1,000,000)")
    parser.add_argument("--changes", type=int, default=1000, help="lights that change in the timed sweep")
    parser.add_argument("--repeat", type=int, default=3, help="timed sweeps with changes (idle: 10× this)")
    parser.add_argument("--reload", action="store_true", help="load the cases again even if they are there")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    common.setup()
    common.ensure_city()
    from django.db import connection

    with connection.cursor() as cursor:
        meta = read_meta(cursor)
        present = rows_present(cursor, meta) if meta else 0
    if args.reload or meta is None or meta["rows"] != args.rows or present != args.rows:
        if meta is not None and not args.reload:
            print(f"the bench database holds {present:,} of the {meta['rows']:,} loaded rows; loading again")
        meta = load(args.rows, args.seed)
    else:
        print(f"reusing the {present:,} cases loaded before (load took {meta['load_seconds']:.1f} s; "
              f"--reload to load again)")
    reference = meta["reference_at"]
    # The bench database runs with autovacuum off: the row versions earlier runs left are cleared here,
    # untimed, as autovacuum does in production (a light change needs room on the case's page).
    vacuum_started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM cases_case")
        cursor.execute("VACUUM cases_caseclock")
    print(f"VACUUM of the case table and its clock: {time.monotonic() - vacuum_started:.1f} s (untimed)")

    # Anything due at T that is not ours (reports from a bench/intake.py run before the load, say)
    # is swept once, untimed, so the idle figure below is truly idle.
    _elapsed, _queries, settled, _sql = timed_sweep(reference)
    if any(settled.values()):
        print(f"settling sweep at T moved {settled}")

    idle_ms, idle_queries = [], 0
    for _ in range(10 * args.repeat):
        elapsed, idle_queries, totals, _sql = timed_sweep(reference)
        assert not any(totals.values()), totals
        idle_ms.append(elapsed * 1000)

    rng = random.Random(args.seed + int(time.time()))
    # One untimed sweep with changes first: the first in a process also connects to Redis (Celery's
    # producer, the live stream) and imports what sending needs, which a worker has done long before.
    turn_yellow_soon(meta, reference, args.changes, rng)
    warmup_elapsed, *_rest = timed_sweep(reference)
    print(f"warm-up sweep with {args.changes:,} changes (untimed): {warmup_elapsed * 1000:.0f} ms")
    change_ms, change_sql_ms, change_queries, change_totals = [], [], 0, {}
    updates = hot_updates = 0
    hot_runs: list[int] = []
    cpu_ms: list[float] = []  # CPU of this process and its PostgreSQL backend per timed sweep
    busy_seconds = own_seconds = wall_seconds = 0.0
    for _ in range(args.repeat):
        turn_yellow_soon(meta, reference, args.changes, rng)
        with connection.cursor() as cursor:
            before = update_counts(cursor)
        busy, own, wall = common.system_busy_seconds(), backend_cpu_seconds(), time.monotonic()
        elapsed, change_queries, change_totals, sql_seconds = timed_sweep(reference)
        busy_seconds += common.system_busy_seconds() - busy
        cpu_ms.append((backend_cpu_seconds() - own) * 1000)
        own_seconds += cpu_ms[-1] / 1000
        wall_seconds += time.monotonic() - wall
        with connection.cursor() as cursor:
            after = update_counts(cursor)
        updates += after[0] - before[0]
        hot_updates += after[1] - before[1]
        hot_runs.append(after[1] - before[1])
        change_ms.append(elapsed * 1000)
        change_sql_ms.append(sql_seconds * 1000)
    others = max(0.0, busy_seconds - own_seconds) / wall_seconds if wall_seconds else 0.0

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case WHERE next_check_at IS NOT NULL")
        with_check = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('cases_case'))")
        size = cursor.fetchone()[0]
    common.flush_bench_redis()

    print()
    print(f"deadline sweep · {common.machine_line()}")
    load_line = (f"  {meta['rows']:,} open cases ({with_check:,} with a next check; table with indexes {size}); "
                 f"T = {reference:%Y-%m-%d %H:%M} UTC")
    print(load_line)
    if meta.get("fresh"):
        print(f"  load: COPY {meta['copy_seconds']:.1f} s ({meta['rows'] / meta['copy_seconds']:,.0f} rows/s) + "
              f"VACUUM ANALYZE {meta['vacuum_seconds']:.1f} s = {meta['load_seconds']:.1f} s")
    else:
        print(f"  load (earlier run): {meta['load_seconds']:.1f} s")
    print(f"  idle sweep (nothing due):  median {statistics.median(idle_ms):7.2f} ms   max {max(idle_ms):7.2f} ms   "
          f"{idle_queries} query (+ BEGIN/COMMIT)   ({len(idle_ms)} runs)")
    runs = ", ".join(f"{ms:.0f}" for ms in change_ms)
    print(f"  sweep, {args.changes:,} turn yellow:  median {statistics.median(change_ms):7.1f} ms   "
          f"runs {runs} ms   {change_queries} queries   {change_totals}")
    per_change = statistics.median(change_ms) / args.changes if args.changes else float("nan")
    print(f"  ≈ {per_change:.3f} ms per changed case; of the median run, {statistics.median(change_sql_ms):.0f} ms "
          "waiting on SQL, the rest in Python")
    print(f"  CPU per sweep (this process + its PostgreSQL backend; holds on a busy machine): median "
          f"{statistics.median(cpu_ms):.0f} ms   runs {', '.join(f'{ms:.0f}' for ms in cpu_ms)} ms")
    print(f"  case rows updated by the timed sweeps: {updates:,}, of them HOT (no index written): {hot_updates:,} "
          f"(runs: {', '.join(f'{n:,}' for n in hot_runs)})")
    print("  " + common.others_line(busy_seconds, own_seconds, wall_seconds))
    batches = max(1, -(-args.changes // 1000))  # sweep_deadlines' batch is 1,000
    figures = {
        "changes_1000_median_ms": round(statistics.median(change_ms), 1),
        "idle_median_ms": round(statistics.median(idle_ms), 2),
        # the claim, the UPDATE, the INSERT of the events; the sweep's last, empty claim not counted
        "statements_per_batch": (change_queries - 1) / batches,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_other_cores": round(others, 2),
        "changes": args.changes,
        "changes_runs_ms": [round(ms, 1) for ms in change_ms],
        "changes_sql_median_ms": round(statistics.median(change_sql_ms), 1),
        "changes_cpu_median_ms": round(statistics.median(cpu_ms), 1),
        "warmup_ms": round(warmup_elapsed * 1000, 1),
        "idle_max_ms": round(max(idle_ms), 2),
        "case_updates": updates,
        "case_hot_updates": hot_updates,
        "open_cases": meta["rows"],
        "loadavg_1min": os.getloadavg()[0],
    }
    JSON_OUT.parent.mkdir(parents=True, exist_ok=True)
    JSON_OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"  figures written to {JSON_OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
