"""Recompute every counter from the timeline, report what differs from the stored ones, repair it.

The replay calls the same ``reports.counters.event_deltas`` as the live receiver, case by case in
event order, with the case as it is now (only the deadline entry reads it; see ``event_deltas``).

Two phases, so that actions never wait for a rebuild:

1. In one REPEATABLE READ snapshot: replay every case (in chunks of case ids, so memory stays
   bounded), COPY the results into temporary tables, expand them to every area level, and compare
   them with the stored counters and case states *of the same snapshot*. Each differing cell gives a
   correction = expected − stored.
2. In a new transaction: add the corrections (``col = col + correction``, the same upsert the
   receiver uses). Counters are sums, so actions committed since the snapshot have added their own
   deltas meanwhile, and stored + correction is right whatever they did. A case state is set back
   only where it is still what the snapshot saw (the case row is locked for that); one changed in
   between is left for the next rebuild and logged.

Days before the daily window (``reports.rollup.daily_from``) are compared by month: the expected
counts summed per month against the monthly tables plus any daily row of those days not folded yet
(readers add the two up the same way), and their corrections go into the monthly tables. Days in the
window are compared day by day with the daily tables. A ``CounterDrift`` row counts monthly rows
with the daily (or area) rows.

The drift found is logged, returned, and kept as a ``CounterDrift`` row.
"""

from __future__ import annotations

import json
import logging
import time
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cases.choices import Action
from reports import counters, rollup
from reports.models import MEASURE_NAMES, CounterDrift

logger = logging.getLogger(__name__)

CaseRow = namedtuple("CaseRow", "id area_path category_id channel is_legacy reported_at handle_due_at suspended_at")
EventRow = namedtuple("EventRow", "case_id at action from_status to_status payload")

DIMENSIONS = {
    "daily": ("area_id", "day", "category_id", "department_id", "channel", "legacy"),
    "area": ("area_id", "day", "legacy"),
    "monthly": ("area_id", "month", "category_id", "department_id", "channel", "legacy"),
    "area_monthly": ("area_id", "month", "legacy"),
}
TABLES = {"daily": "reports_dailycount", "area": "reports_areadailycount", "monthly": "reports_monthlycount",
          "area_monthly": "reports_areamonthlycount"}
# Each monthly table holds the months rolled up from its daily table (reports.rollup).
MONTHLY_OF = {"monthly": "daily", "area_monthly": "area"}
TEMP_TABLES = ("rb_cells", "rb_states", "rb_paths", "rb_daily", "rb_area", "rb_fix_daily", "rb_fix_area",
               "rb_fix_monthly", "rb_fix_area_monthly", "rb_fix_state")
STATE_COLUMNS = counters.STATE_FIELDS
# The SQL type of each state column (as in the model).
_STATE_TYPES = {
    "lead_department_id": "bigint", "dispatch_departments": "jsonb", "handle_started_at": "timestamptz",
    "rework_count": "integer", "due_day": "date", "due_department_id": "bigint", "due_suspended": "boolean",
    "due_closed": "boolean", "due_closed_on_time": "boolean", "closed_day": "date",
    "closed_department_id": "bigint", "closed_on_time": "boolean", "handled_day": "date",
    "handled_department_id": "bigint", "dispatch_days": "jsonb",
}
# A missing state row reads as the empty state: these columns' empty values (the others are NULL).
_STATE_EMPTY = {"dispatch_departments": "'{{}}'::jsonb", "dispatch_days": "'{{}}'::jsonb", "rework_count": "0",
                "due_suspended": "false", "due_closed": "false", "due_closed_on_time": "false"}
STATE_NORMAL = ", ".join(
    f"coalesce({{p}}{name}, {_STATE_EMPTY[name]})" if name in _STATE_EMPTY else f"{{p}}{name}"
    for name in STATE_COLUMNS
)

@dataclass
class RebuildResult:
    cases: int = 0
    events: int = 0
    daily_rows: int = 0
    area_rows: int = 0
    monthly_rows: int = 0
    area_monthly_rows: int = 0
    states: int = 0
    cells: int = 0
    drift: list[dict[str, Any]] = field(default_factory=list)
    repaired: bool = False
    states_skipped: int = 0
    seconds: float = 0.0
    check_id: int | None = None

    @property
    def clean(self) -> bool:
        return not (self.daily_rows or self.area_rows or self.monthly_rows or self.area_monthly_rows or self.states)


