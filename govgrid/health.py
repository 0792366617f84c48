"""/healthz: the state of the database, Redis, the Celery workers and beat.

It shares the web workers with everyone else, so it must stay cheap under load: the database gets one
statement with a short timeout, and the workers' ping (a Celery broadcast, up to a second) is asked by
one request at a time and its answer reused for a few seconds.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import redis
from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

BEAT_KEY = "govgrid:beat:last"
BEAT_STALE_SECONDS = 120
DATABASE_TIMEOUT_MS = 2000
WORKERS_FRESH_SECONDS = 10


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def check_database() -> str:
    # A database that answers too slowly counts as down: the timeout ends with this transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(DATABASE_TIMEOUT_MS)])
        cursor.execute("SELECT postgis_lib_version()")
        return f"ok (PostGIS {cursor.fetchone()[0]})"


def check_redis() -> str:
    redis_client().ping()
    return "ok"


def ping_workers() -> str:
    from govgrid.celery import app

    with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
        # limit=1: back as soon as one worker answers, rather than waiting out the timeout for all.
        replies = app.control.ping(timeout=1.0, limit=1, connection=conn)
    if not replies:
        raise RuntimeError("no Celery worker answered a ping")
    return "ok (a worker answered)"


class _Answer:
    """The last ping's answer (detail, or the exception), per broker URL, and when it came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_broker: dict[str, tuple[float, str | None, Exception | None]] = {}


_workers = _Answer()


def check_workers() -> str:
    broker = settings.CELERY_BROKER_URL
    last = _workers.by_broker.get(broker)
    fresh = last is not None and time.monotonic() - last[0] < WORKERS_FRESH_SECONDS
    # One request pings at a time; the others take the last answer rather than queue behind it.
    if not fresh and _workers.lock.acquire(blocking=last is None):
        try:
            try:
                last = (time.monotonic(), ping_workers(), None)
            except Exception as exc:
                last = (time.monotonic(), None, exc)
            _workers.by_broker[broker] = last
        finally:
            _workers.lock.release()
    assert last is not None
    _, detail, error = last
    if error is not None:
        raise error
    return detail or "ok"


def check_beat() -> str:
    last = redis_client().get(BEAT_KEY)
    if last is None:
        raise RuntimeError("no beat heartbeat recorded")
    age = (timezone.now() - datetime.fromisoformat(last.decode())).total_seconds()
    if age > BEAT_STALE_SECONDS:
        raise RuntimeError(f"last beat heartbeat {int(age)} s ago")
    return f"ok ({int(age)} s ago)"


CHECKS = {"database": check_database, "redis": check_redis, "workers": check_workers}


@never_cache
def healthz(request):
    """200 when every part is up, 503 naming the parts that are not.

    Beat is reported but not required: a freshly started stack has no heartbeat for up to 30 s, and
    a web node should not be taken out of a load balancer because beat runs elsewhere.
    """
    parts: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        try:
            parts[name] = {"ok": True, "detail": check()}
        except Exception as exc:  # every failure is a finding here, not a crash
            parts[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    if parts["redis"]["ok"]:
        try:
            parts["beat"] = {"ok": True, "detail": check_beat()}
        except Exception as exc:
            parts["beat"] = {"ok": False, "detail": str(exc)}
    failing = [name for name, part in parts.items() if not part["ok"] and name in CHECKS]
    body = {"status": "ok" if not failing else "fail", "failing": failing, "checks": parts}
    return JsonResponse(body, status=200 if not failing else 503)
