"""Counters follow an area that moves (connected to ``grids.signals.area_moved`` in ``ReportsConfig.ready``).

The counter tables hold one row per area at every level of a case's path (``reports.models``), keyed
by the area's id. So when an area moves to a new parent, its own rows and those of its subtree stay
as they are (same ids), and the moved area's own rows, which are the sum of everything under it, are
taken off every area that was above it and is no longer (the old town, the old district) and added to
every area that is above it now and was not (the new town, …). Shared ancestors (the city) keep their
figures. A new code alone changes no counter row; the stored monthly report files, which are named by
code, are renamed once the move has committed.

Everything is one set-based upsert per table, in the move's transaction; its cost follows the moved
area's counter rows, never its cases. Every measure column moves, whatever the table holds: the
columns are read from the models, so a measure added later moves too.
"""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage
from django.db import connection, models, transaction

from grids.signals import AreaMove, like_prefix
from reports.models import MEASURE_NAMES, AreaDailyCount, AreaMonthlyCount, DailyCount, MonthlyCount

logger = logging.getLogger(__name__)

# Tables with one row per area at every level of the case's path. A new table of that shape belongs here.
COUNTER_TABLES: tuple[type[models.Model], ...] = (DailyCount, AreaDailyCount, MonthlyCount, AreaMonthlyCount)

_NUMBER_TYPES = frozenset({"IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
                           "PositiveBigIntegerField", "PositiveSmallIntegerField", "DecimalField", "FloatField"})


def cell_columns(model: type[models.Model]) -> list[str]:
    """The columns that name a cell: the table's unique constraint, area first (as the counters lock)."""
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and "area" in constraint.fields:
            return [model._meta.get_field(name).column for name in constraint.fields]
    raise LookupError(f"{model.__name__} has no unique constraint over its area")


def measure_columns(model: type[models.Model]) -> list[str]:
    """Every numeric column that is not part of the cell: the measures, including ones added later."""
    cell = set(cell_columns(model))
    columns = [
        field.column for field in model._meta.concrete_fields
        if not field.primary_key and field.column not in cell and field.get_internal_type() in _NUMBER_TYPES
    ]
    missing = set(MEASURE_NAMES) - set(columns)
    if missing:  # a measure the counters write but this would not move: never silently
        raise LookupError(f"{model.__name__} lacks measure columns {sorted(missing)}")
    return columns


def _transfer_sql(model: type[models.Model]) -> tuple[str, str]:
    table = model._meta.db_table
    cell, measures = cell_columns(model), measure_columns(model)
    rest = cell[1:]
    # Rows in the counters' lock order (area, day, …) so that a concurrent action adding to the same
    # rows locks them in the same order and neither waits for the other in a cycle.
    upsert = f"""
    INSERT INTO {table} AS t ({", ".join(cell)}, {", ".join(measures)})
    SELECT a.area_id, {", ".join(f"r.{c}" for c in rest)}, {", ".join(f"a.sign * r.{m}" for m in measures)}
    FROM {table} r CROSS JOIN unnest(%(areas)s::bigint[], %(signs)s::int[]) AS a(area_id, sign)
    WHERE r.area_id = %(root)s
    ORDER BY a.area_id, {", ".join(f"r.{c}" for c in rest)}
    ON CONFLICT ({", ".join(cell)}) DO UPDATE SET {", ".join(f"{m} = t.{m} + EXCLUDED.{m}" for m in measures)}"""
    # Cells of the old ancestors that the move emptied carry nothing (the nightly rebuild drops them too).
    drop_empty = f"""
    DELETE FROM {table} t USING {table} r
    WHERE r.area_id = %(root)s AND t.area_id = ANY(%(lost)s::bigint[])
      AND {" AND ".join(f"t.{c} IS NOT DISTINCT FROM r.{c}" for c in rest)}
      AND {" AND ".join(f"t.{m} = 0" for m in measures)}"""
    return upsert, drop_empty


def carry_counters(sender, *, move: AreaMove, **kwargs) -> dict[str, int]:
    """Take the moved area's counts off the ancestors it left and add them to the ones it joined."""
    if move.code_changed:
        transaction.on_commit(lambda: rename_monthly_reports(move.old_code, move.new_code))
    lost, gained = move.lost_ancestor_ids, move.gained_ancestor_ids
    if not (lost or gained):
        return {"counter_rows": 0}
    written = 0
    with connection.cursor() as cursor:
        # Wait for any action in flight on the subtree's cases (already done if the cases' receiver ran
        # first): its deltas must be in the moved area's rows before they are carried, or the old
        # ancestors would keep them. Actions that come later find the cases on their new path.
        cursor.execute(
            "SELECT count(*) FROM (SELECT c.id FROM cases_case c JOIN grids_area g ON c.grid_id = g.id "
            "WHERE g.path LIKE %s ORDER BY c.id FOR NO KEY UPDATE OF c) AS locked",
            [like_prefix(move.new_path)],
        )
        params = {
            "root": move.area_id, "lost": list(lost),
            "areas": [*lost, *gained], "signs": [-1] * len(lost) + [1] * len(gained),
        }
        for model in COUNTER_TABLES:
            upsert, drop_empty = _transfer_sql(model)
            cursor.execute(upsert, params)
            written += cursor.rowcount
            if lost:
                cursor.execute(drop_empty, params)
    return {"counter_rows": written}


def rename_monthly_reports(old_code: str, new_code: str) -> int:
    """Stored monthly reports are files named by area code: give the renamed area's its new name.

    After the commit (a file system is no part of the transaction); a month that already has a file
    under the new code keeps it. Returns the number of files renamed.
    """
    from reports.exports import monthly_path  # the exports pull in PDF and XLSX writers: only when needed

    try:
        months, _files = default_storage.listdir("reports/monthly")
    except FileNotFoundError:
        return 0
    renamed = 0
    for month in months:
        try:
            year, number = (int(part) for part in month.split("-"))
        except ValueError:
            continue
        old, new = monthly_path(year, number, old_code), monthly_path(year, number, new_code)
        try:
            if not default_storage.exists(old) or default_storage.exists(new):
                continue
            with default_storage.open(old, "rb") as source:
                default_storage.save(new, source)
            default_storage.delete(old)
            renamed += 1
        except OSError:
            logger.exception("could not rename the monthly report %s to %s", old, new)
    return renamed
