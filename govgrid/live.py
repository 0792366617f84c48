"""The live channel: small events (ids, states, places; no personal data) pushed to the command screens.

Publishing: :func:`publish` (or :func:`publish_many`) is called anywhere; the event goes out after the
surrounding transaction commits (at once when there is none), so a screen never shows what was rolled
back. It appends to one Redis stream (``XADD … MAXLEN ~``, bounded), and never fails the caller: with
Redis down the event is logged and dropped, the report or the sweep goes on (the screens catch up from
their counters, which the database keeps).

Reading: ``live`` is a separate ASGI process (uvicorn, ``govgrid.asgi``) serving only the stream path
(``/live/stream/``, reports/live.py); each client ``XREAD``s the stream from where it left off (its
``Last-Event-ID``, the stream entry id), so a short disconnect misses nothing, and gets only the events
whose area path lies inside the area it watches (cases.access decides which area it may watch).

Kinds and their data (every event also carries ``kind``, ``path`` the area path, and ``at``):

============== =====================================================================================
case_new       a case was reported: ``id number status light category lon lat grid place``
case_status    a case's status moved: the same, with ``from`` (status), ``action``
light          a case's light changed (the deadline sweep): the same, with ``from`` (light), ``stage``
activation     emergency mode (wired by the emergency work): ``id level state`` (on/changed/off),
               ``area`` (code), ``place`` (name)
sweep_progress a sweep task's progress (wired by the sweep work): ``id title done late total``
patrol         a patrol (wired by the patrol work): ``id state`` (started/moved/stopped), ``grid``,
               ``place``, ``lon lat``, ``worker`` (a user id, never a name)
============== =====================================================================================
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from govgrid import clock

log = logging.getLogger("govgrid.live")

KINDS = ("case_new", "case_status", "light", "activation", "sweep_progress", "patrol")


def stream_key() -> str:
    return settings.LIVE_STREAM_KEY


@cache
def _client(url: str) -> redis.Redis:
    # Short timeouts: publishing runs in the web request after commit, and a Redis that does not
    # answer must cost the intake a fraction of a second, not the client library's default wait.
    return redis.Redis.from_url(url, socket_connect_timeout=0.3, socket_timeout=0.5, retry_on_timeout=False)


def client() -> redis.Redis:
    return _client(settings.LIVE_REDIS_URL)


def publish(kind: str, area_path: str, data: dict[str, Any]) -> None:
    """Send one event to the screens watching ``area_path`` (or an area above it), after commit."""
    publish_many([(kind, area_path, data)])


def publish_many(events: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
    """Send events after the transaction commits.

    All the events of one transaction (a sweep batch of hundreds of light changes) go in one round
    trip to Redis: they join the batch this transaction already holds.
    """
    events = list(events)
    for kind, _path, _data in events:
        if kind not in KINDS:
            raise ValueError(f"Unknown live event kind {kind!r}")
    if not events:
        return
    batch = _batch()
    if batch is None:
        send(events)
    else:
        batch.events.extend(events)


class _Batch:
    """The events of one transaction (savepoint level), sent by one on_commit callback."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        # Django's robust on_commit names a failed callback by its __qualname__, which an instance lacks:
        # without this, a failure here became an AttributeError after the commit, and a 500 for a
        # request whose data was committed.
        self.__qualname__ = type(self).__qualname__

    def __call__(self) -> None:
        send(self.events)


def _batch() -> _Batch | None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    # Reuse the batch registered at this savepoint level: a batch registered inside a savepoint is
    # dropped with it when the savepoint rolls back (Django keys on_commit callbacks by savepoint ids).
    here = set(connection.savepoint_ids)
    for savepoints, func, _robust in connection.run_on_commit:
        if isinstance(func, _Batch) and savepoints == here:
            return func
    batch = _Batch()
    # robust: whatever goes wrong in it is logged; the caller's transaction has committed already.
    transaction.on_commit(batch, robust=True)
    return batch


def send(events: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """Append the events to the stream now; returns their ids ([] when Redis is not there: logged)."""
    if not events:
        return []
    at = clock.now().isoformat()
    try:
        pipe = client().pipeline(transaction=False)
        for kind, path, data in events:
            pipe.xadd(stream_key(), {"kind": kind, "path": path, "data": json.dumps({**data, "at": data.get("at", at)},
                                                                                 ensure_ascii=False)},
                      maxlen=settings.LIVE_STREAM_LENGTH, approximate=True)
        return [entry_id.decode() if isinstance(entry_id, bytes) else entry_id for entry_id in pipe.execute()]
    except Exception as exc:  # noqa: BLE001 - best effort: redis-py also raises OSError/ValueError on a broken socket
        log.warning("live: %d event(s) not published (%s: %s)", len(events), type(exc).__name__, exc)
        return []


def last_id() -> str:
    """The id of the newest event, where a page's stream starts: "0-0" when there is none yet, "" when
    Redis is not there (the stream then starts from whatever is newest when it connects, rather than
    replaying all it keeps)."""
    try:
        newest = client().xrevrange(stream_key(), count=1)
    except redis.RedisError:
        return ""
    return _text(newest[0][0]) if newest else "0-0"


def recent(paths: tuple[str, ...] | None, count: int = 30, scan: int = 500) -> list[dict[str, Any]]:
    """The newest ``count`` events inside ``paths`` (None: all), newest first, among the last ``scan``."""
    try:
        entries = client().xrevrange(stream_key(), count=scan)
    except redis.RedisError:
        return []
    found = []
    for entry_id, fields in entries:
        event = decode(entry_id, fields)
        if event is not None and inside(event["path"], paths):
            found.append(event)
            if len(found) >= count:
                break
    return found


def decode(entry_id, fields: dict) -> dict[str, Any] | None:
    """A stream entry as the screens get it: ``{id, kind, path, ...data}``; None if it is not one of ours."""
    fields = {_text(k): _text(v) for k, v in fields.items()}
    try:
        data = json.loads(fields.get("data") or "{}")
    except ValueError:
        return None
    if fields.get("kind") not in KINDS or not isinstance(data, dict):
        return None
    return {**data, "id": data.get("id"), "event_id": _text(entry_id), "kind": fields["kind"],
            "path": fields.get("path", "")}


def inside(path: str, paths: tuple[str, ...] | None) -> bool:
    return paths is None or any(path.startswith(prefix) for prefix in paths)


def older(a: str, b: str) -> bool:
    """Whether stream id ``a`` comes before ``b``."""
    return _parse(a) < _parse(b)


def _parse(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def valid_id(value: str | None) -> str | None:
    """A stream id as a client sent it back (``Last-Event-ID``, ``?after=``), or None."""
    if not value or len(value) > 40:
        return None
    millis, _, seq = value.partition("-")
    if millis.isdigit() and (seq == "" or seq.isdigit()):
        return f"{int(millis)}-{int(seq or 0)}"
    return None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
