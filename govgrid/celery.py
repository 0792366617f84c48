"""The Celery app: one per project, queues named for their work, beat schedule in code."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.schedules import crontab
from celery.worker import consumer
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govgrid.settings")
logger = logging.getLogger(__name__)

app = Celery("govgrid")
app.config_from_object("django.conf:settings", namespace="CELERY")


class Consumer(consumer.Consumer):
    """Celery's consumer, surviving the loss of Redis with tasks in flight.

    On a lost connection Celery 5.7 collects the broker connection, then closes it. Whatever then
    talks through the old channel (the close restoring unacknowledged messages; the ack of a task
    that was running, once it ends) finds its transport gone and raises AttributeError, which Celery
    does not take for a connection error: the whole worker stopped ("Unrecoverable error") instead
    of reconnecting (make faults, Redis stopped for 20 s). Here it counts as one: the close's error
    is logged and dropped, and an ack that cannot be sent is logged (Celery's "Couldn't ack") and
    left undone; the message stays in Redis's unacked set and is delivered again after the
    visibility timeout, which the idempotent tasks allow (and the reconcile jobs come sooner).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection_errors = (*self.connection_errors, AttributeError)

    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:
            close = connection.close

            def close_ignoring_a_collected_transport() -> None:
                try:
                    close()
                except AttributeError:
                    logger.warning("closing the lost broker connection failed; reconnecting anyway", exc_info=True)

            connection.close = close_ignoring_a_collected_transport
        super().on_connection_error_after_connected(exc)


app.conf.worker_consumer = "govgrid.celery:Consumer"

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
    # Emergency mode: a subtree's re-plan runs with the sweeps, its announcements with the notifications.
    "cases.tasks.replan_*": {"queue": "sweeps"},
    "cases.tasks.expire_*": {"queue": "sweeps"},
    "cases.tasks.refresh_*": {"queue": "sweeps"},
    "cases.tasks.announce_*": {"queue": "notifications"},
    "reports.tasks.*": {"queue": "reports"},
    "reports.exports.*": {"queue": "reports"},
    "govgrid.tasks.*": {"queue": "default"},
}
app.conf.beat_schedule = {
    "beat-heartbeat": {"task": "govgrid.tasks.beat_heartbeat", "schedule": 30.0},
    "sweep-deadlines": {"task": "cases.tasks.sweep_deadlines", "schedule": 60.0, "options": {"expires": 55}},
    # The map's summary of open cases per grid (cases.tiles): as old as a cluster tile may be anyway
    # (MAP_TILES_STALE_SECONDS, 30 by default); ~1-2 s of SQL at a million open cases.
    "refresh-map-summary": {"task": "cases.tasks.refresh_map_summary", "schedule": 30.0, "options": {"expires": 25}},
    "reconcile-triage": {"task": "cases.tasks.reconcile_triage", "schedule": 60.0, "options": {"expires": 55}},
    # Both reconcile jobs every minute: after Redis was down, notices are at most a minute or two late.
    "reconcile-notifications": {"task": "cases.tasks.reconcile_notifications", "schedule": 60.0,
                                "options": {"expires": 55}},
    # Emergency activations past their planned end are switched off (and their subtree re-planned).
    "expire-activations": {"task": "cases.tasks.expire_activations", "schedule": 60.0, "options": {"expires": 55}},
    # Activation changes of the last minutes: re-plan and announce again in case their tasks were lost.
    "reconcile-emergency": {"task": "cases.tasks.reconcile_emergency", "schedule": 60.0,
                            "options": {"expires": 55}},
    # Counters against the timeline, at night (CELERY_TIMEZONE is the project's, Asia/Shanghai).
    "rebuild-counters": {"task": "reports.tasks.rebuild_counters", "schedule": crontab(hour=2, minute=30)},
    # Then the days before the daily window are folded into monthly counters (COUNTER_DAILY_RETENTION_DAYS).
    "roll-up-counters": {"task": "reports.tasks.roll_up_counters", "schedule": crontab(hour=3, minute=30)},
    # The previous month's safety report 平安报表 of every town, on the 1st after the night's rebuild.
    "monthly-reports": {"task": "reports.exports.monthly_reports", "schedule": crontab(day_of_month=1, hour=6,
                                                                                      minute=0)},
    # The case events' monthly partitions, three months ahead (cases/partitions.py; idempotent).
    "ensure-event-partitions": {"task": "cases.tasks.ensure_event_partitions", "schedule": crontab(hour=4, minute=0)},
    # Sweep tasks (排查任务): remind grids not yet done before a round's deadline (once per grid and round).
    "remind-sweep-grids": {"task": "cases.tasks.remind_sweep_grids", "schedule": 300.0, "options": {"expires": 290}},


    # Patrols whose phone has sent no position for hours (cases.actions.patrols).
    "sweep-stale-patrols": {"task": "cases.tasks.sweep_stale_patrols", "schedule": 600.0, "options": {"expires": 590}},


    # Disputes: follow-ups on agreements and 复诊 visits due, each morning (cases.actions.disputes).
    "remind-disputes-due": {"task": "cases.tasks.remind_disputes_due", "schedule": crontab(hour=7, minute=0),
                            "options": {"queue": "sweeps"}},
    # Work-plan tasks red or due within PLAN_REMIND_DAYS: their lead units are told (plans).
    "remind-plan-tasks": {"task": "plans.remind_plan_tasks", "schedule": crontab(hour=7, minute=10)},
    # Key persons whose visit is past due, each morning before the grid workers start (parties).
    "mark-overdue-visits": {"task": "parties.mark_overdue_visits", "schedule": crontab(hour=6, minute=30),
                            "options": {"queue": "sweeps"}},
}

app.autodiscover_tasks()
app.autodiscover_tasks(related_name="exports")  # reports/exports.py: export and monthly report tasks
