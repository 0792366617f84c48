"""Counters kept as cases move: one timeline event → measure deltas → one upsert, in the action's transaction.

``event_deltas`` is the single definition of what an event counts for. The live receiver
(``record_event``, connected to ``cases.actions.event_recorded``) and the nightly rebuild
(``reports.rebuild``) both call it, so they cannot disagree.

What each event counts (day = the event's local date unless said otherwise; "lead" = the case's lead
department at the time, empty before dispatch):

- report / self_resolve / file: reported +1; self_resolved +1 / filed +1 (no department)
- accept / reject / merge / escalate: accepted / rejected / merged / escalated +1 (no department); accept
  and merge also reported_accepted / reported_merged +1 on the day the case was reported
- dispatch: dispatched_cases +1 (lead); dispatched +1 for the lead and each assist (its department)
- return: returned +1 (the returning department), and dispatched_returned +1 on the day of the dispatch
  returned (its department); the lead's return cancels the deadline (below)
- decide_extension, approved: extended +1 (the dispatch's department)
- any event that makes the case handled (the last feedback, or an assist's return): handled +1, or
  rehandled +1 after a rework; handle_minutes += working minutes since the dispatch or rework (lead)
- verify: verified +1, or verify_failed +1 and a rework (lead)
- a rework (failed verification, dissatisfied follow-up): reworked +1 the first time (lead), and
  handled_reworked +1 on the day and department of the case's first handling; the handling clock restarts
- close: closed +1, and closed_on_time +1 when the payload says on_time (lead)
- follow_up: surveyed +1; satisfied +1 or basically_satisfied +1; dissatisfied → a rework, and for a
  closed case reopened +1 while its closed (and closed_on_time) is taken off the day and department
  it was counted on
- supervise: supervised +1 (lead)
- light → red in the handling stage (sent by the sweep): overdue +1 (lead)

Deadline (the cohort of 结案率 and 按期结案率): ``due`` is +1 on the local date of the case's current
handling deadline (``Case.handle_due_at``), for the lead department; on the same day and department,
``due_closed`` +1 while the case is closed (and ``due_closed_on_time`` +1 when that closure was on time),
or else ``due_suspended`` +1 while it is suspended (a closed case is never counted as suspended, so
due_closed ≤ due − due_suspended on any set of days). After every event that can move the deadline or
change those flags (dispatch, sign, return, extension, verify, close, follow-up, suspend, resume) the
entry is recomputed; when it changed, −1 goes to the old one and +1 to the new one. A lead's return
takes it off. The state row remembers where it is and what it counts.

Report-only and legacy cases: ``filed`` counts report-only cases (the rates subtract it); legacy
cases are written with ``legacy = true`` and the KPIs keep them out of every rate.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from typing import Any

from django.db import connection
from django.utils import timezone

from cases import pipeline
from cases.choices import Action, DispatchRole, Satisfaction, Stage, Status
from govgrid import workcalendar
from reports.models import MEASURE_NAMES

M = {name: index for index, name in enumerate(MEASURE_NAMES)}
WIDTH = len(MEASURE_NAMES)

REPORTED, FILED, SELF_RESOLVED = M["reported"], M["filed"], M["self_resolved"]
ACCEPTED, REJECTED, MERGED = M["accepted"], M["rejected"], M["merged"]
REPORTED_ACCEPTED, REPORTED_MERGED = M["reported_accepted"], M["reported_merged"]
DISPATCHED_CASES, DISPATCHED, RETURNED, DISPATCHED_RETURNED, EXTENDED = (
    M["dispatched_cases"], M["dispatched"], M["returned"], M["dispatched_returned"], M["extended"],
)
HANDLED, REHANDLED, HANDLED_REWORKED, HANDLE_MINUTES = (
    M["handled"], M["rehandled"], M["handled_reworked"], M["handle_minutes"],
)
VERIFIED, VERIFY_FAILED, REWORKED, REOPENED = M["verified"], M["verify_failed"], M["reworked"], M["reopened"]
CLOSED, CLOSED_ON_TIME, OVERDUE = M["closed"], M["closed_on_time"], M["overdue"]
DUE, DUE_SUSPENDED, DUE_CLOSED, DUE_CLOSED_ON_TIME = (
    M["due"], M["due_suspended"], M["due_closed"], M["due_closed_on_time"],
)
SURVEYED, SATISFIED, BASICALLY_SATISFIED = M["surveyed"], M["satisfied"], M["basically_satisfied"]
SUPERVISED, ESCALATED = M["supervised"], M["escalated"]

INTAKE_ACTIONS = frozenset({Action.REPORT, Action.SELF_RESOLVE, Action.FILE, Action.ANSWER})
# Events that count for something without needing anything from the case's earlier events.
STATELESS_ACTIONS = INTAKE_ACTIONS | {Action.ACCEPT, Action.REJECT, Action.MERGE, Action.ESCALATE}
# The pipeline table's own counts per timeline action (cases.pipeline: ``Rule.counts``). Measures of the
# centre's stages count for no department; "returned" for the department that returned; the rest for
# the case's lead department.
TABLE_COUNTS: dict[str, tuple[str, ...]] = {}
for _rule in pipeline.RULES:
    TABLE_COUNTS.setdefault(_rule.event, _rule.counts)
CENTRE_MEASURES = frozenset({"reported", "self_resolved", "filed", "accepted", "rejected", "merged", "escalated"})
# Events after which the case's handling deadline may have moved (or been set, or cancelled), or the
# case been closed, reopened, suspended or resumed: what its deadline entry counts.
DUE_ACTIONS = frozenset({
    Action.DISPATCH, Action.SIGN, Action.RETURN, Action.DECIDE_EXTENSION, Action.VERIFY, Action.CLOSE,
    Action.FOLLOW_UP, Action.SUSPEND, Action.RESUME,
})

# Events that count for nothing (and move no deadline): the receiver returns at once. By the table:
# those with no counts of their own, no effect on the handling clock, and no deadline to move.
IGNORED_ACTIONS = frozenset(
    rule.event for rule in pipeline.RULES
    if not TABLE_COUNTS.get(rule.event) and not ({Stage.HANDLE, "*"} & set(rule.clocks))
    and rule.event not in DUE_ACTIONS and rule.event != Action.LIGHT
)

# (day, department id or None, measure index, amount)
Delta = tuple[date, int | None, int, int]


@dataclasses.dataclass(slots=True)
class CaseState:
    """What the mapping remembers about a case between events (stored in ``CaseCounterState``)."""

    lead_department_id: int | None = None
    dispatch_departments: dict[str, int | None] = dataclasses.field(default_factory=dict)
    handle_started_at: datetime | None = None
    rework_count: int = 0
    due_day: date | None = None
    due_department_id: int | None = None
    due_suspended: bool = False
    due_closed: bool = False
    due_closed_on_time: bool = False
    closed_day: date | None = None
    closed_department_id: int | None = None
    closed_on_time: bool | None = None
    handled_day: date | None = None
    handled_department_id: int | None = None
    dispatch_days: dict[str, str] = dataclasses.field(default_factory=dict)  # dispatch id → ISO day

    def copy(self) -> CaseState:
        return dataclasses.replace(self, dispatch_departments=dict(self.dispatch_departments),
                                   dispatch_days=dict(self.dispatch_days))

    def is_empty(self) -> bool:
        return self == EMPTY_STATE


EMPTY_STATE = CaseState()
STATE_FIELDS = tuple(field.name for field in dataclasses.fields(CaseState))
JSON_STATE_FIELDS = ("dispatch_departments", "dispatch_days")


def is_light_overdue(event: Any) -> bool:
    payload = event.payload or {}
    return payload.get("to") == "red" and payload.get("stage") == Stage.HANDLE


def counts_for_nothing(event: Any) -> bool:
    action = event.action
    return action in IGNORED_ACTIONS or (action == Action.LIGHT and not is_light_overdue(event))


def local_day(moment: datetime, tz: tzinfo | None = None) -> date:
    return moment.astimezone(tz or timezone.get_default_timezone()).date()


def working_minutes(start: datetime | None, end: datetime) -> int:
    if start is None:
        return 0
    return max(0, round(workcalendar.working_time_between(start, end).total_seconds() / 60))


def event_deltas(state: CaseState, event: Any, case: Any, tz: tzinfo | None = None) -> list[Delta]:
    """The measure deltas of one event, updating ``state`` in place.

    ``event`` has ``at, action, from_status, to_status, payload`` (a CaseEvent or a row of the
    rebuild). ``case`` has ``reported_at``, ``handle_due_at`` and ``suspended_at``: the case as the action
    left it (live), or as it is now (rebuild). ``reported_at`` never changes; only the deadline entry
    reads the other two, and the entry after a case's last deadline-moving event is the same either
    way, because nothing but those events moves them.
    """
    action = event.action
    day = local_day(event.at, tz)
    out: list[Delta] = []
    add = out.append
    payload = event.payload or {}
    if action == Action.DISPATCH:  # the lead is set before the table's counts are attributed to it
        state.lead_department_id = payload.get("lead")
    lead = state.lead_department_id
    # What the pipeline table says the event counts on its own day, whatever its outcome.
    for name in TABLE_COUNTS.get(action, ()):
        department = None if name in CENTRE_MEASURES else payload.get("department") if name == "returned" else lead
        add((day, department, M[name], 1))
    if action in INTAKE_ACTIONS:
        return out
    if action == Action.ACCEPT:
        add((local_day(case.reported_at, tz), None, REPORTED_ACCEPTED, 1))
    elif action == Action.MERGE:
        add((local_day(case.reported_at, tz), None, REPORTED_MERGED, 1))
    elif action == Action.DISPATCH:
        departments = [lead, *payload.get("assists", [])]
        for pk, department in zip(payload.get("dispatches", []), departments, strict=False):
            state.dispatch_departments[str(pk)] = department
            state.dispatch_days[str(pk)] = day.isoformat()
        state.handle_started_at = event.at
        for department in departments:
            add((day, department, DISPATCHED, 1))
    elif action == Action.RETURN:
        dispatched_on = state.dispatch_days.get(str(payload.get("dispatch")))
        if dispatched_on is not None:  # unknown only for a dispatch made before this measure existed
            add((date.fromisoformat(dispatched_on), state.dispatch_departments.get(str(payload.get("dispatch"))),
                 DISPATCHED_RETURNED, 1))
        if payload.get("role") == DispatchRole.LEAD:
            state.lead_department_id = None
    elif action == Action.DECIDE_EXTENSION:
        if payload.get("approved"):
            add((day, state.dispatch_departments.get(str(payload.get("dispatch"))), EXTENDED, 1))
    elif action == Action.VERIFY:
        if payload.get("passed"):
            add((day, lead, VERIFIED, 1))
        else:
            add((day, lead, VERIFY_FAILED, 1))
            _rework(state, event, day, lead, add)
    elif action == Action.CLOSE:
        on_time = bool(payload.get("on_time"))
        if on_time:
            add((day, lead, CLOSED_ON_TIME, 1))
        state.closed_day, state.closed_department_id, state.closed_on_time = day, lead, on_time
    elif action == Action.FOLLOW_UP:
        satisfaction = payload.get("satisfaction")
        if satisfaction == Satisfaction.SATISFIED:
            add((day, lead, SATISFIED, 1))
        elif satisfaction == Satisfaction.BASIC:
            add((day, lead, BASICALLY_SATISFIED, 1))
        elif satisfaction == Satisfaction.DISSATISFIED:
            if event.from_status == Status.CLOSED and state.closed_day is not None:
                add((day, lead, REOPENED, 1))
                add((state.closed_day, state.closed_department_id, CLOSED, -1))
                if state.closed_on_time:
                    add((state.closed_day, state.closed_department_id, CLOSED_ON_TIME, -1))
                state.closed_day = state.closed_department_id = state.closed_on_time = None
            _rework(state, event, day, lead, add)
    elif action == Action.LIGHT and is_light_overdue(event):
        add((day, lead, OVERDUE, 1))
    if event.to_status == Status.HANDLED and event.from_status != Status.HANDLED:
        if state.rework_count == 0:
            add((day, lead, HANDLED, 1))
            state.handled_day, state.handled_department_id = day, lead
        else:
            add((day, lead, REHANDLED, 1))
        add((day, lead, HANDLE_MINUTES, working_minutes(state.handle_started_at, event.at)))
    if action in DUE_ACTIONS:
        _move_due(state, case, tz, add)
    return out


def _rework(state: CaseState, event: Any, day: date, lead: int | None, add) -> None:
    state.rework_count += 1
    if state.rework_count == 1:
        add((day, lead, REWORKED, 1))
        if state.handled_day is not None:  # a rework always follows a handling; kept safe for old states
            add((state.handled_day, state.handled_department_id, HANDLED_REWORKED, 1))
    state.handle_started_at = event.at


def _due_entry(state: CaseState, case: Any, tz: tzinfo | None) -> tuple | None:
    """(day, department, suspended, closed, closed on time) of the case's deadline entry, or None."""
    if case.handle_due_at is None:
        return None
    closed = state.closed_day is not None
    return (local_day(case.handle_due_at, tz), state.lead_department_id,
            case.suspended_at is not None and not closed, closed, closed and bool(state.closed_on_time))


