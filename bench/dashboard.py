"""Dashboards flat in the number of cases (DESIGN.md §9): the city dashboard and a town drill-down at
10,000 and at 1,000,000 cases.

    .venv/bin/python bench/dashboard.py [--sizes 10000 1000000] [--days 30] [--repeat 5] [--measure-only]

1. Its own database, ``BENCH_DATABASE_URL`` (default ``…/govgrid_dash``: not the other benches'),
   seeded with Foshan (5 districts, 32 towns, 800 communities, 5,069 grids) and the categories.
2. For each size, in order: the case tables are filled up to that many cases with their timeline
   events, written by PostgreSQL COPY (psycopg 3 ``cursor.copy``): cases spread over the 365 days
   before a fixed reference day T, each one's events those the real actions write (report, triage,
   accept, dispatch with its payload, sign, returns, extensions, red lights, supervision, feedback,
   failed verifications and rework, follow-up calls, close), with the same payload keys. 20 % are
   still open (reported in the last 10 days), the rest closed, self-resolved, report-only, rejected
   or merged. Dispatch rows are not written: nothing timed here reads them. Foreign-key triggers are
   off during the COPY (``session_replication_role = replica``).
3. The counters are built by the nightly rebuild itself (``reports.rebuild.rebuild_counters``: replay
   of every event through the live mapping, then the correction upsert, here with foreign-key
   triggers off), timed; then a second rebuild checks them (no drift expected): the nightly cost.
4. Timed, warm, median of ``--repeat`` runs, in this process (server time: Python + SQL, no HTTP):
   - city dashboard = ``kpis(city)`` + ``kpis(city, by="area")`` + ``trend(city)`` over the last
     ``--days`` days before T;
   - town drill-down = the same three for the town with the most cases;
   - for information (not flat by design, they read the detailed table or cases):
     ``kpis(town, by="category")``, ``department_league(town)``, ``top_overdue(city)``.
   The figures and the ratio of the largest size to the smallest are printed. ``--measure-only``
   times the dashboards again on what the database holds (after a full run: the largest size).

Target: the 1M figures within 1.5× of the 10k figures and under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/govgrid_dash")

from bench import common  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
REFERENCE = datetime(2026, 11, 2, 0, 0, tzinfo=SHANGHAI)  # T: a Monday; the loaded year ends here
CHUNK = 50_000
HOUR, MINUTE, DAY = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)

CASE_COLUMNS = (
    "id", "channel", "reporter_id", "category_id", "status", "description", "address", "location", "grid_id",
    "area_path", "centre_id", "urgency", "supervision", "rework_count", "closure_kind", "satisfaction",
    "is_emergency", "is_legacy", "stage", "light", "escalation_count", "reported_at", "accepted_at",
    "dispatched_at", "handled_at", "verified_at", "closed_at", "closed_on_time", "accept_due_at",
    "handle_due_at", "due_at", "master_id", "triaged_at", "updated_at",
)
EVENT_COLUMNS = ("case_id", "at", "action", "from_status", "to_status", "note", "payload")
CHANNELS = (("grid_worker", 0.85), ("hotline", 0.07), ("citizen", 0.03), ("open311", 0.02), ("patrol", 0.03))
CITIZEN = {"hotline", "citizen", "open311"}
FATES = (("closed", 0.62), ("open", 0.20), ("self_resolved", 0.08), ("filed", 0.04), ("rejected", 0.04),
         ("merged", 0.02))
OPEN_STOPS = ("reported", "accepted", "dispatched", "in_progress", "handled", "verified")
LIMIT_HOURS = (4, 8, 24, 48, 120)
DESCRIPTIONS = ("路边暴露垃圾未清运", "占道经营影响通行", "井盖缺失存在安全隐患", "楼道堆放杂物", "机动车乱停放",
                "路灯不亮", "邻里噪音纠纷", "施工夜间扰民", "非法张贴小广告", "绿化带被毁坏")
NULL = "\\N"


@dataclass(frozen=True)
class Grid:
    id: int
    path: str
    centre_id: int
    town_id: int
    lon: float
    lat: float


def ts(moment: datetime) -> str:
    return moment.isoformat()


class Generator:
    """Cases and their events as COPY text, deterministic for a seed."""

    def __init__(self, grids: list[Grid], categories: list[int], departments: dict[int, list[int]], seed: int):
        self.rng = random.Random(seed)
        self.grids, self.categories, self.departments = grids, categories, departments
        self.limits = {category: random.Random(category).choice(LIMIT_HOURS) for category in categories}
        self.channels = [c for c, _w in CHANNELS], [w for _c, w in CHANNELS]
        self.fates = [f for f, _w in FATES], [w for _f, w in FATES]
        self.next_dispatch = 1
        self.next_extension = 1
        self.recent_open: list[int] = []

    def case(self, case_id: int) -> tuple[str, list[str]]:
        rng = self.rng
        grid = rng.choice(self.grids)
        category = rng.choice(self.categories)
        channel = rng.choices(*self.channels)[0]
        legacy = rng.random() < 0.01
        fate = rng.choices(*self.fates)[0]
        events: list[str] = []

        def event(at: datetime, action: str, before: str, after: str, payload: str) -> None:
            events.append(f"{case_id}\t{ts(at)}\t{action}\t{before}\t{after}\t\t{payload}\n")

        if fate == "open":
            t0 = REFERENCE - HOUR - 10 * DAY * rng.random()
            gap = 8 * MINUTE  # an open case has moved a few steps in its first hour
        else:
            t0 = REFERENCE - 13 * DAY - 352 * DAY * rng.random()
            gap = HOUR
        row = {
            "status": "closed", "closure_kind": "", "satisfaction": "", "supervision": "", "rework_count": 0,
            "stage": "", "light": "", "accepted_at": None, "dispatched_at": None, "handled_at": None,
            "verified_at": None, "closed_at": None, "closed_on_time": None, "handle_due_at": None, "due_at": None,
            "master_id": None,
        }
        intake = f'{{"channel": "{channel}", "grid": "{grid.path.rstrip("/").rsplit("/", 1)[-1]}", ' \
                 f'"centre": {grid.centre_id}}}'
        if fate == "self_resolved":
            event(t0, "self_resolve", "", "closed", intake)
            row.update(closure_kind="self_resolved", closed_at=t0, handled_at=t0, verified_at=t0, closed_on_time=True)
            return self._case_line(case_id, grid, category, channel, legacy, t0, row), events
        if fate == "filed":
            event(t0, "file", "", "filed", intake)
            row.update(status="filed")
            return self._case_line(case_id, grid, category, channel, legacy, t0, row), events
        event(t0, "report", "", "reported", intake)
        towns = self.departments[grid.town_id]
        lead = rng.choice(towns)
        event(t0 + MINUTE, "triage", "reported", "reported", f'{{"suggested_department": {lead}, "duplicates": []}}')
        accept_due = t0 + 2 * HOUR
        row.update(accept_due_at=accept_due)
        now = t0 + gap * (0.1 + rng.random())
        if fate in ("rejected", "merged"):
            if fate == "rejected":
                event(now, "reject", "reported", "rejected", "{}")
                row.update(status="rejected")
            else:
                master = rng.choice(self.recent_open) if self.recent_open else None
                if master is None:
                    event(now, "reject", "reported", "rejected", "{}")
                    row.update(status="rejected")
                else:
                    event(now, "merge", "reported", "merged", f'{{"master": {master}}}')
                    row.update(status="merged", master_id=master)
            return self._case_line(case_id, grid, category, channel, legacy, t0, row), events
        stop = rng.choice(OPEN_STOPS) if fate == "open" else None

        def stopped(status: str, stage: str, due: datetime | None) -> tuple[str, list[str]]:
            row.update(status=status, stage=stage, due_at=due, light="red" if due and due < REFERENCE else "green")
            if fate == "open":
                self.recent_open.append(case_id)
                del self.recent_open[:-200]
            return self._case_line(case_id, grid, category, channel, legacy, t0, row), events

        if stop == "reported":
            return stopped("reported", "accept", accept_due)
        event(now, "accept", "reported", "accepted", "{}")
        row.update(accepted_at=now)
        if stop == "accepted":
            return stopped("accepted", "accept", accept_due)
        limit = self.limits[category] * HOUR

        def dispatch(at: datetime, lead: int) -> tuple[int, datetime]:
            assists = [rng.choice(towns)] if rng.random() < 0.1 and len(towns) > 1 else []
            assists = [d for d in assists if d != lead]
            ids = list(range(self.next_dispatch, self.next_dispatch + 1 + len(assists)))
            self.next_dispatch += len(ids)
            due = at + limit
            event(at, "dispatch", "accepted", "dispatched",
                  f'{{"lead": {lead}, "assists": {assists}, "dispatches": {ids}, "due_at": "{ts(due)}"}}')
            return ids[0], due

        now += gap * (0.1 + rng.random())
        dispatch_id, due = dispatch(now, lead)
        row.update(dispatched_at=now, handle_due_at=due)
        if stop == "dispatched":
            return stopped("dispatched", "sign", now + 2 * HOUR)
        now += gap * (0.2 + rng.random())
        event(now, "sign", "dispatched", "in_progress",
              f'{{"dispatch": {dispatch_id}, "department": {lead}, "role": "lead"}}')
        if fate == "closed" and rng.random() < 0.03:  # the lead sends it back; the centre dispatches again
            now += gap
            event(now, "return", "in_progress", "accepted",
                  f'{{"dispatch": {dispatch_id}, "department": {lead}, "role": "lead", "cancelled": []}}')
            lead = rng.choice(self.departments[0])  # a district or city department
            now += gap
            dispatch_id, due = dispatch(now, lead)
            row.update(handle_due_at=due)
            now += gap
            event(now, "sign", "dispatched", "in_progress",
                  f'{{"dispatch": {dispatch_id}, "department": {lead}, "role": "lead"}}')
        started = now
        if stop == "in_progress":
            return stopped("in_progress", "handle", due)
        if rng.random() < 0.05:
            now += gap
            extension = self.next_extension
            self.next_extension += 1
            event(now, "request_extension", "in_progress", "in_progress",
                  f'{{"extension": {extension}, "dispatch": {dispatch_id}, "amount": "1", "unit": "natural_days"}}')
            now += gap
            approved = rng.random() < 0.8
            if approved:
                due += DAY
                row.update(handle_due_at=due)
            event(now, "decide_extension", "in_progress", "in_progress",
                  f'{{"extension": {extension}, "dispatch": {dispatch_id}, "approved": {str(approved).lower()}, '
                  f'"due_at": "{ts(due)}"}}')
        handled = started + limit * (0.15 + 1.15 * rng.random())
        if rng.random() < 0.02:
            event(started + (handled - started) / 2, "supervise", "in_progress", "in_progress",
                  '{"level": "yellow", "previous": ""}')
            row.update(supervision="yellow")
        if handled > due:
            event(due, "light", "in_progress", "in_progress",
                  f'{{"stage": "handle", "from": "yellow", "to": "red", "due_at": "{ts(due)}"}}')
        event(handled, "feedback", "in_progress", "handled",
              f'{{"dispatch": {dispatch_id}, "department": {lead}, "role": "lead"}}')
        now = handled
        if stop == "handled":
            row.update(handled_at=handled)
            return stopped("handled", "verify", handled + 8 * HOUR)
        if rng.random() < 0.06:  # failed verification: rework with a fresh deadline
            now += gap * (1 + 3 * rng.random())
            event(now, "verify", "handled", "in_progress", '{"passed": false, "rework_count": 1}')
            due = now + limit
            row.update(handle_due_at=due, rework_count=1)
            handled = now + limit * (0.1 + 0.8 * rng.random())
            event(handled, "feedback", "in_progress", "handled",
                  f'{{"dispatch": {dispatch_id}, "department": {lead}, "role": "lead"}}')
            now = handled
        now += gap * (1 + 4 * rng.random())
        event(now, "verify", "handled", "verified", f'{{"passed": true, "rework_count": {row["rework_count"]}}}')
        row.update(handled_at=handled, verified_at=now)
        if stop == "verified":
            return stopped("verified", "", None)
        if channel in CITIZEN:
            now += gap
            satisfaction = "satisfied" if rng.random() < 0.85 else "basic"
            event(now, "follow_up", "verified", "verified", f'{{"satisfaction": "{satisfaction}"}}')
            row.update(satisfaction=satisfaction)
        now += gap
        on_time = handled <= due
        event(now, "close", "verified", "closed", f'{{"on_time": {str(on_time).lower()}}}')
        row.update(closure_kind="handled", closed_at=now, closed_on_time=on_time)
        return self._case_line(case_id, grid, category, channel, legacy, t0, row), events

    def _case_line(self, case_id, grid, category, channel, legacy, t0, row) -> str:
        rng = self.rng
        lon = grid.lon + rng.uniform(-0.0003, 0.0003)
        lat = grid.lat + rng.uniform(-0.0003, 0.0003)

        def value(v) -> str:
            if v is None:
                return NULL
            if isinstance(v, bool):
                return "t" if v else "f"
            if isinstance(v, datetime):
                return ts(v)
            return str(v)

        fields = (
            case_id, channel, None, category, row["status"], rng.choice(DESCRIPTIONS), "",
            f"SRID=4326;POINT({lon:.7f} {lat:.7f})", grid.id, grid.path, grid.centre_id, "normal",
            row["supervision"], row["rework_count"], row["closure_kind"], row["satisfaction"], False, legacy,
            row["stage"], row["light"], 0, t0, row["accepted_at"], row["dispatched_at"], row["handled_at"],
            row["verified_at"], row["closed_at"], row["closed_on_time"], row.get("accept_due_at"),
            row["handle_due_at"], row["due_at"], row["master_id"], t0 + MINUTE, REFERENCE,
        )
        return "\t".join(value(v) for v in fields) + "\n"


# --- loading ---------------------------------------------------------------------------------------


def load_reference_data(cursor) -> tuple[list[Grid], list[int], dict[int, list[int]]]:
    cursor.execute("SELECT a.code, c.id FROM grids_centre c JOIN grids_area a ON a.id = c.area_id")
    centre_by_code = dict(cursor.fetchall())
    cursor.execute("SELECT code, id FROM grids_area WHERE level = 3")
    town_by_code = dict(cursor.fetchall())
    cursor.execute(
        "SELECT g.id, g.path, ST_X(g.centroid), ST_Y(g.centroid) FROM grids_area g "
        "WHERE g.level = 5 AND g.path LIKE %s ORDER BY g.id", [f"{common.CITY_CODE}/%"],
    )
    grids = []
    for grid_id, path, lon, lat in cursor.fetchall():
        codes = path.rstrip("/").split("/")
        centre = next(centre_by_code[code] for code in reversed(codes) if code in centre_by_code)
        town = next(town_by_code[code] for code in codes if code in town_by_code)
        grids.append(Grid(grid_id, path, centre, town, lon, lat))
    cursor.execute("SELECT id FROM cases_category WHERE parent_id IS NOT NULL AND is_active ORDER BY id")
    categories = [row[0] for row in cursor.fetchall()]
    cursor.execute("SELECT d.id, a.id, a.level FROM grids_department d JOIN grids_area a ON a.id = d.area_id")
    departments: dict[int, list[int]] = {0: []}
    for department_id, area_id, level in cursor.fetchall():
        departments.setdefault(area_id if level == 3 else 0, []).append(department_id)
    for grid in grids:  # a town without departments dispatches to the district's and city's
        departments.setdefault(grid.town_id, departments[0])
    return grids, categories, departments


def empty_tables(cursor) -> None:
    print("emptying the case and counter tables (TRUNCATE … CASCADE)", flush=True)
    cursor.execute("TRUNCATE cases_case, reports_dailycount, reports_areadailycount, reports_monthlycount, "
                   "reports_areamonthlycount, reports_casecounterstate, reports_counterdrift RESTART IDENTITY CASCADE")


def load(first_id: int, count: int, generator: Generator) -> tuple[int, float]:
    """COPY ``count`` cases (ids from ``first_id``) and their events; returns (events, seconds)."""
    from django.db import connection

    raw = connection.connection
    started = time.monotonic()
    events = 0
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        case_lines, event_lines = [], []
        for case_id in range(first_id + done, first_id + done + size):
            case_line, lines = generator.case(case_id)
            case_lines.append(case_line)
            event_lines.extend(lines)
        with raw.transaction(), raw.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            with cursor.copy(f"COPY cases_case ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(case_lines))
            with cursor.copy(f"COPY cases_caseevent ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(event_lines))
        done += size
        events += len(event_lines)
        if count > CHUNK:
            elapsed = time.monotonic() - started
            print(f"  {first_id + done - 1:>9,} cases, {events:>10,} events  {elapsed:6.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('cases_case', 'id'), %s)", [first_id + count - 1])
        cursor.execute("ANALYZE cases_case")
        cursor.execute("ANALYZE cases_caseevent")
    return events, time.monotonic() - started


# --- timing ----------------------------------------------------------------------------------------


def timed(function, repeat: int) -> tuple[float, float, int]:
    """Median and max milliseconds of ``repeat`` warm runs, and the SQL statements of one."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm: plans, caches, the first touch of the pages
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    reset_queries()  # DEBUG's query log is a bounded deque: once full, the capture below would count nothing
    with CaptureQueriesContext(connection) as captured:
        function()
    return statistics.median(samples), max(samples), len(captured.captured_queries)


