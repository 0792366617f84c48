"""Project-wide tasks."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from govgrid.health import BEAT_KEY, redis_client


@shared_task(ignore_result=True)
def beat_heartbeat() -> str:
    """Beat sends this every 30 s; a worker stores the time, so /healthz can tell beat and worker live."""
    now = timezone.now().isoformat()
    redis_client().set(BEAT_KEY, now, ex=600)
    return now


logger = logging.getLogger(__name__)


def enqueue(task, *args) -> None:
    """Send `task` after the current transaction commits, and never fail the caller because of it.

    A web request must answer 2xx once its data is committed, whether or not Redis is reachable:
    a lost message is found again by a reconcile sweep (e.g. cases.tasks.reconcile_triage), so the
    send is best-effort with no publish retries to hang on.
    """

    def send() -> None:
        try:
            task.apply_async(args=args, retry=False)
        except Exception:  # the broker is down or unreachable: the sweep will catch up
            logger.warning("could not enqueue %s%r; a reconcile sweep will pick it up", task.name, args,
                           exc_info=True)

    transaction.on_commit(send, robust=True)
