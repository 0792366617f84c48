"""A typed address as a standard address (一标, parties.Building), for Open311's address_string and the
public appeal page: the full address, spaces ignored ("幸福路 3 号" is "幸福路3号"), exactly one match."""

from __future__ import annotations

import re

from django.db.models import Value
from django.db.models.functions import Replace

from parties.models import Building


def standard_address(text: str) -> Building | None:
    wanted = re.sub(r"\s+", "", text or "")
    if not wanted:
        return None
    found = list(Building.objects.filter(address=text.strip())[:2]) or list(
        Building.objects.annotate(compact=Replace(Replace("address", Value(" "), Value("")), Value("\u3000"),
                                                  Value("")))
        .filter(compact=wanted)[:2]
    )
    return found[0] if len(found) == 1 else None