def measure(days: int, repeat: int) -> dict[str, tuple[float, float, int]]:
    from django.db import connection

    from grids.models import Area
    from reports import kpis

    city = Area.objects.get(code=common.CITY_CODE)
    with connection.cursor() as cursor:  # the town with the most grids: the same town at every size
        cursor.execute(
            "SELECT t.code FROM grids_area t JOIN grids_area g ON g.path LIKE t.path || '%%' AND g.level = 5 "
            "WHERE t.level = 3 GROUP BY t.code ORDER BY count(*) DESC, t.code LIMIT 1"
        )
        town = Area.objects.get(code=cursor.fetchone()[0])
    end = REFERENCE.date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)

    def dashboard(area):
        return lambda: (kpis.kpis(area, start, end), kpis.kpis(area, start, end, by="area"),
                        kpis.trend(area, start, end))

    return {
        "city dashboard": timed(dashboard(city), repeat),
        f"town drill-down ({town.code})": timed(dashboard(town), repeat),
        "  town by category": timed(lambda: kpis.kpis(town, start, end, by="category"), repeat),
        "  town department league": timed(lambda: kpis.department_league(town, start, end), repeat),
        "  city top 10 overdue (cases)": timed(lambda: kpis.top_overdue(city, now=REFERENCE), repeat),
    }