def rebuild_counters(*, repair: bool = True, chunk: int = 20_000, sample: int = 200) -> RebuildResult:
    """Replay the timeline, compare, and (``repair=True``) correct the stored counters."""
    started, clock = timezone.now(), time.monotonic()
    result = RebuildResult()
    nested = connection.in_atomic_block  # inside a caller's transaction (a test), the snapshot is theirs
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                if not nested:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # Room for the large grouping and joins to run in memory (this transaction only).
                cursor.execute("SET LOCAL work_mem = '256MB'")
            _create_temp_tables()
            _replay(result, chunk)
            _compare(result, sample)
        if repair and not result.clean:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL work_mem = '256MB'")
                _apply(result)
            result.repaired = True
        if repair:
            with transaction.atomic():
                _drop_zero_rows()
        result.seconds = time.monotonic() - clock
        check = CounterDrift.objects.create(
            started_at=started, finished_at=timezone.now(), cases=result.cases, events=result.events,
            daily_rows=result.daily_rows + result.monthly_rows, area_rows=result.area_rows + result.area_monthly_rows,
            states=result.states, cells=result.cells,
            sample=result.drift[:sample], repaired=result.repaired,
        )
        result.check_id = check.pk
    finally:
        _drop_temp_tables()
    if result.clean:
        logger.info("counters rebuilt from %s events of %s cases: no drift (%.1f s)",
                    result.events, result.cases, result.seconds)
    else:
        logger.warning(
            "counter drift: %s daily rows, %s area rows, %s monthly rows, %s area monthly rows, %s case states, "
            "%s cells differed%s (%.1f s)",
            result.daily_rows, result.area_rows, result.monthly_rows, result.area_monthly_rows, result.states,
            result.cells,
            "; repaired" if result.repaired else "", result.seconds,
        )
        for difference in result.drift[:50]:
            logger.warning("counter drift: %s", difference)
    return result


def _create_temp_tables() -> None:
    # integer, not bigint: sum(integer) adds in bigint, sum(bigint) in numeric (several times slower).
    measure_columns = ", ".join(f"{name} integer" for name in MEASURE_NAMES)
    with connection.cursor() as cursor:
        _drop_temp_tables(cursor)
        cursor.execute(
            f"CREATE TEMP TABLE rb_cells (area_path text, day date, category_id bigint, department_id bigint, "
            f"channel text, legacy boolean, {measure_columns})"
        )
        state_columns = ", ".join(f"{name} {_STATE_TYPES[name]}" for name in STATE_COLUMNS)
        cursor.execute(f"CREATE TEMP TABLE rb_states (case_id bigint PRIMARY KEY, {state_columns})")


def _drop_temp_tables(cursor=None) -> None:
    if cursor is None:
        if connection.connection is None or connection.needs_rollback:
            return
        with connection.cursor() as cursor:
            _drop_temp_tables(cursor)
        return
    cursor.execute("DROP TABLE IF EXISTS " + ", ".join(TEMP_TABLES))


# --- phase 1: replay --------------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECONDS = "(extract(epoch FROM {0}) * 1000000)::bigint"
# Events whose payload the mapping reads; the others' payloads are not even sent.
_PAYLOAD_ACTIONS = [Action.DISPATCH, Action.RETURN, Action.DECIDE_EXTENSION, Action.VERIFY, Action.CLOSE,
                    Action.FOLLOW_UP, Action.LIGHT]


def _moment(microseconds: int | None) -> datetime | None:
    # Exact to the microsecond, as the live receiver saw it, and far cheaper than parsing timestamps.
    return None if microseconds is None else _EPOCH + timedelta(microseconds=microseconds)