_DUE_FLAGS = ((2, DUE_SUSPENDED), (3, DUE_CLOSED), (4, DUE_CLOSED_ON_TIME))


def _move_due(state: CaseState, case: Any, tz: tzinfo | None, add) -> None:
    new = _due_entry(state, case, tz)
    old = (
        (state.due_day, state.due_department_id, state.due_suspended, state.due_closed, state.due_closed_on_time)
        if state.due_day is not None else None
    )
    if new == old:
        return
    for entry, sign in ((old, -1), (new, 1)):
        if entry is not None:
            add((entry[0], entry[1], DUE, sign))
            for position, measure in _DUE_FLAGS:
                if entry[position]:
                    add((entry[0], entry[1], measure, sign))
    (state.due_day, state.due_department_id, state.due_suspended, state.due_closed,
     state.due_closed_on_time) = new if new is not None else (None, None, False, False, False)


def sum_deltas(deltas: Iterable[Delta]) -> dict[tuple[date, int | None], list[int]]:
    """Deltas summed per (day, department); rows that sum to nothing are dropped."""
    rows: dict[tuple[date, int | None], list[int]] = {}
    for day, department, measure, amount in deltas:
        row = rows.get((day, department))
        if row is None:
            row = rows[(day, department)] = [0] * WIDTH
        row[measure] += amount
    return {key: row for key, row in rows.items() if any(row)}


