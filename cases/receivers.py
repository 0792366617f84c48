"""Cases keep in step with the governance map (connected in ``CasesConfig.ready``).

A case copies its grid's path (``Case.area_path``) so that "cases under town X" is one prefix match;
scope, lists and the counters all read that copy. When an area moves (``grids.signals.area_moved``)
the copies of its subtree are rewritten here, in the move's transaction, with one UPDATE whatever the
number of cases.
"""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext as _

from govgrid.errors import ActionError
from grids.models import Area, Centre
from grids.signals import AreaMove, like_prefix


def carry_cases(sender, *, move: AreaMove, **kwargs) -> dict[str, int]:
    """Re-path the subtree's cases; hand the ones whose centre is no longer above them to the one that is.

    A case owned by a centre that was above the moved area and is not any more (its town's centre when
    a community changes town, a district's after an escalation when a town changes district) goes to
    the centre ``move.centre_moves`` names: the deepest one on the new path at that level or above.
    When there is none, the move is refused: no case may be left with a centre that cannot see it.
    Open and closed cases alike, so that "the owning centre is above the grid" holds for all of them.
    Dispatches stay with their departments: the work already under way carries on.
    """
    old_centres = sorted(move.centre_moves)
    # The subtree's grids, found by their new paths (the trigger has run): a case's path is its grid's.
    grids = "SELECT id, path FROM grids_area WHERE path LIKE %(pattern)s"
    params = {"pattern": like_prefix(move.new_path)}
    with connection.cursor() as cursor:
        owned: dict[int, int] = {}
        if old_centres:
            cursor.execute(
                f"SELECT c.centre_id, count(*) FROM cases_case c JOIN ({grids}) g ON c.grid_id = g.id "
                f"WHERE c.centre_id = ANY(%(old_centres)s) GROUP BY c.centre_id",
                {**params, "old_centres": old_centres},
            )
            owned = dict(cursor.fetchall())
        stranded = {pk: count for pk, count in owned.items() if move.centre_moves[pk] is None}
        if stranded:
            centre = Centre.objects.get(pk=min(stranded))
            raise ActionError(
                _("%(count)s cases under %(area)s belong to %(centre)s, and no centre at its level or above "
                  "covers the new place. Set up that centre first, or hand the cases down.")
                % {"count": sum(stranded.values()), "area": Area.objects.get(pk=move.area_id).name,
                   "centre": centre.name},
                field="parent",
            )
        handed = [(pk, move.centre_moves[pk]) for pk in owned]
        # One statement: its row locks wait for any action in flight on these cases, so that action's
        # counter deltas are written (to the old ancestors) before the counters are carried. Setting the
        # grid's path (rather than rewriting the old prefix) also mends a copy that had gone stale.
        cursor.execute(
            f"""UPDATE cases_case c
            SET area_path = g.path,
                centre_id = coalesce(
                    (SELECT m.new_id FROM unnest(%(old_ids)s::bigint[], %(new_ids)s::bigint[]) AS m(old_id, new_id)
                     WHERE m.old_id = c.centre_id),
                    c.centre_id)
            FROM ({grids}) g
            WHERE c.grid_id = g.id""",
            {**params, "old_ids": [old for old, _new in handed], "new_ids": [new for _old, new in handed]},
        )
        return {"cases": cursor.rowcount, "cases_handed_over": sum(owned.values())}


def carry_activations(sender, *, move: AreaMove, **kwargs) -> dict[str, int]:
    """Emergency activations copy their area's path too (cases.emergency): re-path the subtree's."""
    from cases.emergency import Activation

    moved = 0
    for activation in Activation.objects.filter(area_path__startswith=move.old_path).only("pk", "area_path"):
        Activation.objects.filter(pk=activation.pk).update(
            area_path=move.new_path + activation.area_path[len(move.old_path):])
        moved += 1
    if moved:
        from govgrid import versioned

        versioned.bump("activations")  # written with update(), which sends no signal
    return {"activations": moved}
