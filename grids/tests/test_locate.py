"""locate_grid: inside, on a shared edge, on a corner, outside."""

import pytest

from grids.selectors import LocationError, locate_grid


def test_point_inside_a_grid(tiny_city):
    assert locate_grid(113.005, 23.005) == tiny_city.g1
    assert locate_grid(113.025, 23.002) == tiny_city.g3


def test_point_on_a_shared_edge_gets_one_grid_always_the_same(tiny_city):
    # x = 113.01 is the edge between; the smaller code wins, every time.
    assert {locate_grid(113.01, 23.005).code for _ in range(5)} == {"980101001001001"}
    # x = 113.02 is the edge between A-2 (Town One) and B-1 (Town Two).
    assert locate_grid(113.02, 23.005) == tiny_city.g2


def test_point_on_the_outer_boundary_is_inside(tiny_city):
    assert locate_grid(113.00, 23.00) == tiny_city.g1


@pytest.mark.parametrize(("lon", "lat"), [(113.05, 23.005), (0.0, 0.0), (113.005, 23.02)])
def test_point_outside_every_grid_is_a_clear_error(tiny_city, english, lon, lat):
    with pytest.raises(LocationError, match="outside every grid"):
        locate_grid(lon, lat)


@pytest.mark.parametrize(("lon", "lat"), [(181, 23), (113, -91)])
def test_invalid_coordinates_are_refused(tiny_city, english, lon, lat):
    with pytest.raises(LocationError, match="not a valid coordinate"):
        locate_grid(lon, lat)


def test_the_error_is_in_chinese_by_default(tiny_city):
    with pytest.raises(LocationError, match="不在任何网格"):
        locate_grid(120.0, 23.0)
