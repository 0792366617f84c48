"""govgrid.paging.CappedPaginator: exact counts below the cap, the planner's estimate above it."""

from __future__ import annotations

import pytest

from govgrid.paging import CappedPaginator
from grids.models import Area


@pytest.mark.django_db
def test_counts_exactly_up_to_the_cap(tiny_city):
    areas = Area.objects.order_by("code")
    paginator = CappedPaginator(areas, 2, cap=100)
    assert paginator.count == areas.count() and not paginator.estimated
    assert [a.code for a in paginator.get_page(2).object_list] == [a.code for a in areas[2:4]]


@pytest.mark.django_db
def test_past_the_cap_the_count_is_the_planners_estimate(tiny_city):
    areas = Area.objects.order_by("code")
    total = areas.count()
    paginator = CappedPaginator(areas, 1, cap=3)
    assert paginator.count >= 4 and paginator.estimated
    assert paginator.count != 3
    last = paginator.get_page(total)
    assert last.object_list[0].code == areas.last().code
