"""Project-wide tasks."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from govgrid.health import BEAT_KEY, redis_client


@shared_task(ignore_result=True)
def beat_heartbeat() -> str:
    """Beat sends this every 30 s; a worker stores the time, so /healthz can tell beat and worker live."""
    now = timezone.now().isoformat()
    redis_client().set(BEAT_KEY, now, ex=600)
    return now
