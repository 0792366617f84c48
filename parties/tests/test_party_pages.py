"""The party network page's forms: place an organisation, enrol a member, take one off; scoped, and
bad input answered with the form and a 400, nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from parties import actions, pii
from parties.models import PartyMember, PartyOrganisation
from parties.tests.conftest import ID_B

pytestmark = pytest.mark.django_db

ID_C = pii.make_id_number("440604", dt.date(1975, 3, 8), 21, female=True)


def _page(client, user, area):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client.get(f"/people/party/?area={area.code}", HTTP_ACCEPT_LANGUAGE="en")


def test_forms_show_to_those_who_may_act_only(network, client):
    c = network.city
    page = _page(client, c.t1_operator, c.comm_a).content.decode()
    assert 'id="new-organisation"' in page and 'id="new-member"' in page and "Take off" in page
    # Town Two's organisations are not offered to Town One's centre.
    assert "B-1党小组" not in page
    page = _page(client, c.city_official, c.comm_a).content.decode()  # sees the city, acts on nothing
    assert "东苑党小组" in page and 'id="new-organisation"' not in page and 'id="new-member"' not in page


def test_place_an_organisation(network, client):
    c = network.city
    client.force_login(c.t1_operator)
    client.cookies["django_language"] = "en"
    url = f"/people/party/organisations/new/?area={c.comm_a.code}"
    response = client.post(url, {"name": "A-2第二党小组", "kind": "group", "area": c.g2.pk,
                                 "parent": network.branch.pk})
    assert response.status_code == 302
    made = PartyOrganisation.objects.get(name="A-2第二党小组")
    assert (made.area, made.parent, made.area_path) == (c.g2, network.branch, c.g2.path)

    # A group cannot lead a branch: the form again with the reason, nothing written.
    before = PartyOrganisation.objects.count()
    response = client.post(url, {"name": "错", "kind": "branch", "area": c.g2.pk, "parent": network.g2_group.pk},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "cannot lead" in response.content.decode()
    # Another town's area or organisation is not a choice here.
    response = client.post(url, {"name": "错", "kind": "group", "area": c.g3.pk})
    assert response.status_code == 400
    response = client.post(url, {"name": "错", "kind": "group", "area": c.g1.pk, "parent": network.g3_group.pk})
    assert response.status_code == 400
    assert PartyOrganisation.objects.count() == before
    # An area out of scope, in the URL: the same 404 as a missing one.
    assert client.post(f"/people/party/organisations/new/?area={c.comm_b.code}",
                       {"name": "x", "kind": "group", "area": c.g3.pk}).status_code == 404
    assert client.post("/people/party/organisations/new/?area=nonesuch",
                       {"name": "x", "kind": "group", "area": c.g3.pk}).status_code == 404


def test_enrol_and_take_off_a_member(network, client):
    c = network.city
    people = network.people
    erin = actions.create_resident(actor=None, name="Erin", house=people.h1, id_number=ID_C)
    client.force_login(c.t1_operator)
    client.cookies["django_language"] = "en"
    url = f"/people/party/members/new/?area={c.comm_a.code}"

    # A building head needs a building: refused, nothing written.
    response = client.post(url, {"organisation": network.g1_group.pk, "id_number": ID_C.lower(),
                                 "is_building_head": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "Say which building" in response.content.decode()
    assert not PartyMember.objects.filter(resident=erin).exists()

    # Bob lives in Town Two: his ID number finds nobody here (the same answer as a made-up number).
    for number in (ID_B, "11010519491231002X"):
        response = client.post(url, {"organisation": network.g1_group.pk, "id_number": number},
                               HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert "No resident with this ID card number in your area" in response.content.decode()
    response = client.post(url, {"organisation": network.g1_group.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "login name" in response.content.decode()

    response = client.post(url, {"organisation": network.g1_group.pk, "id_number": f" {ID_C} ",
                                 "is_grid_worker": "on", "joined_on": "2010-07-01"})
    assert response.status_code == 302
    member = PartyMember.objects.get(resident=erin)
    assert (member.organisation, member.is_grid_worker, member.joined_on) == (
        network.g1_group, True, dt.date(2010, 7, 1))
    # Enrolling her again: refused.
    response = client.post(url, {"organisation": network.g1_group.pk, "id_number": ID_C}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "already a party member" in response.content.decode()

    # Taking off: Bob (Town Two) is out of reach, the same 404 as a missing member.
    assert client.post(f"/people/party/members/{network.bob.pk}/remove/").status_code == 404
    assert client.post("/people/party/members/999999999/remove/").status_code == 404
    assert client.get(f"/people/party/members/{member.pk}/remove/").status_code == 405
    assert client.post(f"/people/party/members/{member.pk}/remove/").status_code == 302
    assert not PartyMember.objects.filter(pk=member.pk).exists()
    assert PartyMember.objects.filter(pk=network.bob.pk).exists()


def test_a_grid_worker_acts_on_their_grid_only(network, client):
    c = network.city
    client.force_login(c.g1_worker)
    assert client.post(f"/people/party/members/new/?area={c.comm_b.code}",
                       {"organisation": network.g3_group.pk, "id_number": ID_B}).status_code == 404
    assert client.post(f"/people/party/members/{network.bob.pk}/remove/").status_code == 404
    assert PartyMember.objects.filter(pk=network.bob.pk).exists()
