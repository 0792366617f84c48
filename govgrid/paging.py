"""A paginator for lists that may hold a city's whole case table.

``Paginator.count`` runs ``SELECT COUNT(*)`` over everything the filters let through: with a million
cases in a city centre's scope that alone is about a second (bench/pages.py), for a figure nobody
reads to the last digit. ``CappedPaginator`` counts exactly up to ``cap`` rows (a ``LIMIT`` under the
count, so it reads at most that many) and past it takes PostgreSQL's estimate of the rows, flagged
``estimated`` so the page says "about". Pages below the cap are
exactly what Django's paginator gives; past it, the pages up to the estimate.
"""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


def planner_rows(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of how many rows the query returns (EXPLAIN, nothing executed)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class CappedPaginator(Paginator):
    cap = 10_000

    def __init__(self, *args, cap: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if cap is not None:
            self.cap = cap
        self.estimated = False

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return super().count
        exact = self.object_list.order_by()[: self.cap + 1].count()
        if exact <= self.cap:
            return exact
        self.estimated = True
        return max(self.cap + 1, planner_rows(self.object_list))


class AtLeast(int):
    """A count that stopped at its cap: prints as "999+" and stays true to comparisons (``n > 0``)."""

    capped = True

    def __str__(self) -> str:
        return f"{int(self)}+"


def capped_count(queryset: QuerySet, cap: int = 999) -> int:
    """How many rows the queryset holds, read no further than ``cap`` (a ``LIMIT`` under the count):
    the exact number up to the cap, else ``AtLeast(cap)``. For the figures in a page header, which
    nobody reads to the last digit past a few hundred, over a city's million cases."""
    exact = queryset.order_by()[: cap + 1].count()
    return AtLeast(cap) if exact > cap else exact


def capped_sum(*counts: int) -> int:
    """The sum of counts, itself "at least" when any of them is."""
    total = sum(int(count) for count in counts)
    return AtLeast(total) if any(isinstance(count, AtLeast) for count in counts) else total
