"""Intake through the API against its floor, on one gunicorn on loopback.

    .venv/bin/python bench/intake.py [--seconds 20] [--concurrency 32] [--workers 4] [--threads 4]

Starts gunicorn (``govgrid.wsgi``, settings ``bench.floor.settings`` = GovGrid's settings plus the
floor app and URL; DEBUG off, as in production) bound to 127.0.0.1 on a free port, then loads it
twice for ``--seconds`` each at ``--concurrency`` keep-alive connections (stdlib ``http.client`` in
threads; every thread sends its next request as soon as the previous answer is read):

* intake: ``POST /api/v1/cases/`` — a real report by one of 200 Foshan grid workers (DRF token
  auth) at a point inside that worker's own grid (the grid's centroid ± a quarter of its size),
  with a fresh ``client_uuid`` each time; expects 201.
* floor: ``POST /bench/floor/`` — a bare Django view (bench/floor/views.py): the same token look-up,
  the same JSON body, one INSERT; expects 201.

Prints requests/s, p50/p99 latency and errors for both, and the ratios intake/floor. Latency is
measured by the client from sending the request to reading the whole answer. Also printed: CPU ms per
request of gunicorn, of the bench database's PostgreSQL backends and of the load generator, which
count work rather than waiting and so hold on a busy machine. The load generator shares the 2 cores
with gunicorn and PostgreSQL (~0.4–0.5 ms CPU per request), holding the floor back a little more
than the intake. Celery is not running: the triage and notification messages each report sends
after commit pile up in ``BENCH_REDIS_URL`` (Redis db 14 by default), flushed at the end.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SETTINGS = "bench.floor.settings"
INTAKE_PATH = "/api/v1/cases/"
FLOOR_PATH = "/bench/floor/"


@dataclass(frozen=True)
class Reporter:
    username: str
    token: str
    grid_code: str
    lon: float
    lat: float
    half_width: float
    half_height: float


@dataclass
class RunResult:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)
    sample_error: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used during the run, by whom

    @property
    def ok(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code != 201) + sum(self.exceptions.values())

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


# --- preparation (in this process, through the ORM) ------------------------------------------------


def prepare_reporters(count: int, seed: int) -> list[Reporter]:
    """``count`` grid workers of Foshan, each with a DRF token and the box of their own grid."""
    from rest_framework.authtoken.models import Token

    from grids.choices import Level, Role
    from grids.models import Area, Membership

    city = Area.objects.get(code=common.CITY_CODE)
    memberships = list(
        Membership.objects.filter(role=Role.GRID_WORKER, area__level=Level.GRID, area__path__startswith=city.path)
        .select_related("user", "area")
        .order_by("id")
    )
    rng = random.Random(seed)
    chosen = rng.sample(memberships, min(count, len(memberships)))
    reporters = []
    for membership in chosen:
        token, _ = Token.objects.get_or_create(user=membership.user)
        grid = membership.area
        west, south, east, north = grid.boundary.extent
        centroid = grid.centroid or grid.boundary.centroid
        reporters.append(Reporter(
            username=membership.user.username, token=token.key, grid_code=grid.code,
            lon=centroid.x, lat=centroid.y, half_width=(east - west) / 2, half_height=(north - south) / 2,
        ))
    return reporters


def report_body(reporter: Reporter, category: str, rng: random.Random) -> bytes:
    lon = reporter.lon + rng.uniform(-0.25, 0.25) * reporter.half_width
    lat = reporter.lat + rng.uniform(-0.25, 0.25) * reporter.half_height
    return json.dumps({
        "category": category, "lon": round(lon, 7), "lat": round(lat, 7),
        "description": f"基准测试: 网格 {reporter.grid_code} 路边暴露垃圾一堆",
        "client_uuid": str(uuid.uuid4()),
    }, ensure_ascii=False).encode()


def queries_per_request(reporter: Reporter, category: str) -> dict[str, int]:
    """SQL statements one request makes, counted in-process with Django's test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Token {reporter.token}")
    rng = random.Random(0)
    counts = {}
    for name, path in (("intake", INTAKE_PATH), ("floor", FLOOR_PATH)):
        client.post(path, report_body(reporter, category, rng), content_type="application/json")  # warm
        with CaptureQueriesContext(connection) as captured:
            response = client.post(path, report_body(reporter, category, rng), content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"{name}: a single request answered {response.status_code}: {response.content[:500]!r}")
        counts[name] = len(captured.captured_queries)
        control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
        counts[f"{name}_besides_transaction"] = sum(
            1 for q in captured.captured_queries if not q["sql"].split(";")[-1].strip().upper().startswith(control))
    return counts


