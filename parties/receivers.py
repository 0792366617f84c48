"""People and places follow an area that moves (``grids.signals.area_moved``): every table that keeps
a copy of its grid's path (the prefix that scopes it) gets the new path, set-based, inside the move's
transaction, so scope never sees a half-moved subtree."""

from __future__ import annotations

from django.db import connection

from grids.signals import AreaMove, like_prefix
from parties.models import Building, House, Household, KeyPerson, Organisation, Resident, Visit

PATHED = (Building, House, Household, Resident, Organisation, KeyPerson, Visit)


def carry_people(sender, move: AreaMove, **kwargs) -> int:
    moved = 0
    with connection.cursor() as cursor:
        for model in PATHED:
            cursor.execute(
                f"UPDATE {model._meta.db_table} SET area_path = %s || substr(area_path, %s)"  # noqa: S608
                " WHERE area_path LIKE %s",
                [move.new_path, len(move.old_path) + 1, like_prefix(move.old_path)],
            )
            moved += cursor.rowcount
    return moved
