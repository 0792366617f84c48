"""Shared set-up of the benchmarks: their own database, a seeded Foshan, figures.

Every bench runs against its own database, ``BENCH_DATABASE_URL`` (default
``postgis://postgres@127.0.0.1:5432/govgrid_bench``), never the plain ``DATABASE_URL`` of a
developer's shell, so a bench never loads a million rows into the demo database. The chosen URL is
exported as ``DATABASE_URL`` before Django starts, so settings (and any gunicorn a bench starts)
read it the usual way. A missing database is created (with PostGIS), migrated, and seeded with the
Foshan preset (5,069 grids) and the case categories.

Celery messages from the app go to ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/14``), a
Redis database of its own that a bench flushes when it is done; no worker consumes them.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/x.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

DEFAULT_DATABASE_URL = "postgis://postgres@127.0.0.1:5432/govgrid_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
PRESET = "foshan"
CITY_CODE = "4406"
# Used only when cases/categories_seed.py is not there to load the real categories.
FALLBACK_FAMILY, FALLBACK_LEAF = "B0", "B001"
PREFERRED_LEAF = "0101"  # 暴露垃圾, the most common report


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)


def bench_environment() -> dict[str, str]:
    """The variables a bench process (and a gunicorn it starts) runs with."""
    return {
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url(),
        "CELERY_BROKER_URL": redis_url(),
        "CELERY_RESULT_BACKEND": redis_url(),
        # DEBUG is off by default now; a bench on this machine runs like the demo, unless told otherwise.
        "DEBUG": os.environ.get("DEBUG", "1"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }


def _psycopg_url(url: str, dbname: str | None = None) -> str:
    parsed = urlparse(url)
    path = f"/{dbname}" if dbname is not None else parsed.path
    return urlunparse(parsed._replace(scheme="postgresql", path=path))


def ensure_database_exists(url: str | None = None) -> bool:
    """Create the bench database with PostGIS when it is missing; True when it was created."""
    import psycopg

    url = url or database_url()
    name = urlparse(url).path.lstrip("/").split("?")[0]
    created = False
    with psycopg.connect(_psycopg_url(url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            print(f"creating database {name}", flush=True)
            conn.execute(f'CREATE DATABASE "{name}"')
            created = True
    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return created


def setup(settings_module: str = "govgrid.settings") -> None:
    """Point Django at the bench database and start it (no seeding: see ``ensure_city``)."""
    os.environ.update(bench_environment())
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    ensure_database_exists()
    import django

    django.setup()


def ensure_city() -> None:
    """Migrate, then seed Foshan and the categories when they are missing. Idempotent."""
    from django.core.management import call_command

    from grids.models import Area

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    if not Area.objects.filter(code=CITY_CODE).exists():
        from grids.seed import seed_city

        print(f"seeding the {PRESET} preset …", flush=True)
        result = seed_city(PRESET)
        print(f"  {result.grids} grids, {result.users} users in {result.elapsed:.1f} s", flush=True)
    ensure_categories()
    analyze_if_never_analyzed()
    elapsed = time.monotonic() - started
    if elapsed > 5:
        print(f"database ready in {elapsed:.1f} s", flush=True)


def analyze_if_never_analyzed() -> None:
    """ANALYZE the tables that have never had statistics.

    With autovacuum off (as on this workplace's PostgreSQL) a freshly seeded city has none, and the
    planner then picks plans that double ``locate_grid``'s time; in production autovacuum analyses a
    bulk-loaded table within a minute or so.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public' "
            "AND last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup > 0 ORDER BY relname"
        )
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            cursor.execute(f'ANALYZE "{table}"')
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    if tables:
        print(f"analysed {len(tables)} tables that had no statistics (autovacuum is {autovacuum})", flush=True)


def ensure_categories() -> None:
    from cases.models import Category

    if Category.objects.filter(parent__isnull=False, is_active=True).exists():
        return
    try:
        from cases.categories_seed import load_categories
    except ImportError:
        load_categories = None
    if load_categories is not None:
        families, leaves = load_categories()
        print(f"loaded {families} category families, {leaves} leaves", flush=True)
        return
    family, _ = Category.objects.get_or_create(code=FALLBACK_FAMILY, defaults={"name": "基准测试"})
    Category.objects.get_or_create(
        code=FALLBACK_LEAF,
        defaults={"name": "基准测试事件", "parent": family, "time_limit": 4, "time_unit": "working_hours"},
    )
    print("cases.categories_seed is not there: created one bench leaf category", flush=True)


def leaf_category():
    """The leaf the benches report in: 暴露垃圾 when the seed categories are loaded."""
    from cases.models import Category

    leaves = Category.objects.filter(parent__isnull=False, is_active=True)
    return leaves.filter(code=PREFERRED_LEAF).first() or leaves.order_by("code").first()


def flush_bench_redis() -> None:
    """Drop the Celery messages the app enqueued during a bench (its own Redis database only)."""
    import redis

    url = redis_url()
    if url == "redis://127.0.0.1:6379/0" or urlparse(url).path in ("", "/", "/0"):
        print("BENCH_REDIS_URL is Redis database 0: not flushing it", flush=True)
        return
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        keys = client.dbsize()
        client.flushdb()
        print(f"flushed {keys} keys from the bench Redis database ({url})", flush=True)
    except redis.RedisError as exc:
        print(f"could not flush the bench Redis database: {exc}", flush=True)


# --- figures -------------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summary_ms(samples_seconds: Sequence[float]) -> dict[str, float]:
    values = sorted(s * 1000 for s in samples_seconds)
    return {
        "n": len(values),
        "p50": percentile(values, 0.50),
        "p99": percentile(values, 0.99),
        "mean": statistics.fmean(values) if values else float("nan"),
        "max": values[-1] if values else float("nan"),
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def system_busy_seconds() -> float:
    """CPU seconds all cores have spent busy (not idle, not waiting on I/O) since boot."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def others_line(busy_seconds: float, own_seconds: float, wall_seconds: float) -> str:
    """How much of the machine other processes took while a bench ran: its figures depend on it."""
    others = max(0.0, busy_seconds - own_seconds) / wall_seconds if wall_seconds else 0.0
    return (f"other processes on this machine used {others:.2f} of its {os.cpu_count()} cores meanwhile"
            + (" — figures are depressed by them" if others > 0.25 else ""))


def machine_line() -> str:
    import platform

    return f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"


# --- the summary table (bench/summary.py) ---------------------------------------------------------

RESULTS_DIR = REPO / "var" / "bench"


def record(name: str, figures: dict, *, others_cores: float | None = None) -> Path:
    """Keep a bench's headline figures in ``var/bench/NAME.json`` for ``bench/summary.py``.

    ``others_cores``: how many cores other processes took meanwhile (figures are depressed above ~0.25).
    """
    import json
    from datetime import datetime

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    data = {**figures, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_other_cores": None if others_cores is None else round(others_cores, 2),
            "load_average": os.getloadavg()[0]}
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=float) + "\n")
    return path


def recorded(name: str) -> dict:
    """What ``record`` kept last for NAME ({} when nothing)."""
    import json

    path = RESULTS_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def others_cores(busy_seconds: float, own_seconds: float, wall_seconds: float) -> float:
    """The figure ``others_line`` words: cores other processes took while a bench ran."""
    return max(0.0, busy_seconds - own_seconds) / wall_seconds if wall_seconds else 0.0
