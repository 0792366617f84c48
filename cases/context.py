"""The emergency banner (战时) on every page of a user whose scope meets an active activation.

A context processor (settings TEMPLATES) gives ``emergency_banner``: the active activations over or
inside the user's scope, strictest first. The answer is cached per user for BANNER_SECONDS under a
generation number that every activation change bumps (:func:`forget_banners`), so a switch is seen on
the next page and an idle page view costs one cache read.
"""

from __future__ import annotations

import contextlib

from django.core.cache import cache

from govgrid import clock

BANNER_SECONDS = 60
GENERATION_KEY = "emergency:banner-generation"


def forget_banners() -> None:
    """Every cached banner is stale: called after an activation change commits."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, None)
    except Exception:  # noqa: BLE001 - a cache outage: the banners catch up within BANNER_SECONDS
        pass


def active_for(user) -> list[dict]:
    from cases.access import activations_for

    rows = (activations_for(user).active(clock.now()).select_related("area")
            .order_by("level", "-starts_at", "id")[:5])
    return [{"pk": a.pk, "level": a.level, "numeral": a.numeral, "area": a.area.name, "reason": a.reason[:80]}
            for a in rows]


def emergency_banner(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        generation = cache.get(GENERATION_KEY) or 0
        key = f"emergency:banner:{generation}:{user.pk}"
        rows = cache.get(key)
    except Exception:  # noqa: BLE001 - Redis down: read the database, pages still work
        key, rows = None, None
    if rows is None:
        rows = active_for(user)
        if key is not None:
            with contextlib.suppress(Exception):  # a cache outage: read again next time
                cache.set(key, rows, BANNER_SECONDS)
    return {"emergency_banner": rows}
