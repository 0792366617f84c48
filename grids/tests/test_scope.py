"""Scope for every role: which areas, grids and departments each persona sees and acts on."""

import pytest

from grids.choices import Role
from grids.models import Area, Membership
from grids.scope import (
    can_act_on_area,
    forget_scope,
    scope_for,
    visible_areas,
    visible_departments,
    visible_grids,
)


def codes(queryset):
    return {obj.code for obj in queryset}


def names(queryset):
    return {obj.name for obj in queryset}


ALL_GRIDS = {"980101001001001", "980101001001002", "980101002001001"}


def test_grid_worker_sees_and_acts_on_own_grid_only(tiny_city):
    user = tiny_city.g1_worker
    assert codes(visible_areas(user)) == {"980101001001001"}
    assert codes(visible_grids(user, act=True)) == {"980101001001001"}
    assert can_act_on_area(user, tiny_city.g1)
    assert not can_act_on_area(user, tiny_city.g2)
    assert names(visible_departments(user)) == set()


def test_grid_leader_is_scoped_like_a_grid_worker(tiny_city):
    assert codes(visible_grids(tiny_city.g1_leader)) == {"980101001001001"}


def test_centre_operator_sees_and_acts_on_the_town_subtree(tiny_city):
    user = tiny_city.t1_operator
    assert codes(visible_areas(user)) == {"980101001", "980101001001", "980101001001001", "980101001001002"}
    assert codes(visible_grids(user, act=True)) == {"980101001001001", "980101001001002"}
    assert not can_act_on_area(user, tiny_city.g3)
    # Dispatch targets: its own town's departments and those of the areas above it, not another town's.
    assert names(visible_departments(user, act=True)) == {"Town One 城管中队", "East 城管局"}


def test_district_lead_covers_every_town_below(tiny_city):
    assert codes(visible_grids(tiny_city.district_lead, act=True)) == ALL_GRIDS
    assert names(visible_departments(tiny_city.district_lead)) == {
        "Town One 城管中队", "East 城管局", "Town Two 司法所",
    }


def test_official_reads_the_subtree_but_acts_on_nothing(tiny_city):
    user = tiny_city.city_official
    assert codes(visible_grids(user)) == ALL_GRIDS
    assert Area.objects.count() == visible_areas(user).count()
    assert visible_areas(user, act=True).count() == 0
    assert not can_act_on_area(user, tiny_city.g1)
    assert visible_departments(user).count() == 3
    assert visible_departments(user, act=True).count() == 0


def test_department_handler_sees_its_department_only(tiny_city):
    user = tiny_city.handler
    assert names(visible_departments(user)) == {"Town One 城管中队"}
    assert visible_areas(user).count() == 0


@pytest.mark.parametrize("persona", ["admin", "superuser"])
def test_admin_sees_everything(tiny_city, persona):
    user = getattr(tiny_city, persona)
    assert visible_areas(user).count() == Area.objects.count()
    assert visible_departments(user, act=True).count() == 3
    assert can_act_on_area(user, tiny_city.g3)


def test_a_user_without_membership_sees_nothing(tiny_city):
    assert scope_for(tiny_city.nobody).is_empty
    assert visible_areas(tiny_city.nobody).count() == 0
    assert visible_departments(tiny_city.nobody).count() == 0


def test_anonymous_and_inactive_users_see_nothing(tiny_city):
    from django.contrib.auth.models import AnonymousUser

    assert visible_areas(AnonymousUser()).count() == 0
    user = tiny_city.t1_operator
    user.is_active = False
    forget_scope(user)
    assert visible_areas(user).count() == 0


def test_several_memberships_add_up(tiny_city):
    user = tiny_city.g1_worker
    Membership.objects.create(user=user, role=Role.GRID_WORKER, area=tiny_city.g3)
    Membership.objects.create(user=user, role=Role.OFFICIAL, area=tiny_city.town1)
    forget_scope(user)
    assert codes(visible_grids(user, act=True)) == {"980101001001001", "980101002001001"}
    # Town One as official adds grid 002 to what the worker sees, not to what they act on.
    assert codes(visible_grids(user)) == ALL_GRIDS


def test_scope_is_computed_once_per_user_object(tiny_city, django_assert_num_queries):
    user = tiny_city.t1_operator
    forget_scope(user)
    with django_assert_num_queries(1):
        scope_for(user)
        scope_for(user)