def area_codes(area_path: str) -> list[str]:
    return area_path.rstrip("/").split("/")


# --- the live receiver -------------------------------------------------------------------------

_MEASURE_COLUMNS = ", ".join(MEASURE_NAMES)
_SOURCE_COLUMNS = ", ".join(f"s.{name}" for name in MEASURE_NAMES)
_SOURCE_SUMS = ", ".join(f"sum(s.{name})" for name in MEASURE_NAMES)
_ADD_EXCLUDED = ", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in MEASURE_NAMES)
_STATE_COLUMNS = ", ".join(STATE_FIELDS)
_STATE_SET = ", ".join(f"{name} = EXCLUDED.{name}" for name in _STATE_COLUMNS.split(", "))

# Deltas as arrays (one per column) so the statement's text never changes: one plan, any row count.
# Rows are written in one fixed order (area, day, department) so that two transactions adding to the
# same rows lock them in the same order and cannot deadlock.
# Each (day, department) row is added for every area on the case's grid path (looked up by code), to
# DailyCount, and summed per (area, day) into AreaDailyCount.
_COUNTS_CTE = f"""
src AS (
    SELECT * FROM unnest(%(days)s::date[], %(departments)s::bigint[],
                         {", ".join(f"%(m_{name})s::bigint[]" for name in MEASURE_NAMES)})
           AS s(day, department_id, {_MEASURE_COLUMNS})
),
areas AS (SELECT id FROM grids_area WHERE code = ANY(%(codes)s::text[])),
daily AS (
    INSERT INTO reports_dailycount AS t (area_id, day, category_id, department_id, channel, legacy,
                                         {_MEASURE_COLUMNS})
    SELECT a.id, s.day, %(category)s, s.department_id, %(channel)s, %(legacy)s, {_SOURCE_COLUMNS}
    FROM src s CROSS JOIN areas a
    ORDER BY a.id, s.day, s.department_id
    ON CONFLICT (area_id, day, category_id, department_id, channel, legacy) DO UPDATE SET {_ADD_EXCLUDED}
)"""
_COUNTS_TAIL = f"""
INSERT INTO reports_areadailycount AS t (area_id, day, legacy, {_MEASURE_COLUMNS})
SELECT a.id, s.day, %(legacy)s, {_SOURCE_SUMS}
FROM src s CROSS JOIN areas a
GROUP BY a.id, s.day
ORDER BY a.id, s.day
ON CONFLICT (area_id, day, legacy) DO UPDATE SET {_ADD_EXCLUDED}"""
_STATE_VALUES = ", ".join(
    f"%({name})s::jsonb" if name in JSON_STATE_FIELDS else f"%({name})s" for name in STATE_FIELDS
)
_STATE_INSERT = f"""
INSERT INTO reports_casecounterstate (case_id, {_STATE_COLUMNS})
VALUES (%(case)s, {_STATE_VALUES})
ON CONFLICT (case_id) DO UPDATE SET {_STATE_SET}"""