def table_rows() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        rows = {}
        for table in ("cases_case", "cases_caseevent", "reports_dailycount", "reports_areadailycount",
                      "reports_monthlycount", "reports_areamonthlycount"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            rows[table] = cursor.fetchone()[0]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--days", type=int, default=30, help="the dashboard's period (days before T)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--measure-only", action="store_true",
                        help="time the dashboards on what the database holds now (no load, no rebuild)")
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    common.setup()
    common.ensure_city()
    from django.db import connection

    from reports.rebuild import rebuild_counters

    if args.measure_only:
        print(f"bench/dashboard.py --measure-only · {common.machine_line()}")
        print("rows: " + ", ".join(f"{table} {count:,}" for table, count in table_rows().items()), flush=True)
        for name, (median, worst, statements) in measure(args.days, args.repeat).items():
            print(f"  {name:<34} {median:8.1f} ms median  {worst:8.1f} ms max  {statements:3d} SQL", flush=True)
        return

    print(f"bench/dashboard.py · {common.machine_line()} · database {common.database_url().rsplit('/', 1)[-1]}")
    with connection.cursor() as cursor:
        grids, categories, departments = load_reference_data(cursor)
        empty_tables(cursor)
    # The loaded year's months get their event partitions first, or every event would go to DEFAULT.
    from cases import partitions

    months = [partitions.add_months(partitions.month_of(REFERENCE), n) for n in range(-13, 2)]
    print(f"event partitions made: {len(partitions.create_partitions(months))}", flush=True)
    print(f"Foshan: {len(grids):,} grids, {len(categories)} leaf categories, "
          f"{sum(len(v) for v in departments.values()):,} department slots; T = {REFERENCE:%Y-%m-%d}", flush=True)
    generator = Generator(grids, categories, departments, args.seed)
    results: dict[int, dict[str, tuple[float, float, int]]] = {}
    loaded = 0
    for size in sizes:
        print(f"\n== {size:,} cases ==", flush=True)
        events, load_seconds = load(loaded + 1, size - loaded, generator)
        loaded = size
        print(f"loaded up to {size:,} cases (+{events:,} events) in {load_seconds:.1f} s", flush=True)
        started = time.monotonic()
        with connection.cursor() as cursor:  # the first build writes millions of rows: no FK checks
            cursor.execute("SET session_replication_role = replica")
        try:
            result = rebuild_counters(sample=20)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
        rebuild_seconds = time.monotonic() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reports_dailycount")
            cursor.execute("VACUUM ANALYZE reports_areadailycount")
        rows = table_rows()
        print(f"rebuild: {result.events:,} events of {result.cases:,} cases replayed, "
              f"{result.daily_rows:,} daily + {result.area_rows:,} area rows written in {rebuild_seconds:.1f} s",
              flush=True)
        print("rows: " + ", ".join(f"{table} {count:,}" for table, count in rows.items()), flush=True)
        again = rebuild_counters(repair=False, sample=5)
        print(f"second rebuild: {'no drift' if again.clean else f'{again.cells} cells differ'} "
              f"({again.seconds:.1f} s)", flush=True)
        results[size] = measure(args.days, args.repeat)
        for name, (median, worst, statements) in results[size].items():
            print(f"  {name:<34} {median:8.1f} ms median  {worst:8.1f} ms max  {statements:3d} SQL", flush=True)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\n== {large:,} vs {small:,} cases (target: within 1.5x and under 300 ms) ==")
        for (name, (small_ms, _w, _s)), (_n, (large_ms, _w2, _s2)) in zip(results[small].items(),
                                                                           results[large].items(), strict=True):
            ratio = large_ms / small_ms if small_ms else float("nan")
            print(f"  {name:<34} {small_ms:8.1f} ms → {large_ms:8.1f} ms   ×{ratio:.2f}")
    common.flush_bench_redis()


if __name__ == "__main__":
    main()
