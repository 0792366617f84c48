"""Celery tasks of the reports: thin wrappers (DESIGN.md §3)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from reports import actions


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=600, max_retries=5,
             acks_late=True)
def rebuild_counters() -> dict[str, int | bool]:
    """Nightly: recompute the counters from the timeline, log and keep the drift, repair it.

    Idempotent: a second run finds nothing to repair. Actions are never blocked (reports.rebuild).
    """
    result = actions.rebuild_counters(actor=None)
    return {
        "cases": result.cases, "events": result.events, "daily_rows": result.daily_rows,
        "area_rows": result.area_rows, "states": result.states, "cells": result.cells, "repaired": result.repaired,
    }


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=600, max_retries=5,
             acks_late=True)
def roll_up_counters() -> dict[str, int | str]:
    """Nightly, after the rebuild: days before the daily window folded into monthly counters.

    Idempotent: a second run finds no daily row left before the window (reports.rollup).
    """
    result = actions.roll_up_counters(actor=None)
    return {
        "before": result.before.isoformat(), "daily_rows": result.daily_rows, "area_rows": result.area_rows,
        "monthly_rows": result.monthly_rows, "area_monthly_rows": result.area_monthly_rows,
    }
