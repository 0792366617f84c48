"""People in the tiny city (conftest.py at the root): a building, a house and residents in grids
A-1 (g1_worker's) and B-1 (g3_worker's), all written through parties.actions."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.contrib.gis.geos import Point

from parties import actions, pii

ID_A = pii.make_id_number("440604", dt.date(1980, 5, 17), 11, female=False)
ID_B = pii.make_id_number("440604", dt.date(1992, 2, 29), 12, female=True)
PHONE_A = "13812345678"
PHONE_B = "15987654321"


@pytest.fixture
def people(tiny_city):
    c = tiny_city
    b1 = actions.create_building(actor=None, grid=c.g1, number="1", point=Point(113.005, 23.005, srid=4326),
                                 road="岐江路", road_number="8", compound="东苑", floors=6, units=2)
    h1 = actions.create_house(actor=None, building=b1, unit="1", floor=3, room="301", is_rental=True)
    b3 = actions.create_building(actor=None, grid=c.g3, number="9", point=Point(113.025, 23.005, srid=4326),
                                 road="民族路", road_number="2")
    h3 = actions.create_house(actor=None, building=b3, unit="", floor=1, room="101")
    household = actions.register_household(actor=None, house=h1, number="H-1")
    alice = actions.create_resident(actor=None, name="Alice", house=h1, household=household, id_number=ID_A,
                                    phone=PHONE_A, relation_to_head="self")
    bob = actions.create_resident(actor=None, name="Bob", house=h3, id_number=ID_B, phone=PHONE_B,
                                  residence_kind="floating")
    return SimpleNamespace(city=c, b1=b1, h1=h1, b3=b3, h3=h3, household=household, alice=alice, bob=bob)


@pytest.fixture
def network(people):
    """Community A: a committee, a branch, a group on each grid; group A-1 is the compound 东苑's own.
    东苑 (A-1) and 西苑 (A-2) each have three members; Community B's group on B-1 has Bob."""
    c = people.city
    new = actions.create_resident
    carol = new(actor=None, name="Carol", house=people.h1)
    dan = new(actor=None, name="Dan", house=people.h1)
    b2 = actions.create_building(actor=None, grid=c.g2, number="5", point=Point(113.015, 23.005, srid=4326),
                                 compound="西苑")
    h2 = actions.create_house(actor=None, building=b2, room="202")
    west = [new(actor=None, name=f"West {n}", house=h2) for n in range(3)]
    org = actions.create_party_organisation
    committee = org(actor=None, name="A社区党委", kind="committee", area=c.comm_a)
    branch = org(actor=None, name="A社区第一支部", kind="branch", area=c.comm_a, parent=committee)
    g1_group = org(actor=None, name="东苑党小组", kind="group", area=c.g1, parent=branch, compound="东苑")
    g2_group = org(actor=None, name="A-2党小组", kind="group", area=c.g2, parent=branch)
    b_branch = org(actor=None, name="B社区支部", kind="branch", area=c.comm_b)
    g3_group = org(actor=None, name="B-1党小组", kind="group", area=c.g3, parent=b_branch)
    add = actions.add_party_member
    alice = add(actor=None, organisation=g1_group, resident=people.alice, is_grid_worker=True,
                joined_on=dt.date(2001, 7, 1))
    add(actor=None, organisation=g1_group, resident=carol)
    add(actor=None, organisation=g1_group, resident=dan)
    add(actor=None, organisation=g1_group, user=c.g1_worker, is_grid_worker=True)
    add(actor=None, organisation=g2_group, resident=west[0], is_grid_worker=True, is_building_head=True, building=b2)
    add(actor=None, organisation=g2_group, resident=west[1])
    add(actor=None, organisation=g2_group, resident=west[2])
    bob = add(actor=None, organisation=g3_group, resident=people.bob, is_grid_worker=True)
    return SimpleNamespace(people=people, city=c, committee=committee, branch=branch, g1_group=g1_group,
                           g2_group=g2_group, g3_group=g3_group, alice=alice, bob=bob, b2=b2)