def _replay(result: RebuildResult, chunk: int) -> None:
    tz = timezone.get_default_timezone()
    event_deltas, counts_for_nothing = counters.event_deltas, counters.counts_for_nothing
    width = counters.WIDTH
    ignored = sorted(counters.IGNORED_ACTIONS)
    last_id = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT id, area_path, category_id, channel, is_legacy, {_MICROSECONDS.format('reported_at')}, "
                f"{_MICROSECONDS.format('handle_due_at')}, suspended_at IS NOT NULL "
                f"FROM cases_case WHERE id > %s ORDER BY id LIMIT %s", [last_id, chunk],
            )
            cases = [
                CaseRow(row[0], row[1], row[2], row[3], row[4], _moment(row[5]), _moment(row[6]),
                        True if row[7] else None)
                for row in cursor.fetchall()
            ]
            if not cases:
                return
            first_id, last_id = cases[0].id, cases[-1].id
            cursor.execute(
                f"SELECT case_id, {_MICROSECONDS.format('at')}, action, from_status, to_status, "
                f"CASE WHEN action = ANY(%s) THEN payload::text END "
                f"FROM cases_caseevent WHERE case_id BETWEEN %s AND %s AND action <> ALL(%s) ORDER BY case_id, id",
                [_PAYLOAD_ACTIONS, first_id, last_id, ignored],
            )
            events = cursor.fetchall()
            result.cases += len(cases)
            result.events += len(events)
            cells: dict[tuple, list[int]] = {}
            states: list[tuple] = []
            position, count = 0, len(events)
            for case in cases:
                state = counters.CaseState()
                path, category, channel, legacy = case.area_path, case.category_id, case.channel, bool(case.is_legacy)
                while position < count and events[position][0] == case.id:
                    case_id, at, action, from_status, to_status, payload = events[position]
                    position += 1
                    event = EventRow(case_id, _moment(at), action, from_status, to_status,
                                     json.loads(payload) if payload else {})
                    if counts_for_nothing(event):
                        continue
                    for day, department, measure, amount in event_deltas(state, event, case, tz):
                        key = (path, day, category, department, channel, legacy)
                        row = cells.get(key)
                        if row is None:
                            row = cells[key] = [0] * width
                        row[measure] += amount
                if not state.is_empty():
                    states.append((case.id, *_state_values(state)))
            _copy_cells(cursor, cells)
            _copy(cursor, "rb_states", states)


def _state_values(state: counters.CaseState) -> tuple:
    return tuple(
        json.dumps(getattr(state, name), sort_keys=True) if name in counters.JSON_STATE_FIELDS
        else getattr(state, name)
        for name in counters.STATE_FIELDS
    )


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return str(value)


def _copy_cells(cursor, cells: dict[tuple, list[int]]) -> None:
    lines = []
    for (path, day, category, department, channel, legacy), row in cells.items():
        if any(row):
            lines.append(f"{path}\t{day.isoformat()}\t{category}\t{_text(department)}\t{channel}\t"
                         f"{'t' if legacy else 'f'}\t{chr(9).join(map(str, row))}\n")
    if lines:
        with cursor.cursor.copy("COPY rb_cells FROM STDIN") as copy:
            copy.write("".join(lines))


def _copy(cursor, table: str, rows: list[tuple]) -> None:
    """COPY in text format, written by hand: psycopg's per-value adaptation costs more than the replay."""
    if not rows:
        return
    text = "".join("\t".join(map(_text, row)) + "\n" for row in rows)
    with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
        copy.write(text)


# --- phase 1: compare --------------------------------------------------------------------------------


def _compare(result: RebuildResult, sample: int) -> None:
    sums = ", ".join(f"sum({name})::integer AS {name}" for name in MEASURE_NAMES)
    with connection.cursor() as cursor:
        # Every area on each grid path, by code (as the receiver finds them), once per distinct path.
        cursor.execute(
            """CREATE TEMP TABLE rb_paths AS
            SELECT paths.area_path, a.id AS area_id
            FROM (SELECT DISTINCT area_path FROM rb_cells) AS paths
            CROSS JOIN LATERAL unnest(string_to_array(rtrim(paths.area_path, '/'), '/')) AS p(code)
            JOIN grids_area a ON a.code = p.code"""
        )
        cursor.execute(
            f"""CREATE TEMP TABLE rb_daily AS
            SELECT p.area_id, c.day, c.category_id, c.department_id, c.channel, c.legacy, {sums}
            FROM rb_cells c JOIN rb_paths p ON p.area_path = c.area_path
            GROUP BY 1, 2, 3, 4, 5, 6"""
        )
        cursor.execute(
            f"CREATE TEMP TABLE rb_area AS SELECT area_id, day, legacy, {sums} FROM rb_daily GROUP BY 1, 2, 3"
        )
        before = rollup.daily_from()
        for kind, truth in (("daily", "rb_daily"), ("area", "rb_area"), ("monthly", "rb_daily"),
                            ("area_monthly", "rb_area")):
            rows, cells = _diff(cursor, kind, truth, before)
            setattr(result, f"{kind}_rows", rows)
            result.cells += cells
            if rows:
                result.drift.extend(_sample(cursor, kind, sample - len(result.drift)))
        cursor.execute(
            f"""CREATE TEMP TABLE rb_fix_state AS
            SELECT coalesce(t.case_id, s.case_id) AS case_id, t.case_id IS NOT NULL AS expected_present,
                   s.case_id IS NOT NULL AS stored_present,
                   {", ".join(f"t.{c} AS e_{c}" for c in STATE_COLUMNS)},
                   {", ".join(f"s.{c} AS s_{c}" for c in STATE_COLUMNS)}
            FROM rb_states t FULL JOIN reports_casecounterstate s ON t.case_id = s.case_id
            WHERE ({STATE_NORMAL.format(p="t.")}) IS DISTINCT FROM ({STATE_NORMAL.format(p="s.")})"""
        )
        cursor.execute("SELECT count(*) FROM rb_fix_state")
        result.states = cursor.fetchone()[0]
        if result.states:
            cursor.execute(
                f"SELECT case_id, {', '.join(f'e_{c}' for c in STATE_COLUMNS)}, "
                f"{', '.join(f's_{c}' for c in STATE_COLUMNS)} FROM rb_fix_state ORDER BY case_id LIMIT %s",
                [max(0, sample - len(result.drift))],
            )
            width = len(STATE_COLUMNS)
            for row in cursor.fetchall():
                expected = dict(zip(STATE_COLUMNS, row[1:1 + width], strict=True))
                stored = dict(zip(STATE_COLUMNS, row[1 + width:], strict=True))
                result.drift.append({
                    "table": "case_state", "case": row[0],
                    "expected": {k: _plain(v) for k, v in expected.items() if v != stored[k]},
                    "stored": {k: _plain(v) for k, v in stored.items() if v != expected[k]},
                })


