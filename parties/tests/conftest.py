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