# --- the server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, args: argparse.Namespace) -> subprocess.Popen:
    env = {
        **os.environ,
        **common.bench_environment(),
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        # Production settings refuse the development personal-data keys: throwaway ones for the run.
        "PII_KEY": os.environ.get("PII_KEY") or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PII_HASH_KEY": os.environ.get("PII_HASH_KEY") or secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "ERROR",
        # whitenoise warns once per worker that collectstatic has not run; the API needs no static files.
        "PYTHONWARNINGS": "ignore:No directory at",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")), "govgrid.wsgi:application",
        "--chdir", str(common.REPO), "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
        "--backlog", "256", "--keep-alive", "5", "--log-level", "warning",
    ]
    return subprocess.Popen(command, env=env, cwd=common.REPO, start_new_session=True)


def wait_until_serving(port: int, server: subprocess.Popen, reporter: Reporter, timeout: float = 60.0) -> None:
    """Until one authenticated floor insert answers 201: Django is loaded and the database reachable."""
    deadline = time.monotonic() + timeout
    body = json.dumps({"description": "ready?"}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Token {reporter.token}"}
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before serving")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", FLOOR_PATH, body, headers)
            response = conn.getresponse()
            payload = response.read()
            conn.close()
        except OSError:
            time.sleep(0.2)
            continue
        if response.status == 201:
            return
        raise SystemExit(f"gunicorn answered the floor with {response.status}: {payload[:500]!r}")
    raise SystemExit(f"gunicorn did not answer on port {port} within {timeout:.0f} s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # the arbiter stops its own workers
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- CPU accounting (robust to a busy machine: it counts work, not wall time) ----------------------

def _children(pid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def _backend_pids() -> list[int]:
    """PostgreSQL backends connected to the bench database (gunicorn's persistent connections)."""
    import psycopg

    url = common._psycopg_url(common.database_url())
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchall()
    return [row[0] for row in rows]


def cpu_snapshot(server: subprocess.Popen) -> dict[str, dict[int, float]]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "gunicorn": {pid: common.process_cpu_seconds(pid) for pid in [server.pid, *_children(server.pid)]},
        "postgres": {pid: common.process_cpu_seconds(pid) for pid in _backend_pids()},
        "client": {0: usage.ru_utime + usage.ru_stime},
        "machine": {0: common.system_busy_seconds()},
    }


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    return {
        who: sum(value - before[who].get(pid, 0.0) for pid, value in after[who].items())
        for who in after
    }


def own_cpu(cpu: dict[str, float]) -> float:
    return sum(seconds for who, seconds in cpu.items() if who != "machine")


# --- the load --------------------------------------------------------------------------------------


def run_load(name: str, port: int, path: str, reporters: list[Reporter], category: str, *, seconds: float,
             concurrency: int, seed: int) -> RunResult:
    result = RunResult(name)
    lock = threading.Lock()
    start_line = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def client(index: int) -> None:
        rng = random.Random(f"{seed}-{name}-{index}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies: list[float] = []
        statuses: Counter = Counter()
        exceptions: Counter = Counter()
        sample = ""
        start_line.wait()
        while time.perf_counter() < deadline[0]:
            reporter = rng.choice(reporters)
            body = report_body(reporter, category, rng)
            headers = {
                "Content-Type": "application/json", "Accept": "application/json",
                "Authorization": f"Token {reporter.token}",
            }
            started = time.perf_counter()
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                exceptions[type(exc).__name__] += 1
                conn.close()
                continue
            latencies.append(time.perf_counter() - started)
            statuses[response.status] += 1
            if response.status != 201 and not sample:
                sample = f"{response.status}: {' '.join(payload[:2000].decode(errors='replace').split())[:200]}"
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
            result.exceptions.update(exceptions)
            result.sample_error = result.sample_error or sample

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start_line.wait()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    result.seconds = time.perf_counter() - began
    return result


def line(result: RunResult) -> str:
    s = common.summary_ms(result.latencies)
    return (f"  {result.name:<7} {result.rps:8.1f} req/s   p50 {s['p50']:7.1f} ms   p99 {s['p99']:7.1f} ms   "
            f"{result.ok:6d} × 201   errors {result.errors}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per run (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per run first (default 3)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--reporters", type=int, default=200, help="grid workers with tokens (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    common.setup(SETTINGS)
    common.ensure_city()

    from bench.floor.models import FloorRow
    from cases.models import Case

    category = common.leaf_category()
    reporters = prepare_reporters(args.reporters, args.seed)
    queries = queries_per_request(reporters[0], category.code)
    FloorRow.objects.all().delete()
    cases_before = Case.objects.count()
    from django.db import connections

    connections.close_all()

    port = free_port()
    server = start_gunicorn(port, args)
    results, warmups = {}, {}
    try:
        wait_until_serving(port, server, reporters[0])
        runs = (("floor", FLOOR_PATH), ("intake", INTAKE_PATH))
        for name, path in runs:
            if args.warmup > 0:
                warmups[name] = run_load(name, port, path, reporters, category.code, seconds=args.warmup,
                                         concurrency=args.concurrency, seed=args.seed + 1000)
        for name, path in runs:
            before = cpu_snapshot(server)
            results[name] = run_load(name, port, path, reporters, category.code, seconds=args.seconds,
                                     concurrency=args.concurrency, seed=args.seed)
            results[name].cpu = cpu_delta(before, cpu_snapshot(server))
    finally:
        stop_gunicorn(server)
        common.flush_bench_redis()

    intake, floor = results["intake"], results["floor"]
    si, sf = common.summary_ms(intake.latencies), common.summary_ms(floor.latencies)
    print()
    print(f"intake vs floor · {common.machine_line()}")
    print(f"  gunicorn {args.workers} workers × {args.threads} threads ({args.worker_class}), DEBUG off; "
          f"client: {args.concurrency} keep-alive connections, {args.seconds:g} s each after {args.warmup:g} s "
          f"warm-up; {len(reporters)} grid workers, category {category.code} {category.name}")
    print(f"  SQL statements per request: intake {queries['intake']}, floor {queries['floor']}")
    print(line(floor))
    print(line(intake))
    print(f"  ratio intake/floor: throughput {intake.rps / floor.rps if floor.rps else float('nan'):.2f}×, "
          f"p50 latency {si['p50'] / sf['p50']:.2f}×, p99 latency {si['p99'] / sf['p99']:.2f}×")
    print("  CPU per answered request (ms; counts work, so it holds on a busy machine):")
    for result in (floor, intake):
        done = max(1, result.ok + result.errors)
        parts = "   ".join(
            f"{who} {seconds * 1000 / done:6.2f}" for who, seconds in result.cpu.items() if who != "machine"
        )
        print(f"    {result.name:<7} {parts}")
    gi = intake.cpu.get("gunicorn", 0) / max(1, intake.ok + intake.errors)
    gf = floor.cpu.get("gunicorn", 0) / max(1, floor.ok + floor.errors)
    if gf:
        print(f"    gunicorn CPU per request intake/floor: {gi / gf:.1f}×")
    for result in (floor, intake):
        print(f"  during {result.name}: "
              + common.others_line(result.cpu.get("machine", 0.0), own_cpu(result.cpu), result.seconds))
    print(f"  cases written by the intake run: {Case.objects.count() - cases_before}")
    busy = max(intake.cpu.get("machine", 0.0), floor.cpu.get("machine", 0.0))
    common.record("intake", {
        "concurrency": args.concurrency, "workers": args.workers, "threads": args.threads,
        "intake_rps": intake.rps, "floor_rps": floor.rps, "ratio": intake.rps / floor.rps if floor.rps else None,
        "intake_p50_ms": si["p50"], "intake_p99_ms": si["p99"], "floor_p50_ms": sf["p50"], "floor_p99_ms": sf["p99"],
        "statements": queries["intake"], "floor_statements": queries["floor"],
        "statements_besides_transaction": queries["intake_besides_transaction"],
        "errors": intake.errors + floor.errors,
        "gunicorn_cpu_ms": gi * 1000, "floor_gunicorn_cpu_ms": gf * 1000,
    }, others_cores=max(
        common.others_cores(r.cpu.get("machine", 0.0), own_cpu(r.cpu), r.seconds) for r in (floor, intake)
    ) if busy else None)
    for name, warmup in warmups.items():
        if warmup.errors:
            print(f"  {name} warm-up (not measured) had errors too: statuses {dict(warmup.statuses)}, "
                  f"exceptions {dict(warmup.exceptions)}; first: {warmup.sample_error}")
    for result in (floor, intake):
        if result.errors:
            print(f"  {result.name} errors: statuses {dict(result.statuses)}, exceptions {dict(result.exceptions)}; "
                  f"first: {result.sample_error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
