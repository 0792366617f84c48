"""System jobs of the pipeline, run by Celery: triage of new reports and the deadline sweep.

They are not user actions (no actor, no page, no endpoint) but write through the same machinery:
the case lock, the table's rows (``triage``, ``escalate`` with the system as actor, ``light``), one
event each, and the outbox.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import deadlines, outbox, pipeline
from cases.actions._base import notify_listeners, now, parent_centre, recording
from cases.actions.clocks import move_to_centre
from cases.choices import OPEN_STATUSES, Action, Light, Stage, Status
from cases.models import Case, CaseEvent
from govgrid.errors import NotFound

# How many reports one triage transaction takes. A report's own task triages it together with the
# reports waiting behind it, so under a flood one task does the work of many (their own tasks then
# find nothing to do); the reconcile job takes the same batches, oldest first, until none is left.
TRIAGE_BATCH = 200
# Duplicate candidates: reports of the same category within this window before the new one (any later
# one too), within the category's radius, open; at most this many, oldest first.
DUPLICATE_WINDOW = timedelta(hours=72)
DUPLICATE_LIMIT = 20
DEFAULT_DUPLICATE_RADIUS_M = 50


def triage_case(case_id: int) -> Case:
    """Suggest a lead department and possible duplicates for one new report. Idempotent.

    Waits for the case's lock (an action in flight on it) and triages it alone; NotFound when there
    is no such case.
    """
    with recording():
        claimed = list(_untriaged().filter(pk=case_id))
        if not claimed and not Case.objects.filter(pk=case_id).exists():
            raise NotFound(_("No such case."))
        _triage(claimed)
    return Case.objects.select_related("suggested_department").get(pk=case_id)


def triage_reports(case_id: int | None = None, *, batch: int | None = None,
                   older_than_seconds: int = 0) -> list[int]:
    """Triage ``case_id`` (when given and not triaged yet) and up to ``batch`` untriaged reports in all,
    oldest first (``batch`` defaults to TRIAGE_BATCH), in one transaction and about ten statements
    whatever the batch size. Idempotent.

    Only ``case_id``'s lock is waited for, and it is taken first, holding nothing else; the others are
    claimed with SKIP LOCKED. So two batches never wait on each other's rows (no deadlock, no
    double triage: the row lock re-reads ``triaged_at``), and a report an action holds right now is
    left for the next batch. ``older_than_seconds`` leaves the youngest reports to their own tasks.
    Returns the ids triaged.
    """
    batch = batch or TRIAGE_BATCH
    with recording():
        claimed = list(_untriaged().filter(pk=case_id)) if case_id is not None else []
        more = batch - len(claimed)
        if more > 0:
            others = _untriaged(skip_locked=True).order_by("reported_at", "id")
            if older_than_seconds:
                others = others.filter(reported_at__lte=now() - timedelta(seconds=older_than_seconds))
            if case_id is not None:
                others = others.exclude(pk=case_id)
            claimed += list(others[:more])
        _triage(claimed)
    return [case.pk for case in claimed]


def _untriaged(*, skip_locked: bool = False):
    # The row alone (no join: see actions._base.lock) and only what triage reads.
    return (Case.objects.select_for_update(no_key=True, skip_locked=skip_locked, of=("self",))
            .filter(triaged_at__isnull=True)
            .only("id", "status", "category_id", "area_path", "location", "reported_at"))


def _triage(cases: list[Case]) -> None:
    """Write the triage of locked, untriaged cases: the suggestion, the duplicate links, one event each."""
    if not cases:
        return
    from cases.models import Category

    at = now()
    ids = [case.pk for case in cases]
    categories = {category.pk: category for category in
                  Category.objects.filter(pk__in={case.category_id for case in cases}).prefetch_related("leads")}
    departments = _suggest_lead_departments(cases, categories)
    duplicates = _duplicate_candidates(cases, categories)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case AS c SET triaged_at = %s, suggested_department_id = u.department_id, "
            "updated_at = %s FROM unnest(%s::bigint[], %s::bigint[]) AS u(id, department_id) WHERE c.id = u.id",
            [at, timezone.now(), ids, [departments.get(pk) for pk in ids]],
        )
    Through = Case.duplicate_candidates.through
    Through.objects.bulk_create(
        [Through(from_case_id=pk, to_case_id=other) for pk in ids for other in duplicates.get(pk, [])],
        ignore_conflicts=True,
    )
    events = CaseEvent.objects.bulk_create([
        CaseEvent(case=case, actor=None, at=at, action=Action.TRIAGE, from_status=case.status,
                  to_status=case.status,
                  payload={"suggested_department": departments.get(case.pk),
                           "duplicates": duplicates.get(case.pk, [])})
        for case in cases
    ])
    for case in cases:
        case.triaged_at, case.suggested_department_id = at, departments.get(case.pk)
    for event in events:
        notify_listeners(event, event.case)
    if pipeline.RULES_BY_EVENT[Action.TRIAGE].notify:
        outbox.events_written([event.pk for event in events])


def _suggest_lead_departments(cases: list[Case], categories: dict) -> dict[int, int | None]:
    """selectors.suggest_lead_department for many cases in two queries: the same choice, case by case."""
    from cases.choices import DispatchRole, DispatchStatus
    from cases.models import Dispatch
    from grids.models import Department

    leads = {pk: {lead.level: lead.department_kind for lead in category.leads.all()}
             for pk, category in categories.items()}
    paths = {case.pk: case.area_path.rstrip("/").split("/") for case in cases}
    codes = {code for path in paths.values() for code in path}
    kinds = {kind for by_level in leads.values() for kind in by_level.values()}
    returned: dict[int, set[int]] = {}
    for case_id, department_id in Dispatch.objects.filter(
            case_id__in=list(paths), role=DispatchRole.LEAD, status=DispatchStatus.RETURNED,
    ).values_list("case_id", "department_id"):
        returned.setdefault(case_id, set()).add(department_id)
    by_code: dict[str, list[tuple[int, str, int]]] = {}
    if codes and kinds:
        for pk, kind, code, level in Department.objects.filter(
                area__code__in=codes, is_active=True, kind__in=kinds,
        ).values_list("pk", "kind", "area__code", "area__level"):
            by_code.setdefault(code, []).append((pk, kind, level))
    suggestions: dict[int, int | None] = {}
    for case in cases:
        by_level = leads.get(case.category_id, {})
        candidates = [
            (pk, kind, level) for code in paths[case.pk] for pk, kind, level in by_code.get(code, ())
            if kind in by_level.values() and pk not in returned.get(case.pk, ())
        ]
        # Most local first; at the same level, an exact (level, kind) match first.
        candidates.sort(key=lambda d: (-d[2], by_level.get(d[2]) != d[1], d[0]))
        suggestions[case.pk] = candidates[0][0] if candidates else None
    return suggestions


def _duplicate_candidates(cases: list[Case], categories: dict) -> dict[int, list[int]]:
    """Open reports of the same category near each case: one query with a LATERAL probe per case.

    A degree box (ST_DWithin on the geometry, which uses the GiST index) prefilters, then the exact
    distance on the sphere; the box is widened by 1/cos(latitude) (floored at 0.2) so it holds the circle.
    """
    ids, degrees, radii = [], [], []
    for case in cases:
        radius = categories[case.category_id].duplicate_radius_m or DEFAULT_DUPLICATE_RADIUS_M
        ids.append(case.pk)
        radii.append(float(radius))
        degrees.append(radius / 111_320 / max(0.2, math.cos(math.radians(case.location.y))))
    found: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.id, d.id FROM unnest(%s::bigint[], %s::float8[], %s::float8[]) AS b(id, degrees, radius) "
            "JOIN cases_case AS c ON c.id = b.id "
            "CROSS JOIN LATERAL ("
            "  SELECT o.id, o.reported_at FROM cases_case AS o"
            "  WHERE o.category_id = c.category_id AND o.status = ANY(%s::varchar[]) AND o.id <> c.id"
            "    AND o.reported_at >= c.reported_at - %s AND ST_DWithin(o.location, c.location, b.degrees)"
            "    AND ST_DistanceSphere(o.location, c.location) <= b.radius"
            "  ORDER BY o.reported_at, o.id LIMIT %s"
            ") AS d ORDER BY b.id, d.reported_at, d.id",
            [ids, degrees, radii, list(OPEN_STATUSES), DUPLICATE_WINDOW, DUPLICATE_LIMIT],
        )
        for case_id, other_id in cursor.fetchall():
            found.setdefault(case_id, []).append(other_id)
    return found


def cases_needing_triage(*, older_than_seconds: int = 60, limit: int = 500) -> list[int]:
    """Reports whose triage never ran (the task was lost, e.g. Redis was down when they came in)."""
    cutoff = now() - timedelta(seconds=older_than_seconds)
    return list(
        Case.objects.filter(triaged_at__isnull=True, reported_at__lte=cutoff)
        .order_by("reported_at")
        .values_list("pk", flat=True)[:limit]
    )


# The columns the sweep reads: the clock, and what its listeners (counters, live screens) use of a case.
SWEEP_FIELDS = ("status", "stage", "light", "warn_at", "due_at", "centre_id", "area_path", "category_id",
                "is_emergency", "is_legacy", "reported_at", "channel", "handle_due_at", "suspended_at")


def sweep_deadlines(*, now: datetime | None = None, batch: int = 1000) -> dict[str, int]:
    """Move lights whose next change has come, and escalate unaccepted overdue reports.

    Reads the cases whose next check has come through the index of the narrow clock table
    (CaseClock, kept in step with `Case.next_check_at` by a trigger), so an idle sweep over a million
    open cases is one index probe. The case rows are claimed with FOR NO KEY UPDATE SKIP LOCKED, the
    lock every action takes: two sweeps never double-process a case, an action in flight is never
    waited for, and the claim re-checks the case's own `next_check_at` on the locked row, so a case an
    action re-planned between the sweep's snapshot and its lock is left alone rather than given a stale
    light.

    A batch costs four statements whatever its size: the claim (only the columns the clock and the
    listeners use), one UPDATE of the lights, one INSERT of the events, the commit. The UPDATE writes
    no index of the case table when the light does not turn red (a HOT update; see Case.is_red); the
    trigger moves the clock rows. A report that may escalate (red, unaccepted, under a centre that has a
    parent) is loaded whole, alone.
    """
    from cases.actions._base import now as clock_now

    now = now or clock_now()
    totals = {"yellow": 0, "red": 0, "escalated": 0}
    while True:
        with recording():
            rows = list(
                Case.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
                .filter(clock__next_check_at__lte=now, next_check_at__lte=now)
                .only(*SWEEP_FIELDS)
                .order_by("clock__next_check_at")[:batch]
            )
            if not rows:
                return totals
            events, changed = [], []
            for case in rows:
                new_light = deadlines.light_at(now, case.warn_at, case.due_at)
                if new_light == Light.RED and case.stage == Stage.ACCEPT and case.status == Status.REPORTED:
                    whole = Case.objects.select_related("category", "centre__area").get(pk=case.pk)
                    above = parent_centre(whole.centre) if whole.centre.level > 1 else None
                    if above is not None:
                        move_to_centre(whole, above, Action.ESCALATE, None,
                                       _("Not accepted in time at %(centre)s.") % {"centre": whole.centre.name})
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
            _insert_light_events(events)
            for event in events:
                notify_listeners(event, event.case)
            outbox.events_written([event.pk for event in events])


def _write_lights(cases: list[Case]) -> None:
    """One UPDATE for the whole batch (bulk_update's CASE WHEN per row costs more than the sweep).

    It sets only unindexed columns (and `is_red` when a light turns red), so PostgreSQL can keep each new
    row version on its page (HOT) without touching the case table's indexes; the clock trigger moves
    or deletes the case's CaseClock row."""
    if not cases:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case AS c SET light = u.light, next_check_at = u.next_check_at, updated_at = now() "
            "FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[]) AS u(id, light, next_check_at) "
            "WHERE c.id = u.id",
            [_array(c.pk for c in cases), _array(c.light for c in cases),
             _array(c.next_check_at.isoformat() if c.next_check_at else None for c in cases)],
        )


