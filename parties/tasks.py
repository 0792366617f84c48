"""Celery wrappers of parties' actions (the beat schedule is in govgrid/celery.py)."""

from __future__ import annotations

from celery import shared_task

from parties import actions


@shared_task(name="parties.mark_overdue_visits")
def mark_overdue_visits() -> int:
    """Daily: mark key persons whose visit is past due; their workers' to-do lists read next_visit_due."""
    return len(actions.mark_overdue_visits())
