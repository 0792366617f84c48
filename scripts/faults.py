"""`make faults`: faults injected into a real stack under a bounded load of reports.

    .venv/bin/python scripts/faults.py [--rate 8] [--only web,redis,worker,postgres] [--fresh]

Starts, all on loopback and all its own: a PostgreSQL 15 cluster ``faults`` on port 5441
(``pg_createcluster`` the first time; database ``govgrid_faults`` copied from a seeded template:
migrate, seed_categories, seed_city --preset demo), a redis-server on port 6391 (append-only file,
as a production Redis keeps its queue across a restart), gunicorn on 127.0.0.1:8640 (3 sync
workers), the Celery workers as the Procfile lays them out (pipeline ×1, other queues ×2) and beat.

Then, one after the other (after a control phase without a fault), each under its own load of
reports (``POST /api/v1/cases/`` with token auth by grid workers of the demo city, at points in
their own grids; each report retried with the same ``client_uuid`` until it is acknowledged with a
2xx, Retry-After honoured up to 2 s):

* ``web``: kill -9 a gunicorn worker that holds an open request (found through /proc), three times;
* ``redis``: stop Redis (SHUTDOWN, saving its AOF) for 20 s, then start it again;
* ``worker``: kill -9 both Celery workers (their process groups) while they work, restart them 5 s later;
* ``postgres``: fast restart of the cluster (``pg_ctlcluster 15 faults restart -m fast``).

Each phase: 8 s of load, the fault, 15 s more load after the service is back, then no new reports;
the phase's reports are followed until all are triaged and notified, or 2 minutes after the service
came back. A process of the stack that died of a fault (rather than being killed by it) is named in
the output, counted as a failure and restarted before the next fault.
Prints per fault: reports sent, acknowledged (2xx), lost (acknowledged, not in the database),
duplicates (one client_uuid twice), untriaged after 2 minutes, duplicate notifications (a recipient
told twice of one event), report events nobody was notified of after 2 minutes, 5xx answers other
than documented 503s (JSON with Retry-After), documented 503s, 4xx, connection errors, and how long
recovery took: until every report sent before the service came back was acknowledged (from the
fault), and until the last report of the phase was triaged, and notified (from the service coming
back). The exit status is 1 when any of lost, duplicates, unexplained 5xx, untriaged, unnotified,
duplicate notifications, given-up reports or a dead process is not 0.
Bounded: at most ``--rate`` new reports a second, a report gives up after 4 minutes of retries,
the whole run after ``--max-minutes``; it stops everything it started (the cluster too) by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_VERSION, CLUSTER, PG_PORT = "15", "faults", 5441
REDIS_PORT, WEB_PORT = 6391, 8640
DATABASE, TEMPLATE = "govgrid_faults", "govgrid_faults_seed"
HOST = "127.0.0.1"
CATEGORY = "0101"
REPORTERS = 24
GIVE_UP = 240.0  # seconds of retries before a report is given up (counted, never silently dropped)
AFTER = 120.0  # the phase's reports must be triaged within this many seconds of the service coming back


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def database_url(name: str = DATABASE) -> str:
    return f"postgis://postgres@{HOST}:{PG_PORT}/{name}"


def environment(name: str = DATABASE) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "govgrid.settings", "DEBUG": "1", "DATABASE_URL": database_url(name),
        "REDIS_URL": f"redis://{HOST}:{REDIS_PORT}/0", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
    })
    return env


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-h", HOST, "-p", str(PG_PORT), "-U", "postgres", "-d", database, "-Atqc", sql],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def query(sql: str, params: list | None = None) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@{HOST}:{PG_PORT}/{DATABASE}", connect_timeout=5) as conn:
        return conn.execute(sql, params or []).fetchall()


def manage(*args: str, database: str = DATABASE) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=environment(database), check=True,
                          capture_output=True, text=True).stdout


# --- the stack ------------------------------------------------------------------------------------


class Stack:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.redis: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.beat: subprocess.Popen | None = None
        self.created_cluster = False

    # PostgreSQL
    def cluster_exists(self) -> bool:
        listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
        return any(line.split()[:2] == [PG_VERSION, CLUSTER] for line in listing.splitlines())

    def start_postgres(self) -> None:
        if not self.cluster_exists():
            log(f"creating the PostgreSQL cluster {PG_VERSION}/{CLUSTER} on port {PG_PORT}")
            subprocess.run(["pg_createcluster", PG_VERSION, CLUSTER, "--port", str(PG_PORT), "--",
                            "--auth=trust"], check=True, capture_output=True)
            self.created_cluster = True
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, CLUSTER, "start"],
                       capture_output=True)
        self.wait_postgres()

    def wait_postgres(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if subprocess.run(["pg_isready", "-q", "-h", HOST, "-p", str(PG_PORT)]).returncode == 0:
                return
            time.sleep(0.2)
        raise SystemExit(f"PostgreSQL on port {PG_PORT} did not come up")

    def restart_postgres(self) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, CLUSTER, "restart", "-m", "fast"],
                       check=True, capture_output=True)
        self.wait_postgres()

    def stop_postgres(self) -> None:
        # The cluster's files stay: the seeded template makes the next run start in seconds (--fresh re-seeds).
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, CLUSTER, "stop", "-m", "fast"],
                       capture_output=True)

    def prepare_database(self) -> None:
        if psql(f"SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE}'") != "1":
            log("seeding the template database (migrate, categories, the demo city): once per cluster")
            psql(f'CREATE DATABASE "{TEMPLATE}"')
            psql("CREATE EXTENSION IF NOT EXISTS postgis", TEMPLATE)
            manage("migrate", "--no-input", database=TEMPLATE)
            manage("seed_categories", database=TEMPLATE)
            manage("seed_city", "--preset", "demo", database=TEMPLATE)
        else:
            manage("migrate", "--no-input", database=TEMPLATE)
        psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{DATABASE}" TEMPLATE "{TEMPLATE}"')

    # Redis
    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", HOST, "--dir", str(self.workdir),
             "--appendonly", "yes", "--save", "", "--daemonize", "no"],
            stdout=open(self.workdir / "redis.log", "a"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "ping"],
                              capture_output=True, text=True).stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise SystemExit("the private redis-server did not come up")

    def stop_redis(self) -> None:
        if self.redis and self.redis.poll() is None:
            subprocess.run(["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "shutdown"], capture_output=True)
            try:
                self.redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
                self.redis.wait()

    # The app's processes, each in a session of its own (so a kill -9 takes its children too).
    def spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        output = open(self.workdir / f"{name}.log", "a")  # noqa: SIM115 (lives as long as the process)
        return subprocess.Popen(command, cwd=REPO, env=environment(), stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_web(self) -> None:
        self.web = self.spawn("web", [str(VENV_BIN / "gunicorn"), "govgrid.wsgi:application", "--bind",
                                      f"{HOST}:{WEB_PORT}", "--workers", "3", "--timeout", "30",
                                      "--log-level", "warning"])

    def start_workers(self) -> None:
        celery = str(VENV_BIN / "celery")
        self.workers = [
            self.spawn("worker-pipeline", [celery, "-A", "govgrid", "worker", "-Q", "pipeline", "-n",
                                           "faults-pipeline@%h", "--concurrency=1", "--loglevel=WARNING"]),
            self.spawn("worker-other", [celery, "-A", "govgrid", "worker", "-Q",
                                        "default,notifications,sweeps,reports", "-n", "faults-other@%h",
                                        "--concurrency=2", "--loglevel=WARNING"]),
        ]

    def start_beat(self) -> None:
        self.beat = self.spawn("beat", [str(VENV_BIN / "celery"), "-A", "govgrid", "beat", "--loglevel=WARNING",
                                        "--schedule", str(self.workdir / "celerybeat-schedule")])

    def kill_workers(self) -> list[int]:
        pids = []
        for worker in self.workers:
            pids += [worker.pid, *children(worker.pid)]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
        for worker in self.workers:
            worker.wait()
        return pids

    def stop(self) -> None:
        processes = [p for p in (self.web, self.beat, *self.workers) if p is not None and p.poll() is None]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.stop_redis()
        self.stop_postgres()


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def web_workers_mid_request(master: int) -> list[int]:
    """gunicorn workers holding an accepted, established connection to the web port right now."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == WEB_PORT and fields[3] == "01":
                    inodes.add(fields[9])
    busy = []
    for pid in children(master):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        busy.append(pid)
                        break
    return busy


