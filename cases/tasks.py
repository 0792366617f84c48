"""Celery tasks of the pipeline: thin wrappers over actions and selectors.

All are idempotent (a retried or twice-delivered task changes nothing more), acknowledged late (a
killed worker's task is delivered again) and retried with backoff on database trouble.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from cases import jobs, notifications, outbox
from govgrid.tasks import enqueue

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 8,
    "acks_late": True,
}


@shared_task(**RETRY)
def triage_case(case_id: int) -> int | None:
    """After a report: suggested lead department and duplicate candidates."""
    case = jobs.triage_case(case_id)
    return case.suggested_department_id


@shared_task(**RETRY)
def notify_event(event_id: int) -> int:
    """One notification per recipient of the event; the unique (recipient, event) makes retries harmless."""
    return notifications.notify(event_id)


@shared_task(**RETRY)
def notify_events(event_ids: list[int]) -> int:
    return sum(notifications.notify(event_id) for event_id in event_ids)


@shared_task(**RETRY)
def sweep_deadlines() -> dict[str, int]:
    """Every minute (beat): move lights, write warnings, escalate overdue unaccepted reports."""
    return jobs.sweep_deadlines()


@shared_task(**RETRY)
def reconcile_triage() -> int:
    """Every minute (beat): triage reports whose triage task never ran (e.g. Redis was down)."""
    case_ids = jobs.cases_needing_triage()
    for case_id in case_ids:
        jobs.triage_case(case_id)
    return len(case_ids)


@shared_task(**RETRY)
def reconcile_notifications(window_minutes: int = 120, grace_seconds: int = 120) -> int:
    """Every five minutes (beat): notify for recent events whose notify task never ran.

    Events younger than `grace_seconds` are left to their own task; events older than the window are
    not looked at again (the notification would be stale, and the scan must stay small).
    """
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    event_ids = notifications.events_without_notifications(
        since=now - timedelta(minutes=window_minutes), until=now - timedelta(seconds=grace_seconds)
    )
    return sum(notifications.notify(event_id) for event_id in event_ids)


# The outbox hooks (cases.outbox): actions write events, these send the tasks after commit.
@outbox.on_events
def _enqueue_notifications(event_ids: list[int]) -> None:
    if len(event_ids) == 1:
        enqueue(notify_event, event_ids[0])
    else:
        enqueue(notify_events, event_ids)


@outbox.on_report
def _enqueue_triage(case_id: int) -> None:
    enqueue(triage_case, case_id)
