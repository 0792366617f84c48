"""The Celery app: one per project, queues named for their work, beat schedule in code."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govgrid.settings")

app = Celery("govgrid")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Queues by kind of work, so a flood of one (say, a month of report exports) never starves another
# (the minute sweep of deadlines). The Procfile runs the pipeline queue (triage) on a worker of its
# own, so a report's triage never waits behind notifications or an export; at scale each queue gets
# its own workers (README "Scaling out").
QUEUES = ("default", "pipeline", "notifications", "sweeps", "reports")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.conf.task_routes = {
    "cases.tasks.triage_*": {"queue": "pipeline"},
    "cases.tasks.notify_*": {"queue": "notifications"},
    "cases.tasks.sweep_*": {"queue": "sweeps"},
    "cases.tasks.reconcile_*": {"queue": "sweeps"},
    "reports.tasks.*": {"queue": "reports"},
    "reports.exports.*": {"queue": "reports"},
    "govgrid.tasks.*": {"queue": "default"},
}
app.conf.beat_schedule = {
    "beat-heartbeat": {"task": "govgrid.tasks.beat_heartbeat", "schedule": 30.0},
    "sweep-deadlines": {"task": "cases.tasks.sweep_deadlines", "schedule": 60.0, "options": {"expires": 55}},
    "reconcile-triage": {"task": "cases.tasks.reconcile_triage", "schedule": 60.0, "options": {"expires": 55}},
    # Both reconcile jobs every minute: after Redis was down, notices are at most a minute or two late.
    "reconcile-notifications": {"task": "cases.tasks.reconcile_notifications", "schedule": 60.0,
                                "options": {"expires": 55}},
    # Counters against the timeline, at night (CELERY_TIMEZONE is the project's, Asia/Shanghai).
    "rebuild-counters": {"task": "reports.tasks.rebuild_counters", "schedule": crontab(hour=2, minute=30)},
    # The previous month's safety report 平安报表 of every town, on the 1st after the night's rebuild.
    "monthly-reports": {"task": "reports.exports.monthly_reports", "schedule": crontab(day_of_month=1, hour=6,
                                                                                      minute=0)},
    # Key persons whose visit is past due, each morning before the grid workers start (parties).
    "mark-overdue-visits": {"task": "parties.mark_overdue_visits", "schedule": crontab(hour=6, minute=30),
                            "options": {"queue": "sweeps"}},
}

app.autodiscover_tasks()
app.autodiscover_tasks(related_name="exports")  # reports/exports.py: export and monthly report tasks
