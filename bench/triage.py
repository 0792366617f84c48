"""Triage keeping up with a flood of reports: the report → triage delay at a fixed report rate.

    .venv/bin/python bench/triage.py [--rate 50] [--seconds 30] [--batch 200] [--layout split|single]

Starts Celery workers on the bench database and the bench Redis database as the Procfile lays them
out (``--layout split``: a worker of its own for the ``pipeline`` queue, concurrency 1, and one for
the other queues, concurrency 2; ``--layout single``: one worker, concurrency 2, on every queue, as
before). Then reports come in at ``--rate`` a second for ``--seconds`` through the real action
(``cases.actions.report_case``, in this process, by four threads on their own connections, on a
fixed schedule: report i is due at start + i / rate, and a thread that falls behind sends at once),
each enqueueing its triage task after commit like a request does. The report goes in-process rather
than through gunicorn because on 2 cores the API alone tops out near 55 reports/s (bench/intake.py):
the bench measures the workers, not the web tier.

Prints, for the reports of the run: the rate achieved, the median, p90, p99 and max of
``triaged_at - reported_at`` (the database's own times), how long the last ones waited after the
flood stopped, how many are still untriaged after ``--drain`` seconds, the triage tasks run and how
many reports each triaged, and the CPU the workers used per report. ``--batch 1`` runs the workers
with one report per triage task (the way triage ran before batches) for comparison.

With ``--as-worker BATCH -- ARGS`` the script is the Celery worker itself (it sets the batch size,
then runs ``celery ARGS``); the bench starts its workers that way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

THREADS = 4


def run_as_worker(batch: int, celery_args: list[str]) -> int:
    """The Celery worker, with ``cases.jobs.TRIAGE_BATCH`` set first."""
    import django

    django.setup()
    from celery.bin.celery import main as celery_main

    from cases import jobs

    jobs.TRIAGE_BATCH = batch
    sys.argv = ["celery", *celery_args]
    return celery_main()


def start_workers(layout: str, batch: int, log_dir: Path) -> list[subprocess.Popen]:
    env = {**os.environ, **common.bench_environment(), "DJANGO_SETTINGS_MODULE": "govgrid.settings"}
    layouts = {
        "split": [("pipeline", "pipeline", 1), ("other", "default,notifications,sweeps,reports", 2)],
        "single": [("all", "default,pipeline,notifications,sweeps,reports", 2)],
    }
    workers = []
    for name, queues, concurrency in layouts[layout]:
        args = ["-A", "govgrid", "worker", "-Q", queues, "-n", f"bench-{name}-{os.getpid()}@%h",
                f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--loglevel=WARNING"]
        log = open(log_dir / f"triage-worker-{name}.log", "w")  # noqa: SIM115 (lives as long as the worker)
        workers.append(subprocess.Popen(
            [sys.executable, __file__, "--as-worker", str(batch), "--", *args],
            env=env, cwd=common.REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ))
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def worker_cpu(workers: list[subprocess.Popen]) -> float:
    pids = []
    for worker in workers:
        pids.append(worker.pid)
        with contextlib.suppress(OSError):
            pids += [int(p) for p in Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()]
    return sum(common.process_cpu_seconds(pid) for pid in pids)


def wait_for_workers(workers: list[subprocess.Popen], log_dir: Path, timeout: float = 60.0) -> None:
    from govgrid.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(worker.poll() is not None for worker in workers):
            raise SystemExit(f"a Celery worker exited at start: see {log_dir}/triage-worker-*.log")
        if len(app.control.ping(timeout=1.0)) >= len(workers):
            return
    raise SystemExit(f"{len(workers)} Celery workers did not answer within {timeout:.0f} s")


def reporters_in_their_grids(count: int, seed: int):
    """(user, lon, lat, half width, half height) of ``count`` Foshan grid workers, in their own grids."""
    from django.contrib.auth import get_user_model

    from bench.intake import prepare_reporters

    chosen = prepare_reporters(count, seed)
    users = get_user_model().objects.in_bulk([r.username for r in chosen], field_name="username")
    return [(users[r.username], r.lon, r.lat, r.half_width, r.half_height) for r in chosen]


def flood(reporters, category, rate: float, seconds: float, seed: int) -> tuple[list[int], float, int]:
    """Report at ``rate`` a second for ``seconds``; returns the case ids, the seconds taken, the errors."""
    from django.db import connection

    from cases import actions

    total = int(rate * seconds)
    ids: list[int] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.5

    def produce(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        try:
            for i in range(index, total, THREADS):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                user, lon, lat, half_width, half_height = rng.choice(reporters)
                try:
                    case, _ = actions.report_case(
                        reporter=user, category=category, description="基准测试: 路边暴露垃圾一堆",
                        lon=lon + rng.uniform(-0.25, 0.25) * half_width,
                        lat=lat + rng.uniform(-0.25, 0.25) * half_height,
                    )
                except Exception as exc:  # counted and shown; the flood goes on
                    with lock:
                        errors[0] += 1
                        if errors[0] == 1:
                            print(f"  first error: {exc!r}", flush=True)
                    continue
                with lock:
                    ids.append(case.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids, time.monotonic() - start, errors[0]


def flood_sql(reporters, category, rate: float, seconds: float, seed: int) -> tuple[list[int], float, int]:
    """Like :func:`flood`, at a tenth of the CPU: every 0.1 s the reports due are written in SQL (case
    and report event rows copied from one real report, at points in the reporters' grids, reported
    now) and each one's triage and notification tasks are sent as the outbox would send them."""
    from django.db import connection, transaction

    from cases import actions, tasks
    from cases.choices import Action
    from cases.models import Case
    from govgrid.tasks import enqueue

    rng = random.Random(seed)
    user, lon, lat, _w, _h = reporters[0]
    template, _ = actions.report_case(reporter=user, category=category, lon=lon, lat=lat,
                                      description="基准测试: 路边暴露垃圾一堆")
    columns = [f.column for f in Case._meta.concrete_fields  # not is_red: PostgreSQL computes it
               if not f.generated and f.column not in ("id", "client_uuid", "location", "reported_at", "triaged_at")]
    listed = ", ".join(columns)
    total, ids, start, sent = int(rate * seconds), [], time.monotonic(), 0
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        if due > sent:
            points = [rng.choice(reporters) for _ in range(due - sent)]
            lons = [p[1] + rng.uniform(-0.25, 0.25) * p[3] for p in points]
            lats = [p[2] + rng.uniform(-0.25, 0.25) * p[4] for p in points]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO cases_case ({listed}, location, reported_at) "
                    f"SELECT {listed}, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), clock_timestamp() "
                    f"FROM cases_case, unnest(%s::float8[], %s::float8[]) AS p(lon, lat) WHERE id = %s RETURNING id",
                    [lons, lats, template.pk],
                )
                new = [row[0] for row in cursor.fetchall()]
                cursor.execute(
                    "INSERT INTO cases_caseevent (case_id, actor_id, at, action, from_status, to_status, note, "
                    "payload) SELECT c.id, e.actor_id, clock_timestamp(), e.action, e.from_status, e.to_status, "
                    "e.note, e.payload FROM unnest(%s::bigint[]) AS c(id), cases_caseevent AS e "
                    "WHERE e.case_id = %s AND e.action = %s RETURNING id",
                    [new, template.pk, Action.REPORT],
                )
                events = [row[0] for row in cursor.fetchall()]
                for case_id, event_id in zip(new, events, strict=True):
                    enqueue(tasks.triage_case, case_id)
                    enqueue(tasks.notify_event, event_id)
            ids += new
            sent = due
        time.sleep(0.1)
    return ids, time.monotonic() - start, 0


