"""Changes of the governance map that reach beyond one row (DESIGN.md §3: actions change state).

Moving an area (a new parent, or a new code) re-paths its whole subtree; the tree trigger of migration
0002 does that for the areas. Everything else that keys on those paths or codes lives in apps that
depend on grids (cases copy the grid's path, the counters hold rows for every ancestor), so the move
tells them through ``grids.signals.area_moved``, in the same transaction: either all of it moves, or
nothing does.
"""

from __future__ import annotations

import logging
import re
import zlib

from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Length
from django.utils.translation import gettext as _

from govgrid.errors import ActionError, Forbidden
from grids.choices import Level
from grids.models import PATH_SEPARATOR, Area, Centre
from grids.scope import scope_for
from grids.signals import AreaMove, area_moved

logger = logging.getLogger(__name__)

CODE_PATTERN = re.compile(r"^[0-9A-Za-z_-]+$")
# The path columns (Area.path, Case.area_path) are varchar(255).
PATH_MAX_LENGTH = 255
# One transaction-scoped advisory lock for all moves: two moves at once could each re-path a subtree
# from the other's stale path (or build a cycle no single trigger run can see). Moves are rare.
MOVE_LOCK = zlib.crc32(b"grids.move_area")


def _require_map_admin(actor) -> None:
    if actor is None:  # the system itself (a management command)
        return
    if actor.is_superuser or actor.has_perm("grids.change_area") or scope_for(actor).is_admin:
        return
    raise Forbidden(_("Only an administrator may move an area or change its code."))


def _ancestor_ids(path: str) -> tuple[int, ...]:
    """Ids of the areas on ``path`` (root first), found by code as everything else finds them."""
    codes = path.rstrip(PATH_SEPARATOR).split(PATH_SEPARATOR)
    by_code = dict(Area.objects.filter(code__in=codes).values_list("code", "pk"))
    return tuple(by_code[code] for code in codes if code in by_code)


def check_area_move(stored: Area, *, parent: Area | None, code: str, level: int | None = None) -> None:
    """Refuse, with a sentence for a person, a move the tree would not take (the admin form calls this
    before saving, the action again under its locks). ``stored`` is the area as it is in the database."""
    level = stored.level if level is None else level
    if not code:
        raise ActionError(_("Enter the area's code."), field="code", code="required")
    if len(code) > Area._meta.get_field("code").max_length or not CODE_PATTERN.match(code):
        raise ActionError(_("An area code may contain only letters, digits, '-' and '_' (at most 32)."),
                          field="code")
    if code != stored.code and Area.objects.filter(code=code).exclude(pk=stored.pk).exists():
        raise ActionError(_("Another area already has the code %(code)s.") % {"code": code}, field="code")
    if parent is None:
        if level != Level.CITY:
            raise ActionError(_("Choose the parent area: only a city has none."), field="parent", code="required")
        new_path = code + PATH_SEPARATOR
    else:
        if level == Level.CITY:
            raise ActionError(_("A city cannot be placed under another area."), field="parent")
        if parent.pk == stored.pk or parent.path.startswith(stored.path):
            raise ActionError(_("An area cannot be placed under itself or one of its own sub-areas."),
                              field="parent")
        if parent.level >= level:
            raise ActionError(
                _("A %(child)s cannot be placed under a %(parent)s.")
                % {"child": Level(level).label, "parent": parent.get_level_display()},
                field="parent",
            )
        new_path = parent.path + code + PATH_SEPARATOR
    if level != stored.level and Area.objects.filter(parent=stored, level__lte=level).exists():
        raise ActionError(_("The area would no longer be above its own sub-areas at that level."), field="level")
    if new_path != stored.path:
        longest = (
            Area.objects.filter(path__startswith=stored.path).aggregate(n=Max(Length("path")))["n"]
            or len(stored.path)
        )
        if longest - len(stored.path) + len(new_path) > PATH_MAX_LENGTH:
            raise ActionError(
                _("With this parent and code the paths under %(area)s would be longer than %(max)s characters.")
                % {"area": stored.name, "max": PATH_MAX_LENGTH},
                field="code" if parent == stored.parent else "parent",
            )


def _centre_moves(old_ancestor_ids: tuple[int, ...], new_ancestor_ids: tuple[int, ...]) -> dict[int, int | None]:
    """Centres above the area that no longer will be → who takes over their cases: the deepest centre on
    the new path at the same level or above (a town centre's cases go to the new town's centre, or to
    the district's when the new town has none; a case escalated to the old district goes to the new one)."""
    lost = set(old_ancestor_ids) - set(new_ancestor_ids)
    if not lost:
        return {}
    new_centres = list(Centre.objects.filter(area_id__in=new_ancestor_ids).values_list("pk", "level"))
    moves: dict[int, int | None] = {}
    for pk, level in Centre.objects.filter(area_id__in=lost).values_list("pk", "level"):
        above = [(centre_level, centre_pk) for centre_pk, centre_level in new_centres if centre_level <= level]
        moves[pk] = max(above)[1] if above else None
    return moves


@transaction.atomic
def move_area(area: Area, *, actor, parent: Area | None = None, code: str | None = None) -> Area:
    """Move ``area`` (and its subtree) under ``parent`` and/or give it the new ``code``; None keeps it.

    The area is saved as given, so other fields changed on the instance (name, boundary, level) go in
    the same UPDATE, and a level change that comes with the new parent is checked against it. Then
    ``area_moved`` lets cases and counters follow, in this transaction: the cases of the subtree get
    their new path (and, where their centre is no longer above them, the centre that now is), and the
    counters of the old ancestors lose what the new ones gain. A refusal anywhere rolls everything back.
    """
    _require_map_admin(actor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MOVE_LOCK])
    stored = Area.objects.select_for_update().get(pk=area.pk)
    if parent is None:
        new_parent = Area.objects.get(pk=stored.parent_id) if stored.parent_id else None
    else:
        # Locked, so that its path cannot change under us (the trigger reads it to build ours).
        new_parent = Area.objects.select_for_update().get(pk=parent.pk)
    new_code = stored.code if code is None else code.strip()
    check_area_move(stored, parent=new_parent, code=new_code, level=area.level)

    old_ancestor_ids = _ancestor_ids(stored.path)[:-1]
    new_ancestor_ids = _ancestor_ids(new_parent.path) if new_parent is not None else ()
    moved = (new_parent.pk if new_parent else None) != stored.parent_id or new_code != stored.code
    centre_moves = _centre_moves(old_ancestor_ids, new_ancestor_ids) if moved else {}

    area.parent, area.code = new_parent, new_code
    area.save()  # the trigger re-paths the subtree, level by level
    if not moved:
        return area
    move = AreaMove(
        area_id=area.pk, old_code=stored.code, new_code=new_code, old_path=stored.path, new_path=area.path,
        old_parent_id=stored.parent_id, new_parent_id=area.parent_id, old_ancestor_ids=old_ancestor_ids,
        new_ancestor_ids=new_ancestor_ids, centre_moves=centre_moves, actor=actor,
    )
    results = area_moved.send(sender=Area, move=move)
    logger.info(
        "area %s moved from %s to %s by %s: %s", area.pk, move.old_path, move.new_path, actor,
        {getattr(receiver, "__qualname__", str(receiver)): result for receiver, result in results},
    )
    return area
