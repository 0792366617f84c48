"""Celery tasks of the pipeline: thin wrappers over actions and selectors.

All are idempotent (a retried or twice-delivered task changes nothing more), acknowledged late (a
killed worker's task is delivered again: after the broker's visibility timeout, CELERY_BROKER_
TRANSPORT_OPTIONS) and retried with backoff on database trouble. The reconcile jobs make up, within
a minute or two, for tasks that were never sent (Redis down) or died with their worker.
"""

from __future__ import annotations

import time
from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from cases import jobs, notifications, outbox, partitions
from cases.actions import patrols as patrol_actions
from govgrid.tasks import enqueue

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    # Under the visibility timeout: a retry waits in the worker unacknowledged, and one held longer
    # than the timeout would be delivered a second time.
    "retry_backoff_max": 300,
    "max_retries": 8,
    "acks_late": True,
}
# How long one reconcile pass may keep taking batches: under the beat interval (60 s), so passes do
# not pile up behind each other; what is left is the next pass's.
RECONCILE_SECONDS = 45
# Reports (events) younger than this are left to their own triage (notify) task; older ones' was lost.
TRIAGE_GRACE_SECONDS = 30


@shared_task(**RETRY)
def triage_case(case_id: int) -> int:
    """After a report: triage it, and with it the other reports waiting (a batch, oldest first).

    Under a flood of reports one task triages many and their own tasks find nothing left to do, so
    the queue drains at the speed of batches, not of single reports. Returns how many it triaged.
    """
    return len(jobs.triage_reports(case_id))


@shared_task(**RETRY)
def notify_event(event_id: int) -> int:
    """One notification per recipient of the event; the unique (recipient, event) makes retries harmless."""
    return notifications.notify(event_id)


@shared_task(**RETRY)
def notify_events(event_ids: list[int]) -> int:
    return notifications.notify_many(event_ids)


@shared_task(**RETRY)
def sweep_deadlines() -> dict[str, int]:
    """Every minute (beat): move lights, write warnings, escalate overdue unaccepted reports."""
    return jobs.sweep_deadlines()


@shared_task(**RETRY)
def refresh_map_summary() -> dict[str, int]:
    """Every half minute (beat): the open cases per grid that the map's city-scale cluster tiles read."""
    from cases import tiles

    return tiles.refresh_grid_summary()


@shared_task(**RETRY)
def reconcile_triage() -> int:
    """Every minute (beat): triage reports whose triage task never ran (e.g. Redis was down), in
    batches until none is left or the pass has used its time (a backlog of thousands in one pass)."""
    started, total = time.monotonic(), 0
    while time.monotonic() - started < RECONCILE_SECONDS:
        triaged = jobs.triage_reports(batch=500, older_than_seconds=TRIAGE_GRACE_SECONDS)
        total += len(triaged)
        if not triaged:
            break
    return total


@shared_task(**RETRY)
def reconcile_notifications(window_minutes: int = 120, grace_seconds: int = TRIAGE_GRACE_SECONDS) -> int:
    """Every minute (beat): notify for recent events whose notify task never ran, in batches until
    none is left or the pass has used its time.

    Events younger than `grace_seconds` are left to their own task; events older than the window are
    not looked at again (the notification would be stale, and the scan must stay small). Events that
    notify nobody never get a row, so the scan moves on by id rather than asking again.
    """
    started, total, after = time.monotonic(), 0, 0
    now = timezone.now()
    while time.monotonic() - started < RECONCILE_SECONDS:
        event_ids = notifications.events_without_notifications(
            since=now - timedelta(minutes=window_minutes), until=now - timedelta(seconds=grace_seconds),
            after=after,
        )
        if not event_ids:
            break
        total += notifications.notify_many(event_ids)
        after = event_ids[-1]
    return total


@shared_task(**RETRY)
def sweep_stale_patrols() -> int:
    """Every ten minutes (beat): end patrols with no position for hours (PATROL_STALE_HOURS)."""
    return len(patrol_actions.end_stale_patrols())


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


@shared_task(**RETRY)
def remind_sweep_grids() -> int:
    """Grids with a sweep round falling due within SWEEP_REMIND_BEFORE_HOURS (default 2) and targets
    not yet reported get one reminder each (cases.sweeps.SweepReminder, once per task, round and grid)."""
    from django.conf import settings

    from cases.actions.sweeps import remind_sweep_grids as remind

    return remind(before=timedelta(hours=float(getattr(settings, "SWEEP_REMIND_BEFORE_HOURS", 2))))


# --- emergency mode (cases.emergency) --------------------------------------------------------------


@shared_task(**RETRY)
def replan_emergency_clocks(path: str, after: int = 0) -> int:
    """After an activation change: re-plan one batch of the subtree's open cases, then send the next
    batch as its own task. Idempotent (cases.replan): a repeated batch finds its cases already in step."""
    from cases import replan

    count, last = replan.replan_batch(path, after=after)
    if last is not None:
        enqueue(replan_emergency_clocks, path, last)
    return count


@shared_task(**RETRY)
def announce_batch(spec: dict, after: int = 0) -> int:
    """One batch of an announcement (cases.announcements), then the next batch as its own task."""
    from cases import announcements

    told, last = announcements.deliver_batch(spec, after=after)
    if last is not None:
        enqueue(announce_batch, spec, last)
    return told


def enqueue_announcement(spec: dict) -> None:
    enqueue(announce_batch, spec, 0)


@shared_task(**RETRY)
def reconcile_emergency(window_minutes: int = 10, grace_seconds: int = TRIAGE_GRACE_SECONDS) -> int:
    """Every minute (beat): for activation changes of the last minutes, re-plan the subtree and tell the
    people whose notice is missing — both idempotent — in case their tasks were lost (Redis down)."""
    from cases import replan
    from cases.actions import emergency
    from cases.models import Notification
    from govgrid import clock

    now = clock.now()
    done = 0
    for event in emergency.changes_to_catch_up(since=now - timedelta(minutes=window_minutes),
                                               until=now - timedelta(seconds=grace_seconds)):
        after: int | None = 0
        while after is not None:
            _count, after = replan.replan_batch(event.activation.area_path, after=after)
        if not Notification.objects.filter(key=emergency.announcement_key(event)).exists():
            emergency.announce_change(event)
        done += 1
    return done


@shared_task(**RETRY)
def expire_activations() -> int:
    """Every minute (beat): activations whose planned end has come are switched off by the system."""
    from cases.actions import emergency

    return len(emergency.expire_activations())


@shared_task(**RETRY)
def ensure_event_partitions() -> list[str]:
    """Each night (beat): the case events' partitions of this month and the next three (cases/partitions.py);
    a lock not had within its timeout is an OperationalError, retried with backoff."""
    return partitions.ensure_event_partitions()


def remind_disputes_due() -> int:
    """Each morning (beat): a reminder on every dispute with a follow-up on its agreement or a 复诊 visit
    due (cases.actions.disputes.remind_disputes_due; once per follow-up and visit, so a rerun adds none)."""
    from cases.actions.disputes import remind_disputes_due as remind

    return remind()
