"""The people of a seeded city: valid encrypted numbers, points inside grids, key persons with visits."""

from __future__ import annotations

import pytest
from django.db import connection

from parties import pii
from parties.models import Building, KeyPerson, Resident, Visit
from parties.seed import seed_people

pytestmark = pytest.mark.django_db


def test_seed_people_in_the_tiny_city(tiny_city):
    result = seed_people(tiny_city.city, population=300, seed=7)
    assert result.residents == Resident.objects.count() >= 295
    for resident in Resident.objects.all():
        number, birth, sex = pii.parse_id_number(resident.decrypted_id_number())
        assert (birth, sex) == (resident.birth_date, resident.sex)
        assert resident.area_path == resident.grid.path
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM parties_building b JOIN grids_area a ON a.id = b.grid_id"
                       " WHERE NOT ST_Covers(a.boundary, b.point)")
        assert cursor.fetchone()[0] == 0
    assert Building.objects.count() == result.buildings > 0
    assert KeyPerson.objects.count() == result.key_persons > 0
    assert Visit.objects.count() == result.visits > 0
    assert KeyPerson.objects.filter(worker__isnull=False).exists()  # g1_worker, g3_worker answer for theirs
    # The party network: a group on every grid with members, a grid worker each, members in scope rows.
    from parties.models import PartyMember, PartyOrganisation
    from parties.party_figures import party_figures

    assert result.party_members == PartyMember.objects.count() > 0
    total = party_figures(None, tiny_city.city)["total"]
    assert total["grid_workers"] == PartyOrganisation.objects.filter(kind="group").count() == total["grid_groups"]
    assert not PartyMember.objects.exclude(area_path__startswith=tiny_city.city.path).exists()
    # A second run over the same city adds nobody.
    assert seed_people(tiny_city.city, population=300).residents == 0
