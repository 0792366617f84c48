"""Signals of the governance map, so that apps further down the dependency chain keep their own rows in
step with the tree without grids knowing them (DESIGN.md §3: grids ← parties ← cases ← plans ← reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.dispatch import Signal

# Sent by ``grids.actions.move_area`` inside its transaction, after the tree trigger has re-pathed the
# moved subtree, with ``move=AreaMove``. Receivers carry what they key on paths or codes (cases' copy of
# the path, the counters of the ancestors) with set-based SQL in the same transaction. A receiver that
# cannot carry its rows raises ``govgrid.errors.ActionError``: the whole move rolls back, and the
# person sees that sentence. ``send`` (not ``send_robust``), so nothing is ever half moved.
area_moved = Signal()


@dataclass(frozen=True)
class AreaMove:
    """One area taken, with its whole subtree, to a new parent and/or a new code.

    Only the moved area's own code can change; the codes below it stay, so every path in the subtree
    maps by replacing the prefix ``old_path`` with ``new_path`` (``repath``). Ancestor ids are the
    areas above the moved one, root first, before and after.
    """

    area_id: int
    old_code: str
    new_code: str
    old_path: str
    new_path: str
    old_parent_id: int | None
    new_parent_id: int | None
    old_ancestor_ids: tuple[int, ...]
    new_ancestor_ids: tuple[int, ...]
    # Centres above the area before the move that are no longer above it → the centre on the new path
    # that takes over their cases: the deepest one at the same level or above; None when there is none.
    centre_moves: dict[int, int | None] = field(default_factory=dict)
    actor: Any = None

    @property
    def parent_changed(self) -> bool:
        return self.old_parent_id != self.new_parent_id

    @property
    def code_changed(self) -> bool:
        return self.old_code != self.new_code

    @property
    def lost_ancestor_ids(self) -> tuple[int, ...]:
        """Areas that were above the moved one and no longer are: they lose its counts."""
        kept = set(self.new_ancestor_ids)
        return tuple(pk for pk in self.old_ancestor_ids if pk not in kept)

    @property
    def gained_ancestor_ids(self) -> tuple[int, ...]:
        """Areas that are above the moved one now and were not before: they gain its counts."""
        had = set(self.old_ancestor_ids)
        return tuple(pk for pk in self.new_ancestor_ids if pk not in had)

    def repath(self, path: str) -> str:
        """Where a path of the subtree (an area's, or a case's copy) is after the move."""
        if not path.startswith(self.old_path):
            raise ValueError(f"{path} is not under {self.old_path}")
        return self.new_path + path[len(self.old_path):]


def like_prefix(path: str) -> str:
    """A LIKE pattern matching ``path`` and everything under it (codes may contain ``_``, a wildcard)."""
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