def _sides(kind: str, truth: str, before: date) -> tuple[str, str, list[Any]]:
    """The expected and the stored rows of one kind, as subqueries over the same dimensions, and their
    parameters. Days from ``before`` on are compared day by day with the daily table; the days before
    it month by month with the monthly table plus any daily row not folded yet (a late event, or the
    roll-up not run since the window moved), just as the readers add them up. Every monthly row is
    compared, so one of a month inside the window (after the window was widened) is taken back to 0
    while its days come back in the daily table."""
    dims = DIMENSIONS[kind]
    measures = ", ".join(MEASURE_NAMES)
    if kind not in MONTHLY_OF:
        return (f"(SELECT * FROM {truth} WHERE day >= %s)", f"(SELECT * FROM {TABLES[kind]} WHERE day >= %s)",
                [before, before])
    rest = ", ".join(dims[2:])
    sums = ", ".join(f"sum({name})::bigint AS {name}" for name in MEASURE_NAMES)
    groups = ", ".join(str(n) for n in range(1, len(dims) + 1))
    expected = (f"(SELECT area_id, date_trunc('month', day)::date AS month, {rest}, {sums} FROM {truth} "
                f"WHERE day < %s GROUP BY {groups})")
    stored = (f"(SELECT area_id, month, {rest}, {sums} FROM (SELECT area_id, month, {rest}, {measures} "
              f"FROM {TABLES[kind]} UNION ALL SELECT area_id, date_trunc('month', day)::date, {rest}, {measures} "
              f"FROM {TABLES[MONTHLY_OF[kind]]} WHERE day < %s) AS u GROUP BY {groups})")
    return expected, stored, [before, before]


def _diff(cursor, kind: str, truth: str, before: date) -> tuple[int, int]:
    """Fill rb_fix_<kind> with the differing cells: dimensions, stored values and corrections."""
    dims = DIMENSIONS[kind]
    on = " AND ".join(
        f"coalesce(t.{d}, 0) = coalesce(s.{d}, 0)" if d == "department_id" else f"t.{d} = s.{d}" for d in dims
    )
    differs = " OR ".join(f"coalesce(t.{m}, 0) <> coalesce(s.{m}, 0)" for m in MEASURE_NAMES)
    expected, stored, params = _sides(kind, truth, before)
    cursor.execute(
        f"""CREATE TEMP TABLE rb_fix_{kind} AS
        SELECT {", ".join(f"coalesce(t.{d}, s.{d}) AS {d}" for d in dims)},
               {", ".join(f"coalesce(s.{m}, 0) AS s_{m}" for m in MEASURE_NAMES)},
               {", ".join(f"coalesce(t.{m}, 0) - coalesce(s.{m}, 0) AS d_{m}" for m in MEASURE_NAMES)}
        FROM {expected} t FULL JOIN {stored} s ON {on}
        WHERE {differs}""",
        params,
    )
    cursor.execute(
        f"SELECT count(*), coalesce(sum({' + '.join(f'(d_{m} <> 0)::int' for m in MEASURE_NAMES)}), 0) "
        f"FROM rb_fix_{kind}"
    )
    rows, cells = cursor.fetchone()
    return rows, cells