def clear_backlog() -> int:
    """Triage what earlier runs left untriaged, so this run's workers see only its own reports."""
    from cases import jobs

    total = 0
    while triaged := jobs.triage_reports(batch=500):
        total += len(triaged)
    return total


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--as-worker"]:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govgrid.settings")
        return run_as_worker(int(argv[1]), argv[3:] if argv[2:3] == ["--"] else argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="reports a second (default 50)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of reports (default 30)")
    parser.add_argument("--batch", type=int, default=0, help="reports per triage task (default: cases.jobs')")
    parser.add_argument("--layout", choices=("split", "single"), default="split")
    parser.add_argument("--producer", choices=("action", "sql"), default="action",
                        help="reports through cases.actions.report_case (default), or rows written in SQL "
                             "with their tasks sent (when this machine cannot run the action at --rate)")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the last triage")
    parser.add_argument("--reporters", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    common.setup()
    common.ensure_city()
    from django.db import connection, connections

    from cases import jobs
    from cases.choices import Action
    from cases.models import Case, CaseEvent

    batch = args.batch or jobs.TRIAGE_BATCH
    category = common.leaf_category()
    reporters = reporters_in_their_grids(args.reporters, args.seed)
    if left := clear_backlog():
        print(f"triaged {left} reports earlier runs had left", flush=True)
    common.flush_bench_redis()
    connections.close_all()

    log_dir = common.REPO / "var"
    log_dir.mkdir(exist_ok=True)
    workers = start_workers(args.layout, batch, log_dir)
    try:
        wait_for_workers(workers, log_dir)
        cpu_before, busy_before, wall_before = worker_cpu(workers), common.system_busy_seconds(), time.monotonic()
        own_before = common.process_cpu_seconds(os.getpid())
        produce = flood if args.producer == "action" else flood_sql
        ids, took, errors = produce(reporters, category, args.rate, args.seconds, args.seed)
        flood_end = time.monotonic()
        deadline = flood_end + args.drain
        while time.monotonic() < deadline and Case.objects.filter(pk__in=ids, triaged_at__isnull=True).exists():
            time.sleep(0.5)
        drained = time.monotonic() - flood_end
        cpu = worker_cpu(workers) - cpu_before
        wall = time.monotonic() - wall_before
        own = common.process_cpu_seconds(os.getpid()) - own_before
        busy = common.system_busy_seconds() - busy_before
    finally:
        stop_workers(workers)
        common.flush_bench_redis()

    rows = list(Case.objects.filter(pk__in=ids).values_list("reported_at", "triaged_at"))
    delays = sorted((t - r).total_seconds() for r, t in rows if t is not None)
    untriaged = sum(1 for _, t in rows if t is None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT at) FROM cases_caseevent WHERE case_id = ANY(%s) AND action = %s",
                       [ids, Action.TRIAGE])
        batches = cursor.fetchone()[0]
    assert CaseEvent.objects.filter(case_id__in=ids, action=Action.TRIAGE).count() == len(rows) - untriaged

    def s(share: float) -> str:
        return f"{common.percentile(delays, share):.2f}" if delays else "n/a"

    print()
    print(f"report → triage · {common.machine_line()}")
    layout = ("pipeline worker ×1 + other queues ×2" if args.layout == "split"
              else "one worker ×2 on every queue")
    print(f"  layout {args.layout} ({layout}), "
          f"batch {batch}, producer {args.producer}; {len(ids)} reports in {took:.1f} s = {len(ids) / took:.1f}/s "
          f"(asked {args.rate:g}/s for {args.seconds:g} s), {errors} errors")
    print(f"  delay (s): median {s(0.5)}, p90 {s(0.9)}, p99 {s(0.99)}, max {delays[-1] if delays else float('nan'):.2f}"
          f"; mean {statistics.fmean(delays) if delays else float('nan'):.2f}")
    print(f"  queue drained {drained:.1f} s after the last report; untriaged after {args.drain:g} s: {untriaged}")
    print(f"  triage transactions that did the work: {batches} ({(len(rows) - untriaged) / max(1, batches):.1f} "
          f"reports each)")
    print(f"  workers' CPU: {cpu * 1000 / max(1, len(ids)):.1f} ms per report (triage, notification, overhead)")
    print("  " + common.others_line(busy, own + cpu, wall))
    common.record("triage", {
        "rate_sent": len(ids) / took, "median_s": common.percentile(delays, 0.5) if delays else None,
        "p99_s": common.percentile(delays, 0.99) if delays else None, "untriaged": untriaged,
        "layout": args.layout, "batch": batch, "producer": args.producer,
    }, others_cores=common.others_cores(busy, own + cpu, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
