"""System jobs of the pipeline, run by Celery: triage of new reports and the deadline sweep.

They are not user actions (no actor, no page, no endpoint) but write through the same machinery:
the case lock, the table's rows (``triage``, ``escalate`` with the system as actor, ``light``), one
event each, and the outbox.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.contrib.gis.measure import D
from django.db import connection
from django.utils.translation import gettext as _

from cases import deadlines, outbox
from cases.actions._base import lock, notify_listeners, now, parent_centre, record, recording, save
from cases.actions.clocks import move_to_centre
from cases.choices import OPEN_STATUSES, Action, Light, Stage, Status
from cases.models import Case, CaseEvent
from cases.selectors import suggest_lead_department


def triage_case(case_id: int) -> Case:
    """Suggest a lead department and possible duplicates for a new report. Idempotent."""
    with recording():
        case = lock(case_id)
        if case.triaged_at is not None:
            return case
        department = suggest_lead_department(case)
        radius = case.category.duplicate_radius_m or 50
        # A degree box prefilter that uses the GiST index, then the exact distance on the sphere.
        degrees = radius / 111_320 / max(0.2, math.cos(math.radians(case.location.y)))
        duplicates = list(
            Case.objects.filter(
                category=case.category, status__in=OPEN_STATUSES,
                reported_at__gte=case.reported_at - timedelta(hours=72), location__dwithin=(case.location, degrees),
            )
            .filter(location__distance_lte=(case.location, D(m=radius)))
            .exclude(pk=case.pk)
            .order_by("reported_at")
            .values_list("pk", flat=True)[:20]
        )
        case.triaged_at = now()
        case.suggested_department = department
        save(case, "triaged_at", "suggested_department")
        if duplicates:
            case.duplicate_candidates.set(duplicates)
        record(case, Action.TRIAGE, None, from_status=case.status,
               payload={"suggested_department": department.pk if department else None, "duplicates": duplicates})
        return case


def cases_needing_triage(*, older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Reports whose triage never ran (the task was lost, e.g. Redis was down when they came in)."""
    cutoff = now() - timedelta(seconds=older_than_seconds)
    return list(
        Case.objects.filter(triaged_at__isnull=True, reported_at__lte=cutoff)
        .order_by("reported_at")
        .values_list("pk", flat=True)[:limit]
    )


def sweep_deadlines(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Move lights whose next change has come, and escalate unaccepted overdue reports.

    Reads only rows with `next_check_at <= now` (partial index), so an idle sweep over a million
    open cases is one index probe. Rows are claimed with SKIP LOCKED, so two sweeps never
    double-process a case and an action in flight is never waited for.
    """
    from cases.actions._base import now as clock_now

    now = now or clock_now()
    totals = {"yellow": 0, "red": 0, "escalated": 0}
    while True:
        with recording():
            rows = list(
                Case.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
                .filter(next_check_at__lte=now)
                .select_related("category", "centre__area")
                .defer("location", "centre__area__boundary", "centre__area__centroid")
                .order_by("next_check_at")[:batch]
            )
            if not rows:
                return totals
            events, changed = [], []
            for case in rows:
                new_light = deadlines.light_at(now, case.warn_at, case.due_at)
                if (new_light == Light.RED and case.stage == Stage.ACCEPT and case.status == Status.REPORTED
                        and case.centre.level > 1 and parent_centre(case.centre) is not None):
                    move_to_centre(case, parent_centre(case.centre), Action.ESCALATE, None,
                                   _("Not accepted in time at %(centre)s.") % {"centre": case.centre.name})
                    totals["escalated"] += 1
                    continue
                previous = case.light
                case.light = new_light
                case.next_check_at = deadlines.next_check(new_light, case.warn_at, case.due_at)
                changed.append(case)
                if new_light != previous:
                    totals[new_light] = totals.get(new_light, 0) + 1
                    events.append(CaseEvent(
                        case=case, at=now, action=Action.LIGHT, from_status=case.status, to_status=case.status,
                        payload={"stage": case.stage, "from": previous, "to": new_light,
                                 "due_at": case.due_at.isoformat() if case.due_at else None},
                    ))
            _write_lights(changed)
            CaseEvent.objects.bulk_create(events)
            for event in events:
                notify_listeners(event, event.case)
            outbox.events_written([event.pk for event in events])


def _write_lights(cases: list[Case]) -> None:
    """One UPDATE for the whole batch (bulk_update's CASE WHEN per row costs more than the sweep)."""
    if not cases:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case AS c SET light = u.light, next_check_at = u.next_check_at, updated_at = now() "
            "FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[]) AS u(id, light, next_check_at) "
            "WHERE c.id = u.id",
            [[c.pk for c in cases], [c.light for c in cases], [c.next_check_at for c in cases]],
        )