def _sample(cursor, kind: str, limit: int) -> list[dict[str, Any]]:
    if limit <= 0:
        return []
    dims = DIMENSIONS[kind]
    cursor.execute(
        f"""SELECT a.code, {", ".join(f"f.{d}" for d in dims[1:])},
                   {", ".join(f"f.s_{m}" for m in MEASURE_NAMES)}, {", ".join(f"f.d_{m}" for m in MEASURE_NAMES)}
        FROM rb_fix_{kind} f JOIN grids_area a ON a.id = f.area_id
        ORDER BY f.{dims[1]}, a.code LIMIT %s""",
        [limit],
    )
    width = len(MEASURE_NAMES)
    found = []
    for row in cursor.fetchall():
        where = {"table": TABLES[kind], "area": row[0]}
        where.update({d.removesuffix("_id"): _plain(v) for d, v in zip(dims[1:], row[1:len(dims)], strict=True)})
        stored = row[len(dims):len(dims) + width]
        delta = row[len(dims) + width:]
        for name, was, change in zip(MEASURE_NAMES, stored, delta, strict=True):
            if change:
                found.append({**where, "measure": name, "stored": was, "expected": was + change})
                if len(found) >= limit:
                    return found
    return found


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- phase 2: repair --------------------------------------------------------------------------------


def _apply(result: RebuildResult) -> None:
    with connection.cursor() as cursor:
        for kind in TABLES:
            dims = DIMENSIONS[kind]
            columns = ", ".join((*dims, *MEASURE_NAMES))
            cursor.execute(
                f"""INSERT INTO {TABLES[kind]} AS t ({columns})
                SELECT {", ".join(dims)}, {", ".join(f"d_{m}" for m in MEASURE_NAMES)} FROM rb_fix_{kind}
                ON CONFLICT ({", ".join(dims)}) DO UPDATE SET
                {", ".join(f"{m} = t.{m} + EXCLUDED.{m}" for m in MEASURE_NAMES)}"""
            )
        _apply_states(cursor, result)


def _apply_states(cursor, result: RebuildResult) -> None:
    """Set case states back, only where no action moved them since the snapshot.

    The cases are locked first, as an action locks them: an action in flight finishes before, and one
    that comes after reads the repaired state. A state an action moved meanwhile is left alone (that
    action's deltas came from the wrong state), logged, and repaired by the next rebuild.
    """
    cursor.execute(
        "WITH locked AS (SELECT c.id FROM cases_case c WHERE c.id IN (SELECT case_id FROM rb_fix_state) "
        "ORDER BY c.id FOR NO KEY UPDATE OF c) SELECT count(*) FROM locked"
    )
    unchanged = f"({STATE_NORMAL.format(p='s.')}) IS NOT DISTINCT FROM ({STATE_NORMAL.format(p='f.s_')})"
    cursor.execute(
        f"""UPDATE reports_casecounterstate s SET {", ".join(f"{c} = f.e_{c}" for c in STATE_COLUMNS)}
        FROM rb_fix_state f WHERE s.case_id = f.case_id AND f.expected_present AND {unchanged}"""
    )
    repaired = cursor.rowcount
    cursor.execute(
        f"""INSERT INTO reports_casecounterstate (case_id, {", ".join(STATE_COLUMNS)})
        SELECT f.case_id, {", ".join(f"f.e_{c}" for c in STATE_COLUMNS)}
        FROM rb_fix_state f LEFT JOIN reports_casecounterstate s ON s.case_id = f.case_id
        WHERE f.expected_present AND s.case_id IS NULL AND {unchanged}"""
    )
    repaired += cursor.rowcount
    cursor.execute(
        f"""DELETE FROM reports_casecounterstate s USING rb_fix_state f
        WHERE s.case_id = f.case_id AND NOT f.expected_present AND {unchanged}"""
    )
    repaired += cursor.rowcount
    result.states_skipped = result.states - repaired
    if result.states_skipped:
        logger.warning("%s case counter states changed during the rebuild; left for the next one",
                       result.states_skipped)


def _drop_zero_rows() -> None:
    """Rows whose every measure is 0 (a deadline moved away, a repaired cell) carry nothing."""
    zero = " AND ".join(f"{name} = 0" for name in MEASURE_NAMES)
    with connection.cursor() as cursor:
        for table in TABLES.values():
            cursor.execute(f"DELETE FROM {table} WHERE {zero}")
