"""A fixed-window counter in Redis (INCR + EXPIRE): how many times a key was hit in the current window.

Redis down never refuses an appeal (DESIGN.md §9): the limit is then not applied.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def over_limit(bucket: str, limit: int, window_s: int) -> bool:
    """Count one hit on ``bucket``; True when that hit is over ``limit`` in its ``window_s`` window."""
    window = int(time.time() // window_s)
    key = f"ratelimit:{bucket}:{window}"
    try:
        cache.add(key, 0, timeout=window_s + 1)
        hits = cache.incr(key)
    except Exception:  # noqa: BLE001 (any cache outage: count nothing, refuse nothing)
        logger.warning("rate limit %s not counted: cache unavailable", bucket, exc_info=True)
        return False
    return hits > limit
