"""The choices of the area and category pickers on the filter forms (centre pages, the case list).

The values are the codes the API's filters take (``within``, ``category``), so a filtered page's
address is the same as before the pickers, and a code typed into the address still works.
"""

from __future__ import annotations

from grids.choices import Level
from grids.scope import visible_areas

MAX_AREAS = 400  # a district's towns and communities; a city's grids are too many for one list


def area_choices(user, selected: str = "") -> list[tuple[str, str]]:
    """The areas in the user's scope down to communities, in tree order, indented by level."""
    areas = list(visible_areas(user).filter(level__lte=Level.COMMUNITY).only("code", "name", "level")
                 .order_by("path")[:MAX_AREAS])
    top = min((a.level for a in areas), default=Level.CITY)
    choices = [(a.code, "\u3000" * (a.level - top) + a.name) for a in areas]
    if selected and selected not in {code for code, _name in choices}:
        # A grid, or an area past the first MAX_AREAS, given in the address: kept, shown by its code
        # (the filter checks it is in scope).
        grid = visible_areas(user).filter(code=selected).only("code", "name").first()
        choices.append((selected, grid.name if grid else selected))
    return choices


def category_families() -> list[tuple[object, list[object]]]:
    """Active categories as (family, leaves) in picker order, for a select grouped by family."""
    from cases.models import Category

    families: dict[int, tuple[Category, list[Category]]] = {}
    leaves = []
    for category in Category.objects.filter(is_active=True).order_by("sort_order", "code"):
        if category.parent_id is None:
            families[category.pk] = (category, [])
        else:
            leaves.append(category)
    for leaf in leaves:
        if leaf.parent_id in families:
            families[leaf.parent_id][1].append(leaf)
    return list(families.values())
