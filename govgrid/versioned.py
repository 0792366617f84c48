"""Per-process caches of small tables that every report reads and few people change: the centres,
the case categories, the emergency activations, each user's scope.

Each cache has a name and a version number kept in Redis. A write to one of its tables bumps the
version (``bump``: at once, in this process and in Redis, and again when the transaction commits, so
a process that reloaded in between, before the commit, reloads once more). A read checks the version
in Redis (one MGET for all of them per web request, no SQL) and reloads from the database when it
moved, when the entry is older than ``max_age`` seconds (a bump lost while Redis was down), or when
Redis cannot be reached (then the database answers every time and the cache is dropped). So a change
is seen by every process on its next request; nothing here is ever more than ``max_age`` seconds stale.

Signals connect the tables to their caches (``govgrid.apps``); writes that bypass signals
(``QuerySet.update``) on these tables call ``bump`` themselves.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.db import transaction

PREFIX = "govgrid:version:"
MAX_KEYS = 20_000  # a keyed cache (scopes per user) is emptied when it grows past this

_local: dict[str, int] = {}
_caches: list[Versioned] = []
_client = None
_client_lock = threading.Lock()


def _redis():
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                import redis

                _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.25,
                                               socket_connect_timeout=0.25)
    return _client


# Within one web request the versions are read once, all of them in one MGET, at the first cache read
# (a report reads four caches: centres, categories, activations, the reporter's scope). A bump made by
# the request itself is seen through ``_local``. Outside requests (workers, commands) every read asks.
# The memo is per thread and at most REQUEST_MEMO_SECONDS old, so a long request (or async requests
# sharing a thread in the ASGI process) never holds versions longer than that.
REQUEST_MEMO_SECONDS = 1.0
_request = threading.local()
_MISSING = object()


def _remote(names: tuple[str, ...]) -> tuple | None:
    memo = getattr(_request, "versions", None)  # None outside a request, else (read at, versions)
    if memo is not None:
        read_at, versions = memo
        fresh = time.monotonic() - read_at < REQUEST_MEMO_SECONDS
        if fresh and versions is _MISSING:
            return None
        if fresh and all(name in versions for name in names):
            return tuple(versions[name] for name in names)
    wanted = sorted({name for cache in _caches for name in cache.names} | set(names)) if memo is not None \
        else list(names)
    try:
        found = dict(zip(wanted, _redis().mget([PREFIX + name for name in wanted]), strict=True))
    except Exception:  # Redis down or slow: no cache, the database answers
        if memo is not None:
            _request.versions = (time.monotonic(), _MISSING)
        return None
    if memo is not None:
        _request.versions = (time.monotonic(), found)
    return tuple(found[name] for name in names)


def _request_started(**kwargs) -> None:
    _request.versions = (0.0, {})


def _request_finished(**kwargs) -> None:
    _request.versions = None


def _incr(name: str) -> None:
    # If Redis is down the entry ages out after max_age, and readers that cannot reach Redis skip the cache.
    with contextlib.suppress(Exception):
        _redis().incr(PREFIX + name)


def bump(*names: str) -> None:
    """The tables behind these caches changed (or are about to, in this transaction)."""
    for name in names:
        _local[name] = _local.get(name, 0) + 1
        _incr(name)

    def again() -> None:
        for name in names:
            _local[name] = _local.get(name, 0) + 1
            _incr(name)

    transaction.on_commit(again)


def clear_all() -> None:
    """Drop every cached value of this process (tests: each starts from the database)."""
    for cache in _caches:
        cache.clear()


class Versioned:
    """A value (or values by key) loaded from the database, checked against the versions ``names``."""

    def __init__(self, *names: str, max_age: float = 60.0) -> None:
        self.names = names
        self.max_age = max_age
        self._entries: dict[Hashable, tuple[Any, float, Any]] = {}
        self._lock = threading.Lock()
        _caches.append(self)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, load: Callable[[], Any], key: Hashable = None) -> Any:
        remote = _remote(self.names)
        if remote is None:
            self.clear()
            return load()
        version = (remote, tuple(_local.get(name, 0) for name in self.names))
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version and now - entry[1] < self.max_age:
            return entry[2]
        value = load()
        with self._lock:
            if len(self._entries) >= MAX_KEYS:
                self._entries.clear()
            self._entries[key] = (version, now, value)
        return value


# Which tables feed which caches. Connected in GovgridConfig.ready.
WATCHED = {
    "grids.Centre": ("centres", "scope"),
    "grids.Area": ("centres", "scope"),
    "grids.Membership": ("scope",),
    "cases.Category": ("categories",),
    "cases.Activation": ("activations",),
}


def connect() -> None:
    from django.apps import apps
    from django.core.signals import request_finished, request_started
    from django.db.models.signals import post_delete, post_save

    request_started.connect(_request_started, dispatch_uid="versioned:request_started")
    request_finished.connect(_request_finished, dispatch_uid="versioned:request_finished")

    for label, names in WATCHED.items():
        model = apps.get_model(label)

        def changed(sender, names=names, **kwargs) -> None:
            bump(*names)

        uid = f"versioned:{label}"
        post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid + ":save")
        post_delete.connect(changed, sender=model, weak=False, dispatch_uid=uid + ":delete")