def _insert_light_events(events: list[CaseEvent]) -> None:
    """Write the batch's light events (as ``bulk_create`` would: the same rows, the same payload) in one
    INSERT from arrays, and give each its id. The ORM building and quoting a thousand rows of nine values
    cost more than PostgreSQL inserting them (bench/sweep.py)."""
    if not events:
        return
    payloads = [event.payload for event in events]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_caseevent (case_id, actor_id, at, action, from_status, to_status, note, payload) "
            "SELECT u.case_id, NULL, %s, %s, u.status, u.status, '', jsonb_build_object("
            "  'stage', u.stage, 'from', u.light_from, 'to', u.light_to, 'due_at', u.due_at) "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) "
            "  WITH ORDINALITY AS u(case_id, status, stage, light_from, light_to, due_at, n) "
            "ORDER BY u.n RETURNING id, case_id",
            [events[0].at, Action.LIGHT, _array(event.case_id for event in events),
             _array(event.from_status for event in events), _array(p["stage"] for p in payloads),
             _array(p["from"] for p in payloads), _array(p["to"] for p in payloads),
             _array(p["due_at"] for p in payloads)],
        )
        ids = {case_id: pk for pk, case_id in cursor.fetchall()}
    for event in events:
        event.pk = ids[event.case_id]
        event._state.adding = False


def _array(values) -> str:
    """A PostgreSQL array literal of ids, words and ISO timestamps (None is NULL), sent as one string:
    psycopg quoting a list of a thousand values element by element costs more than the statement."""
    return "{" + ",".join(
        "NULL" if value is None else '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        for value in values
    ) + "}"
