"""Celery tasks of plans: thin wrappers that call plans.actions."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="plans.remind_plan_tasks")
def remind_plan_tasks() -> int:
    """Each morning (beat): remind the lead unit of every task that is red or due soon."""
    from plans import actions

    return actions.remind_due_tasks()
