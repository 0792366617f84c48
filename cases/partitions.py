"""Monthly partitions of the case events table (事件流水按月分区).

``cases_caseevent`` is range-partitioned on ``at`` (migration 0018): one partition per month, named
``cases_caseevent_yYYYYmMM``, plus ``cases_caseevent_default`` for an event outside every month made
(a back-dated import, a clock far off). A month is the project's local month (``TIME_ZONE``): the
monthly reports and the month filters of the pages ask for local months, and each then reads one
partition. The zone is that of the first partitions; changing ``TIME_ZONE`` later would make the next
month's bounds overlap its neighbour's, which PostgreSQL refuses (nothing is written wrongly).

:func:`ensure_event_partitions` runs every night (Celery beat, ``ensure-event-partitions``) and at the
end of the migration: it makes the current month's and the next ones' partitions, so events never go
to DEFAULT in normal operation. Cases are not partitioned: their queries filter by status, area and
light, never by date alone, and every probe would visit every partition.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, transaction

from govgrid import clock

PARENT = "cases_caseevent"
DEFAULT = "cases_caseevent_default"
# A partition is created while inserts go on: waiting longer for the parent's lock would hold up every
# event behind it. The nightly run simply tries again the next night (three months are made ahead).
LOCK_TIMEOUT = "5s"


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def month_of(moment: datetime | date) -> date:
    """The first day of the local month of ``moment``."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's partition bounds: from its first local midnight to the next month's (exclusive)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = add_months(month, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=zone)


def existing_partitions(using: str = "default") -> list[str]:
    """The names of the parent's partitions (DEFAULT included), sorted."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY 1", [PARENT])
        return [name for (name,) in cursor.fetchall()]


def ensure_event_partitions(months_ahead: int = 3, *, today: date | None = None, using: str = "default") -> list[str]:
    """Make the partitions of the current month and the ``months_ahead`` next ones that are missing.

    Idempotent: a second call makes nothing. Returns the names made.
    """
    first = month_of(today or clock.now())
    return create_partitions([add_months(first, n) for n in range(months_ahead + 1)], using=using)


def create_partitions(months: Iterable[date], *, using: str = "default") -> list[str]:
    """Make the monthly partitions of ``months`` that are missing, in one transaction.

    Events of those months waiting in DEFAULT are moved into them: PostgreSQL refuses a partition
    whose rows sit in DEFAULT, and the append-only trigger refuses deleting them from it. So DEFAULT is
    detached, the months and a new empty DEFAULT are made, its rows are inserted again through the
    parent (each lands in its month, or in the new DEFAULT) and the detached table is dropped: the
    events keep their ids and every column. That takes the parent's exclusive lock for the copy, which
    is short while DEFAULT holds a few stray rows, as it should.

    Without rows to move, a month is created as a plain table and attached, which locks the parent in
    SHARE UPDATE EXCLUSIVE mode only: reads and inserts go on meanwhile. DEFAULT is locked exclusively
    while PostgreSQL checks that none of its rows belong to the month (an empty scan, as it should be),
    and reads that visit every partition wait for that: hence ``LOCK_TIMEOUT``.
    """
    have = set(existing_partitions(using))
    missing = sorted({month_of(m) for m in months if partition_name(month_of(m)) not in have})
    if not missing:
        return []
    connection = connections[using]
    with transaction.atomic(using), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
                       [LOCK_TIMEOUT])
        (lock_timeout, _set) = cursor.fetchone()
        stray = DEFAULT in have and _default_has_rows(cursor, missing)
        if stray:
            # Rows written to DEFAULT in this same transaction still have their deferred foreign key
            # checks queued, and PostgreSQL detaches no table with checks pending: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'ALTER TABLE "{PARENT}" DETACH PARTITION "{DEFAULT}"')
            cursor.execute(f'ALTER TABLE "{DEFAULT}" RENAME TO "{DEFAULT}_moving"')
        for month in missing:
            start, end = month_bounds(month)
            name = partition_name(month)
            if stray:
                cursor.execute(f'CREATE TABLE "{name}" PARTITION OF "{PARENT}" FOR VALUES FROM (%s) TO (%s)',
                               [start, end])
            else:
                # INCLUDING ALL copies the columns' defaults and NOT NULLs; ATTACH adds the parent's
                # indexes, foreign keys and the append-only trigger.
                cursor.execute(f'CREATE TABLE "{name}" (LIKE "{PARENT}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
                cursor.execute(f'ALTER TABLE "{PARENT}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)',
                               [start, end])
        if stray:
            columns = ", ".join(f'"{column}"' for column in table_columns(cursor, PARENT))
            cursor.execute(f'CREATE TABLE "{DEFAULT}" PARTITION OF "{PARENT}" DEFAULT')
            cursor.execute(f'INSERT INTO "{PARENT}" ({columns}) SELECT {columns} FROM "{DEFAULT}_moving"')
            cursor.execute(f'DROP TABLE "{DEFAULT}_moving"')
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
    return [partition_name(month) for month in missing]


def _default_has_rows(cursor, months: list[date]) -> bool:
    ranges = " OR ".join(["(at >= %s AND at < %s)"] * len(months))
    cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{DEFAULT}" WHERE {ranges})',
                   [bound for month in months for bound in month_bounds(month)])
    return cursor.fetchone()[0]


def table_columns(cursor, table: str) -> list[str]:
    cursor.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                   "AND NOT attisdropped ORDER BY attnum", [table])
    return [name for (name,) in cursor.fetchall()]
