"""The current time, with a way to run code at another moment.

Actions read the time here. Production never sets it; the demo-city generator does, to play a
month of cases through the real actions with past timestamps (tests use time_machine instead).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_simulated: ContextVar[datetime | None] = ContextVar("simulated_now", default=None)


def now() -> datetime:
    return _simulated.get() or timezone.now()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    if timezone.is_naive(moment):
        raise ValueError("clock.at() needs an aware datetime")
    token = _simulated.set(moment)
    try:
        yield
    finally:
        _simulated.reset(token)
