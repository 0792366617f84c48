"""govgrid.paging.CappedPaginator: exact counts below the cap, the planner's estimate above it."""

from __future__ import annotations

import pytest

from govgrid.paging import AtLeast, CappedPaginator, capped_count, capped_sum
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


@pytest.mark.django_db
def test_capped_count_reads_no_further_than_its_cap(tiny_city):
    areas = Area.objects.all()
    total = areas.count()
    assert capped_count(areas, cap=total) == total and not isinstance(capped_count(areas, cap=total), AtLeast)
    capped = capped_count(areas, cap=2)
    assert isinstance(capped, AtLeast) and capped == 2 and str(capped) == "2+" and capped > 0
    assert str(capped_sum(capped, 3)) == "5+" and capped_sum(1, 3) == 4 and str(capped_sum(1, 3)) == "4"
