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
    send is best-effort with nothing to hang on:

    - one connection attempt (refused at once, or `socket_connect_timeout`), where kombu's own
      reconnect loop would sleep up to `broker_connection_timeout` plus an interval (~6 s);
    - no publish retries (`retry=False`);
    - no result (`ignore_result=True`): nobody waits on these, and asking for one makes the Redis
      result backend subscribe to the result channel first, which retries 20 × 1 s when Redis is down.
    """

    def send() -> None:
        try:
            if task.app.conf.task_always_eager:  # no broker at all: run it here
                task.apply_async(args=args)
                return
            with task.app.producer_or_acquire() as producer:
                producer.connection.ensure_connection(max_retries=0)
                task.apply_async(args=args, retry=False, ignore_result=True, producer=producer)
        except Exception:  # the broker is down or unreachable: the sweep will catch up
            logger.warning("could not enqueue %s%r; a reconcile sweep will pick it up", task.name, args,
                           exc_info=True)

    transaction.on_commit(send, robust=True)
