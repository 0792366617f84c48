"""Tree invariants and database constraints of the governance map."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from conftest import box
from grids.choices import Level, Role
from grids.models import Area, Centre, GridProfile, Membership


def test_path_is_written_by_the_database(tiny_city):
    assert tiny_city.city.path == "9801/"
    assert tiny_city.g1.path == "9801/980101/980101001/980101001001/980101001001001/"
    assert Area.objects.get(code="980101002001001").path.startswith(tiny_city.town2.path)


def test_centroid_is_written_by_the_database(tiny_city):
    assert tiny_city.g1.centroid.coords == pytest.approx((113.005, 23.005))


def test_within_is_one_prefix_query(tiny_city, django_assert_num_queries):
    with django_assert_num_queries(1):
        codes = sorted(Area.objects.within(tiny_city.town1).values_list("code", flat=True))
    assert codes == ["980101001", "980101001001", "980101001001001", "980101001001002"]


@pytest.mark.parametrize(
    ("level", "parent_attr"),
    [(Level.TOWN, "g1"), (Level.COMMUNITY, "comm_a"), (Level.DISTRICT, "town1"), (Level.GRID, "g1")],
)
def test_child_level_must_be_below_parent(tiny_city, level, parent_attr):
    with pytest.raises(IntegrityError, match="cannot be under"), transaction.atomic():
        Area.objects.create(code="X1", name="bad", level=level, parent=getattr(tiny_city, parent_attr))


def test_clean_explains_level_out_of_order(tiny_city):
    area = Area(code="X2", name="bad", level=Level.TOWN, parent=tiny_city.comm_a)
    with pytest.raises(ValidationError) as info:
        area.full_clean()
    assert "level" in info.value.message_dict


def test_a_city_has_no_parent_and_others_have_one(tiny_city):
    with pytest.raises(IntegrityError, match="area_root_is_city"), transaction.atomic():
        Area.objects.create(code="X3", name="orphan town", level=Level.TOWN)
    with pytest.raises(IntegrityError), transaction.atomic():
        Area.objects.create(code="X4", name="city under city", level=Level.CITY, parent=tiny_city.city)


def test_codes_are_unique(tiny_city):
    with pytest.raises(IntegrityError), transaction.atomic():
        Area.objects.create(code="980101001", name="dup", level=Level.TOWN, parent=tiny_city.district)


def test_moving_a_subtree_rewrites_every_path_below(tiny_city):
    comm_a = tiny_city.comm_a
    comm_a.parent = tiny_city.town2
    comm_a.save()
    g1 = Area.objects.get(pk=tiny_city.g1.pk)
    assert g1.path == "9801/980101/980101002/980101001001/980101001001001/"
    assert set(Area.objects.within(tiny_city.town2).grids().values_list("code", flat=True)) == {
        "980101001001001", "980101001001002", "980101002001001",
    }


def test_an_area_cannot_move_under_its_own_descendant(tiny_city):
    town1 = tiny_city.town1
    town1.parent = tiny_city.comm_a
    town1.level = Level.GRID
    with pytest.raises(IntegrityError), transaction.atomic():
        town1.save()


def test_raising_a_level_above_its_children_is_refused(tiny_city):
    comm = tiny_city.comm_a
    comm.level = Level.GRID
    with pytest.raises(IntegrityError, match="above its children"), transaction.atomic():
        comm.save()


def test_grid_profile_flags_grids_far_outside_the_guidance(tiny_city):
    profile = tiny_city.g1.profile
    assert profile.outside_guidance is False
    profile.households = 1200
    profile.save()
    profile.refresh_from_db()
    assert profile.outside_guidance is True
    profile.households, profile.population = 60, 150
    profile.save()
    profile.refresh_from_db()
    assert profile.outside_guidance is True


def test_grid_profile_only_on_grids(tiny_city):
    with pytest.raises(ValidationError):
        GridProfile(grid=tiny_city.town1).full_clean()


def test_centre_level_constraint(tiny_city):
    with pytest.raises(IntegrityError), transaction.atomic():
        Centre.objects.create(name="community centre", area=tiny_city.comm_a, level=Level.COMMUNITY)
    with pytest.raises(ValidationError):
        Centre(name="mismatch", area=tiny_city.comm_b, level=Level.TOWN).full_clean()


def test_membership_place_must_fit_the_role(tiny_city):
    user = get_user_model().objects.create_user("m")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=Role.DEPT_HANDLER, area=tiny_city.town1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=Role.GRID_WORKER)
    with pytest.raises(ValidationError):
        Membership(user=user, role=Role.GRID_WORKER, area=tiny_city.town1).full_clean()
    with pytest.raises(ValidationError):
        Membership(user=user, role=Role.CENTRE_OPERATOR, area=tiny_city.comm_a).full_clean()


def test_membership_is_unique_even_without_a_place(tiny_city):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=tiny_city.admin, role=Role.ADMIN)


def test_a_user_can_hold_several_memberships(tiny_city):
    Membership.objects.create(user=tiny_city.g1_worker, role=Role.GRID_WORKER, area=tiny_city.g2)
    assert tiny_city.g1_worker.memberships.count() == 2


def test_boundary_is_optional_but_stored_as_multipolygon(tiny_city):
    area = Area.objects.create(code="980101001002", name="no map yet", level=Level.COMMUNITY, parent=tiny_city.town1)
    assert area.centroid is None
    area.boundary = box(113.0, 23.0, 113.001, 23.001)
    area.save()
    assert area.centroid is not None
