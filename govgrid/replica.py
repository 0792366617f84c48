"""Reads that scale out: dashboards, reports, exports and case lists may read from a streaming replica.

With ``DATABASE_REPLICA_URL`` set, the ``replica`` database exists and govgrid.db_router sends a read
there only when all of these hold, and to the primary (``default``) otherwise:

* the code runs inside ``use_replica()``: a view marked ``@replica_reads`` (reports and dashboards,
  their API, the case lists) or a job run through ``reads_on_replica`` (exports). Everything else —
  every action, every access check before a write, every page not marked — reads the primary;
* no transaction is open on the primary (``transaction.atomic``): what a transaction reads it may write;
* the user has not written in the last ``READ_YOUR_WRITES_SECONDS`` (read-your-writes: someone who
  just dispatched a case and opens the board sees it dispatched). ``ReadYourWritesMiddleware`` notes a
  write for every successful POST, PUT, PATCH or DELETE, in the cache, so every web process knows;
* the replica answers and is at most ``REPLICA_MAX_LAG_SECONDS`` behind. Its lag is measured on the
  replica at most every ``REPLICA_CHECK_SECONDS`` per process; an unreachable replica is left alone for
  ``REPLICA_RETRY_SECONDS``. A replica that fails in the middle of a request (or cancels a long read
  that conflicts with replay) costs a second run of that read-only view on the primary, never a 500.

The decision is taken once when the block is entered, so one page reads one database throughout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connections

logger = logging.getLogger("govgrid.replica")

REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
T = TypeVar("T")

_reads_on_replica: ContextVar[bool] = ContextVar("govgrid_reads_on_replica", default=False)

# How far behind the replica is, in seconds. Replayed all it received while streaming from the primary
# counts as caught up: with an idle primary the time since the last replayed commit grows without the
# replica missing anything. Off the stream (or without the right to see its state: pg_read_all_stats),
# the time since the last replayed commit is the measure, which can only overstate the lag.
LAG_SQL = """
SELECT pg_is_in_recovery(),
       pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
           AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'),
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
"""


def configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """Where a read goes now (govgrid.db_router)."""
    if _reads_on_replica.get() and not connections["default"].in_atomic_block:
        return REPLICA
    return "default"


def read_connection():
    """The connection a raw-SQL read goes to (``django.db.connection`` is always the primary's)."""
    return connections[read_alias()]


# --- read-your-writes ------------------------------------------------------------------------------------


def _wrote_key(user_id: Any) -> str:
    return f"replica:wrote:{user_id}"


def _user_id(user: Any) -> Any:
    if user is None or isinstance(user, int):
        return user
    return user.pk if getattr(user, "is_authenticated", False) else None


def note_write(user: Any) -> None:
    """``user`` (a user or a user id) has just written: their reads go to the primary for a while."""
    user_id = _user_id(user)
    if user_id is None or not settings.READ_YOUR_WRITES_SECONDS:
        return
    try:
        cache.set(_wrote_key(user_id), 1, timeout=settings.READ_YOUR_WRITES_SECONDS)
    except Exception:  # Redis down: the write stands; its author may read the replica for a moment
        logger.warning("could not note a write of user %s", user_id, exc_info=True)


def wrote_recently(user: Any) -> bool:
    user_id = _user_id(user)
    if user_id is None:
        return False
    try:
        return cache.get(_wrote_key(user_id)) is not None
    except Exception:  # not known: the primary is always right
        return True


# --- the replica's health -----------------------------------------------------------------------------------

_probe: dict[str, Any] = {"at": float("-inf"), "ready": False, "hold": 0.0}


def _close_replica() -> None:
    with suppress(DatabaseError):
        connections[REPLICA].close()


def replica_lag() -> float | None:
    """Seconds the replica is behind the primary; None when it cannot be reached."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, caught_up, seconds = cursor.fetchone()
    except DatabaseError:
        logger.warning("the read replica does not answer: reading from the primary", exc_info=True)
        _close_replica()
        return None
    if not in_recovery or caught_up:
        return 0.0
    return float("inf") if seconds is None else max(0.0, seconds)


def replica_ready(*, fresh: bool = False) -> bool:
    """The replica answers and is at most REPLICA_MAX_LAG_SECONDS behind (measured at most every
    REPLICA_CHECK_SECONDS in this process, or now when ``fresh``)."""
    now = time.monotonic()
    if not fresh and now - _probe["at"] < _probe["hold"]:
        return _probe["ready"]
    lag = replica_lag()
    ready = lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
    hold = settings.REPLICA_CHECK_SECONDS if lag is not None else settings.REPLICA_RETRY_SECONDS
    _probe.update(at=time.monotonic(), ready=ready, hold=hold)
    return ready


# --- marking code replica-eligible -------------------------------------------------------------------------


@contextmanager
def use_replica(user: Any = None) -> Iterator[bool]:
    """Reads inside may go to the replica, unless ``user`` (a user or an id) has just written or the
    replica is down or too far behind. Yields whether they do."""
    on = configured() and not wrote_recently(user) and replica_ready()
    token = _reads_on_replica.set(on)
    try:
        yield on
    finally:
        _reads_on_replica.reset(token)


@contextmanager
def use_primary() -> Iterator[None]:
    """Reads inside go to the primary, even inside ``use_replica()``."""
    token = _reads_on_replica.set(False)
    try:
        yield
    finally:
        _reads_on_replica.reset(token)


def reads_on_replica(call: Callable[[], T], user: Any = None) -> T:
    """``call()`` with its reads on the replica where allowed. It must only read the database (a job may
    write files or the cache): when the replica fails under it, it runs again on the primary."""
    if not configured():
        return call()
    with use_replica(user) as on:
        if not on:
            return call()
        try:
            return call()
        except (OperationalError, InterfaceError) as error:
            # 40001 on a read: the replica cancelled it, as replaying the primary's changes needed what it
            # held (a long export past max_standby_streaming_delay). The primary can answer it.
            cancelled = getattr(error.__cause__, "sqlstate", None) == "40001"
            _close_replica()
            if not cancelled and replica_ready(fresh=True):
                raise  # the replica is fine: the failure was the primary's
            logger.warning("the read replica failed during a read (%s): running it again on the primary", error)
    with use_primary():
        return call()


def replica_reads(view: Callable[..., T]) -> Callable[..., T]:
    """A read-only view (a function, or a method of a class-based view) whose reads may go to the
    replica. Put it inside the login and permission checks: who the user is comes from the primary."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        request = args[0] if hasattr(args[0], "method") else args[1]
        # A POST to such a view (starting an export) writes nothing its author must read back.
        getattr(request, "_request", request).replica_reads = True
        return reads_on_replica(lambda: view(*args, **kwargs), request.user)

    return wrapped


class ReadYourWritesMiddleware:
    """Notes each successful change a signed-in user makes (POST, PUT, PATCH, DELETE below 400), so
    that user reads the primary for READ_YOUR_WRITES_SECONDS. Installed with the replica only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (request.method not in SAFE_METHODS and response.status_code < 400
                and not getattr(request, "replica_reads", False)):
            note_write(getattr(request, "user", None))
        return response