WRITE_COUNTS = f"WITH {_COUNTS_CTE} {_COUNTS_TAIL}"
WRITE_COUNTS_AND_STATE = f"WITH {_COUNTS_CTE}, state AS ({_STATE_INSERT}) {_COUNTS_TAIL}"
STATE_UPSERT = _STATE_INSERT
READ_STATE = f"SELECT {_STATE_COLUMNS} FROM reports_casecounterstate WHERE case_id = %s"


def counts_params(rows: dict[tuple[date, int | None], list[int]], case: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "days": [day for day, _department in rows],
        "departments": [department for _day, department in rows],
        "codes": area_codes(case.area_path),
        "category": case.category_id,
        "channel": case.channel,
        "legacy": bool(case.is_legacy),
    }
    columns = list(zip(*rows.values(), strict=True)) if rows else [()] * WIDTH
    for name, column in zip(MEASURE_NAMES, columns, strict=True):
        params[f"m_{name}"] = list(column)
    return params


def state_params(case_id: int, state: CaseState) -> dict[str, Any]:
    params = {name: getattr(state, name) for name in STATE_FIELDS}
    for name in JSON_STATE_FIELDS:
        params[name] = json.dumps(params[name], sort_keys=True)
    params["case"] = case_id
    return params


def state_from_row(row: tuple) -> CaseState:
    values = dict(zip(STATE_FIELDS, row, strict=True))
    for name in JSON_STATE_FIELDS:
        value = values[name]
        if isinstance(value, str):
            value = json.loads(value)
        values[name] = dict(value or {})
    return CaseState(**values)


def load_state(cursor, case_id: int) -> CaseState:
    cursor.execute(READ_STATE, [case_id])
    row = cursor.fetchone()
    return state_from_row(row) if row else CaseState()


def record_event(sender, *, event, case, **kwargs) -> None:
    """Receiver of ``cases.actions.event_recorded``: add the event's deltas in the same transaction.

    One statement for a new report; a read of the case's state and one statement for any other
    event that counts. The action holds the case's row lock, so two events of one case never
    interleave here.
    """
    if counts_for_nothing(event):
        return
    with connection.cursor() as cursor:
        if event.action in STATELESS_ACTIONS:
            state, changed = CaseState(), False
            deltas = event_deltas(state, event, case)
        else:
            state = load_state(cursor, case.pk)
            before = state.copy()
            deltas = event_deltas(state, event, case)
            changed = state != before
        rows = sum_deltas(deltas)
        if not rows and not changed:
            return
        params = counts_params(rows, case)
        if changed:
            params.update(state_params(case.pk, state))
            cursor.execute(WRITE_COUNTS_AND_STATE, params)
        else:
            cursor.execute(WRITE_COUNTS, params)