def wait_http(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection(HOST, WEB_PORT, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer on {HOST}:{WEB_PORT}")


def wait_workers(timeout: float = 60.0) -> None:
    """Until both workers answer a ping (through the private Redis)."""
    script = ("from govgrid.celery import app; import sys; "
              "sys.exit(0 if len(app.control.ping(timeout=1.0)) >= 2 else 1)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run([sys.executable, "-c", script], cwd=REPO, env=environment(),
                          capture_output=True).returncode == 0:
            return
        time.sleep(1)
    raise SystemExit("the Celery workers did not answer a ping")


# --- the load ---------------------------------------------------------------------------------------


@dataclass
class Report:
    phase: str
    token: str
    body: bytes
    client_uuid: str
    first_sent: float = 0.0
    acked_at: float | None = None
    case_id: int | None = None
    attempts: int = 0
    given_up: bool = False


@dataclass
class Tally:
    answers: dict[int, int] = field(default_factory=dict)
    documented_503: int = 0
    unexplained_5xx: int = 0
    client_4xx: int = 0
    connection_errors: int = 0
    samples: list[str] = field(default_factory=list)


class Load:
    """Threads sending reports at a bounded rate while ``phase`` is set; each retried until acknowledged."""

    def __init__(self, reporters: list[dict], rate: float, deadline: float, threads: int = 8):
        self.reporters, self.rate, self.deadline = reporters, rate, deadline
        self.phase: str | None = None
        self.reports: list[Report] = []
        self.tallies: dict[str, Tally] = {}
        self.lock = threading.Lock()
        self.next_slot = time.monotonic()
        self.stopping = False
        self.rng = random.Random(7)
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping = True
        for thread in self.threads:
            thread.join(timeout=GIVE_UP + 30)

    def new_report(self) -> Report | None:
        with self.lock:
            if self.phase is None or self.stopping or time.monotonic() > self.deadline:
                return None
            now = time.monotonic()
            if self.next_slot > now:
                return None
            self.next_slot = max(self.next_slot + 1 / self.rate, now - 1)
            reporter = self.rng.choice(self.reporters)
            body = json.dumps({
                "category": CATEGORY, "description": "故障演练: 路边暴露垃圾一堆",
                "lon": round(reporter["lon"] + self.rng.uniform(-0.25, 0.25) * reporter["hw"], 7),
                "lat": round(reporter["lat"] + self.rng.uniform(-0.25, 0.25) * reporter["hh"], 7),
                "client_uuid": str(uuid.uuid4()),
            }, ensure_ascii=False).encode()
            report = Report(self.phase, reporter["token"], body, json.loads(body)["client_uuid"])
            self.reports.append(report)
            self.tallies.setdefault(report.phase, Tally())
            return report

    def run(self) -> None:
        while not self.stopping and time.monotonic() < self.deadline:
            report = self.new_report()
            if report is None:
                time.sleep(0.02)
                continue
            self.deliver(report)

    def deliver(self, report: Report) -> None:
        tally = self.tallies[report.phase]
        report.first_sent = time.time()
        give_up = time.monotonic() + GIVE_UP
        headers = {"Content-Type": "application/json", "Authorization": f"Token {report.token}"}
        while time.monotonic() < give_up and time.monotonic() < self.deadline:
            report.attempts += 1
            pause = 0.5
            try:
                conn = http.client.HTTPConnection(HOST, WEB_PORT, timeout=20)
                conn.request("POST", "/api/v1/cases/", report.body, headers)
                response = conn.getresponse()
                payload = response.read()
                conn.close()
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    tally.connection_errors += 1
                    if len(tally.samples) < 3:
                        tally.samples.append(f"connection: {exc!r}")
                time.sleep(pause)
                continue
            status = response.status
            with self.lock:
                tally.answers[status] = tally.answers.get(status, 0) + 1
            if 200 <= status < 300:
                report.acked_at = time.time()
                report.case_id = json.loads(payload)["id"]
                return
            documented = (status == 503 and response.getheader("Retry-After")
                          and response.getheader("Content-Type", "").startswith("application/json"))
            with self.lock:
                if documented:
                    tally.documented_503 += 1
                elif status >= 500:
                    tally.unexplained_5xx += 1
                else:
                    tally.client_4xx += 1
                if not documented and len(tally.samples) < 3:
                    tally.samples.append(f"{status}: {payload[:300]!r}")
            if documented:
                with contextlib.suppress(ValueError):
                    pause = min(2.0, max(0.2, float(response.getheader("Retry-After"))))
            elif 400 <= status < 500:
                report.given_up = True  # a refused report is not retried: counted as a 4xx
                return
            time.sleep(pause)
        report.given_up = True


# --- the faults --------------------------------------------------------------------------------------


def fault_web(stack: Stack) -> str:
    killed = []
    for _ in range(3):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            busy = web_workers_mid_request(stack.web.pid)
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
                break
            time.sleep(0.005)
        time.sleep(2)
    return f"killed gunicorn workers {killed} mid-request"


def fault_redis(stack: Stack) -> str:
    stack.stop_redis()
    time.sleep(20)
    stack.start_redis()
    return "Redis down 20 s"


def fault_worker(stack: Stack) -> str:
    waiting = query("SELECT count(*) FROM cases_case WHERE triaged_at IS NULL")[0][0]
    pids = stack.kill_workers()
    time.sleep(5)
    stack.start_workers()
    return f"kill -9 Celery workers {pids} ({waiting} reports untriaged at that moment), restarted after 5 s"


def fault_postgres(stack: Stack) -> str:
    started = time.monotonic()
    stack.restart_postgres()
    return f"fast restart took {time.monotonic() - started:.1f} s"


def fault_none(stack: Stack) -> str:
    return "no fault: the control row"


FAULTS = {"none": fault_none, "web": fault_web, "redis": fault_redis, "worker": fault_worker,
          "postgres": fault_postgres}


@dataclass
class Row:
    fault: str
    note: str = ""
    sent: int = 0
    acked: int = 0
    given_up: int = 0
    lost: int = 0
    duplicates: int = 0
    untriaged: int = 0
    duplicate_notifications: int = 0
    unnotified: int = 0
    unexplained_5xx: int = 0
    documented_503: int = 0
    client_4xx: int = 0
    connection_errors: int = 0
    acked_after: float = 0.0
    triaged_after: float | None = None
    notified_after: float | None = None
    triage_max: float = 0.0
    notify_median: float = 0.0
    notify_max: float = 0.0
    notified_late: int = 0
    samples: list[str] = field(default_factory=list)
    died: str = ""


def run_phase(name: str, stack: Stack, load: Load) -> Row:
    log(f"fault {name}: load on")
    load.phase = name
    time.sleep(8)
    injected = time.time()
    note = FAULTS[name](stack)
    restored = time.time()
    log(f"fault {name}: {note}")
    time.sleep(15)
    load.phase = None
    reports = [r for r in load.reports if r.phase == name]
    while any(r.acked_at is None and not r.given_up for r in reports):
        time.sleep(0.5)
    log(f"fault {name}: {len(reports)} reports answered; following their triage")
    uuids = [r.client_uuid for r in reports]
    untriaged_sql = "SELECT count(*) FROM cases_case WHERE client_uuid = ANY(%s::uuid[]) AND triaged_at IS NULL"
    unnotified_sql = (
        "SELECT count(*) FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id "
        "WHERE c.client_uuid = ANY(%s::uuid[]) AND e.action = 'report' "
        "AND NOT EXISTS (SELECT 1 FROM cases_notification n WHERE n.event_id = e.id)")
    while time.time() < restored + AFTER and query(untriaged_sql, [uuids])[0][0]:
        time.sleep(2)
    while time.time() < restored + AFTER and query(unnotified_sql, [uuids])[0][0]:
        time.sleep(2)
    notified_done = time.time()
    log(f"fault {name}: queues {queue_lengths()}")
    row = Row(name, note=note, sent=len(reports))
    acked = [r for r in reports if r.acked_at is not None]
    row.acked, row.given_up = len(acked), sum(r.given_up for r in reports)
    stored = dict(query("SELECT client_uuid::text, count(*) FROM cases_case WHERE client_uuid = ANY(%s::uuid[]) "
                        "GROUP BY client_uuid", [uuids]))
    row.lost = sum(1 for r in acked if r.client_uuid not in stored)
    row.duplicates = sum(n - 1 for n in stored.values() if n > 1)
    row.untriaged = query(untriaged_sql, [uuids])[0][0]
    row.duplicate_notifications = query(
        "SELECT count(*) FROM (SELECT n.recipient_id, n.event_id FROM cases_notification n "
        "JOIN cases_case c ON c.id = n.case_id WHERE c.client_uuid = ANY(%s::uuid[]) "
        "GROUP BY 1, 2 HAVING count(*) > 1) AS twice", [uuids])[0][0]
    row.unnotified = query(unnotified_sql, [uuids])[0][0]
    delays = [float(d) for (d,) in query(
        "SELECT extract(epoch FROM min(n.created_at) - e.at) FROM cases_caseevent e "
        "JOIN cases_case c ON c.id = e.case_id JOIN cases_notification n ON n.event_id = e.id "
        "WHERE c.client_uuid = ANY(%s::uuid[]) AND e.action = 'report' GROUP BY e.id ORDER BY 1", [uuids])]
    if delays:
        row.notify_median, row.notify_max = delays[len(delays) // 2], delays[-1]
        row.notified_late = sum(1 for d in delays if d > 30)
    if not row.unnotified:
        row.notified_after = max(0.0, notified_done - restored)
    row.triage_max = float(query("SELECT coalesce(extract(epoch FROM max(triaged_at - reported_at)), 0) "
                                 "FROM cases_case WHERE client_uuid = ANY(%s::uuid[])", [uuids])[0][0])
    last_triage = query("SELECT extract(epoch FROM max(triaged_at)) FROM cases_case "
                        "WHERE client_uuid = ANY(%s::uuid[])", [uuids])[0][0]
    if last_triage is not None and not row.untriaged:
        row.triaged_after = max(0.0, float(last_triage) - restored)
    before_restore = [r.acked_at for r in acked if r.first_sent <= restored]
    row.acked_after = max(0.0, max(before_restore, default=injected) - injected)
    # A process of the stack that died of the fault (rather than being killed by it) is a finding of
    # its own: it is named, and restarted so that the next fault is measured on a whole stack.
    dead = [label for label, process in (("web", stack.web), ("beat", stack.beat),
                                         *((f"worker {i}", w) for i, w in enumerate(stack.workers)))
            if process is not None and process.poll() is not None]
    if dead:
        row.died = ", ".join(dead)
        log(f"fault {name}: died: {row.died}; restarting them")
        if any(label.startswith("worker") for label in dead):
            stack.kill_workers()
            stack.start_workers()
        if "web" in dead:
            stack.start_web()
        if "beat" in dead:
            stack.start_beat()
    tally = load.tallies.get(name, Tally())
    row.unexplained_5xx, row.documented_503 = tally.unexplained_5xx, tally.documented_503
    row.client_4xx, row.connection_errors, row.samples = tally.client_4xx, tally.connection_errors, tally.samples
    return row


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each Celery queue (Redis db 1, the broker)."""
    lengths = {}
    for queue in ("pipeline", "notifications", "sweeps", "default"):
        answer = subprocess.run(["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "-n", "1", "llen", queue],
                                capture_output=True, text=True).stdout.strip()
        lengths[queue] = int(answer) if answer.isdigit() else -1
    return lengths


def table(rows: list[Row]) -> str:
    head = ("| fault | sent | 2xx | lost | duplicates | untriaged after 2 min | duplicate notifications "
            "| unnotified after 2 min | 5xx (not 503) | documented 503 | 4xx | connection errors "
            "| all acknowledged (s after fault) | all triaged (s after recovery) | all notified (s after recovery) "
            "| longest report → triage (s) | longest report → notification (s) |")
    lines = [head, "|" + "---|" * 17]
    for r in rows:
        triaged = f"{r.triaged_after:.0f}" if r.triaged_after is not None else "—"
        notified = f"{r.notified_after:.0f}" if r.notified_after is not None else "—"
        lines.append(f"| {r.fault} | {r.sent} | {r.acked} | {r.lost} | {r.duplicates} | {r.untriaged} "
                     f"| {r.duplicate_notifications} | {r.unnotified} | {r.unexplained_5xx} | {r.documented_503} "
                     f"| {r.client_4xx} | {r.connection_errors} | {r.acked_after:.1f} | {triaged} | {notified} "
                     f"| {r.triage_max:.1f} | {r.notify_max:.1f} |")
    return "\n".join(lines)


REPORTERS_SCRIPT = """
import json
from rest_framework.authtoken.models import Token
from grids.choices import Level, Role
from grids.models import Membership
rows = []
for m in (Membership.objects.filter(role=Role.GRID_WORKER, area__level=Level.GRID, user__is_active=True)
          .select_related("user", "area").order_by("id")[:%d]):
    token, _ = Token.objects.get_or_create(user=m.user)
    west, south, east, north = m.area.boundary.extent
    c = m.area.centroid or m.area.boundary.centroid
    rows.append({"token": token.key, "lon": c.x, "lat": c.y, "hw": (east - west) / 2, "hh": (north - south) / 2})
print("REPORTERS" + json.dumps(rows))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=8.0, help="new reports a second at most (default 8)")
    parser.add_argument("--only", default=",".join(FAULTS),
                        help="faults to run, in order (default all: none,web,redis,worker,postgres)")
    parser.add_argument("--max-minutes", type=float, default=25.0, help="the whole run stops after this")
    parser.add_argument("--fresh", action="store_true", help="drop the seeded template first (re-seed)")
    args = parser.parse_args(argv)
    faults = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")

    workdir = Path(tempfile.mkdtemp(prefix="govgrid-faults-"))
    stack = Stack(workdir)
    started = time.monotonic()

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    rows: list[Row] = []
    load: Load | None = None
    try:
        stack.start_postgres()
        stack.start_redis()
        if args.fresh:
            psql(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        stack.prepare_database()
        output = manage("shell", "-c", REPORTERS_SCRIPT % REPORTERS)
        reporters = json.loads(output.split("REPORTERS", 1)[1])
        stack.start_web()
        stack.start_workers()
        stack.start_beat()
        wait_http()
        wait_workers()
        log(f"stack up in {time.monotonic() - started:.0f} s (logs in {workdir}); {len(reporters)} reporters")
        load = Load(reporters, args.rate, deadline=started + args.max_minutes * 60)
        load.start()
        for name in faults:
            if time.monotonic() > started + args.max_minutes * 60 - 200:
                log(f"out of time: {name} and after are not run")
                break
            rows.append(run_phase(name, stack, load))
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
    finally:
        if load is not None:
            load.stopping = True
        stack.stop()
        if load is not None:
            load.stop()
    if not rows:
        return 1
    print()
    print(table(rows))
    print()
    for row in rows:
        print(f"- {row.fault}: {row.note}; report → notification median {row.notify_median:.1f} s, "
              f"max {row.notify_max:.1f} s, {row.notified_late} later than 30 s"
              + (f"; given up: {row.given_up}" if row.given_up else "")
              + (f"; DIED: {row.died}" if row.died else "")
              + (f"; samples: {row.samples}" if row.samples else ""))
    failed = [r.fault for r in rows
              if r.lost or r.duplicates or r.unexplained_5xx or r.untriaged or r.duplicate_notifications or r.given_up
              or r.unnotified or r.died]
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'OK'}: 0 lost, 0 duplicates, 0 unexplained 5xx, "
          f"every report triaged and notified within {AFTER:.0f} s of each fault, no process dying of one "
          f"is the target "
          f"({time.monotonic() - started:.0f} s in all)")
    log(f"logs in {workdir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
