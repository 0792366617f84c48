"""The party-building network (两网融合): figures computed by hand, scope, the REST API and the page."""

from __future__ import annotations

import datetime as dt

import pytest

from govgrid.errors import ActionError, NotFound
from parties import actions
from parties.party_figures import party_figures
from parties.tests.conftest import PHONE_A

pytestmark = pytest.mark.django_db


def test_figures_by_hand(network):
    c = network.city
    figures = party_figures(c.city_official, c.district)
    town1, town2 = figures["rows"]
    assert town1["area"] == c.town1 and town2["area"] == c.town2
    # Town One: grids A-1, A-2 (400 households each), a group on each, three grid workers (Alice, the
    # staff user, West 0), one building head; 东苑 and 西苑 have 3 members each, only 东苑 its own group.
    assert (town1["grids"], town1["grid_groups"], town1["groups_per_grid"]) == (2, 2, 1.0)
    assert (town1["members"], town1["grid_workers"], town1["building_heads"]) == (7, 3, 1)
    assert town1["households_per_worker"] == round(800 / 3, 1) == 266.7
    assert (town1["compounds"], town1["compounds_with_org"], town1["compound_share"]) == (2, 1, 50.0)
    assert (town2["grids"], town2["members"], town2["grid_workers"], town2["households_per_worker"]) == (1, 1, 1, 400)
    assert town2["compounds"] == 0 and town2["compound_share"] is None
    total = figures["total"]
    assert (total["grids"], total["groups"], total["grid_workers"], total["households_per_worker"]) == (3, 3, 4, 300)
    assert total["compound_share"] == 50.0
    # A compound's own organisation: 西苑 gets one, the share reaches 100 %.
    actions.create_party_organisation(actor=None, name="西苑党支部", kind="branch", area=c.g2, compound="西苑")
    assert party_figures(c.city_official, c.district)["total"]["compound_share"] == 100.0
    # A member who moves out no longer counts: 西苑 falls below three members.
    west = network.g2_group.members.exclude(is_building_head=True).first().resident
    actions.move_resident(west, actor=None, moved_on=dt.date(2026, 11, 1), moved_out=True)
    after = party_figures(c.city_official, c.district)["total"]
    assert (after["members"], after["compounds"], after["compound_share"]) == (7, 1, 100.0)
    # Scope: B-1's worker counts only B-1.
    scoped = party_figures(c.g3_worker, c.district)["total"]
    assert (scoped["grids"], scoped["members"], scoped["compounds"]) == (1, 1, 0)


def test_actions_refuse_bad_input_and_out_of_scope(network):
    c = network.city
    with pytest.raises(NotFound):  # B-1's worker cannot place anything on A-1
        actions.create_party_organisation(actor=c.g3_worker, name="x", kind="group", area=c.g1)
    with pytest.raises(ActionError) as bad:
        actions.create_party_organisation(actor=None, name="x", kind="committee", area=c.g1, parent=network.g1_group)
    assert bad.value.field == "parent"
    with pytest.raises(ActionError) as bad:
        actions.create_party_organisation(actor=None, name="x", kind="group", area=c.g3, parent=network.branch)
    assert bad.value.field == "parent"
    with pytest.raises(ActionError) as bad:
        actions.create_party_organisation(actor=None, name="x", kind="group", area=c.g1, compound="无此小区")
    assert bad.value.field == "compound"
    with pytest.raises(ActionError):  # already a member
        actions.add_party_member(actor=None, organisation=network.g2_group, resident=network.people.alice)
    with pytest.raises(ActionError) as bad:  # a building head needs a building
        actions.update_party_member(network.alice, actor=None, is_building_head=True)
    assert bad.value.field == "building"
    with pytest.raises(NotFound):
        actions.update_party_member(network.bob, actor=c.g1_worker, is_grid_worker=False)


def test_api_is_scoped_masked_and_refuses_bad_input(network, api):
    c = network.city
    client = api.as_(c.g1_worker)
    body = client.get("/api/v1/party-members/").json()
    names = {row["name"] for row in body["results"]}
    assert names == {"Alice", "Carol", "Dan", "g1_worker"}
    alice = next(row for row in body["results"] if row["name"] == "Alice")
    assert alice["phone"] == "138****5678" and PHONE_A not in str(body)
    orgs = {row["name"] for row in client.get("/api/v1/party-organisations/").json()["results"]}
    assert orgs == {"东苑党小组"}
    outside = client.get(f"/api/v1/party-members/{network.bob.pk}/")
    missing = client.get("/api/v1/party-members/999999999/")
    assert outside.status_code == missing.status_code == 404 and outside.json() == missing.json()
    assert client.get(f"/api/v1/party-organisations/{network.g3_group.pk}/").status_code == 404
    # Writes: bad input is a 4xx naming the field, a resident out of scope the same 404.
    lead = api.as_(c.t1_operator)
    assert lead.post("/api/v1/party-organisations/", {"name": "x", "kind": "nope", "area": c.g1.code},
                     format="json").status_code == 400
    assert lead.post("/api/v1/party-organisations/", {"name": "x", "kind": "group", "area": c.g3.code},
                     format="json").status_code == 404
    made = lead.post("/api/v1/party-organisations/", {"name": "A-2第二党小组", "kind": "group", "area": c.g2.code,
                                                      "parent": network.branch.pk}, format="json")
    assert made.status_code == 201, made.json()
    assert lead.post("/api/v1/party-members/", {"organisation": made.json()["id"],
                                                "resident": network.people.bob.pk}, format="json").status_code == 404
    bad = lead.post("/api/v1/party-members/", {"organisation": made.json()["id"], "joined_on": "yesterday"},
                    format="json")
    assert bad.status_code == 400 and "joined_on" in bad.json()["errors"]
    assert lead.post("/api/v1/party-members/", {"organisation": made.json()["id"]}, format="json").status_code == 400
    changed = lead.patch(f"/api/v1/party-members/{network.alice.pk}/", {"is_building_head": True,
                                                                        "building": network.people.b1.pk},
                         format="json")
    assert changed.status_code == 200 and changed.json()["is_building_head"] is True


@pytest.mark.parametrize("language, words", [("zh-hans", ["党建网络", "党建网格员"]),
                                             ("en", ["Party network", "Party grid workers"])])
def test_page_in_both_languages(network, client, language, words):
    c = network.city
    client.force_login(c.city_official)
    client.cookies["django_language"] = language
    response = client.get(f"/people/party/?area={c.district.code}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    text = response.content.decode()
    for word in words:
        assert word in text
    assert "东苑党小组" in text and "50.0 %" in text
    assert PHONE_A not in text and "138****5678" in text
    client.force_login(c.g3_worker)
    assert "东苑党小组" not in client.get("/people/party/").content.decode()


def test_dashboard_card_and_monthly_report(network, client):
    from reports import exports

    c = network.city
    client.force_login(c.city_official)
    client.cookies["django_language"] = "en"
    page = client.get(f"/reports/?area={c.district.code}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="party-figures-card"' in page and "50.0 %" in page and "300.0 households each" in page
    screen = client.get(f"/reports/screen/?area={c.district.code}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="screen-party"' in screen and "300.0" in screen
    section = exports._party_section(c.district, None, lambda rows, widths: rows, {"h2": None, "summary": None})
    assert "4 party grid workers, 300.0 households each" in section[1].text
    assert section[2][1] == ["Town One", 2, 3, "266.7", 1, "1 / 2"]
    assert exports.monthly_pdf(c.district, 2026, 11).startswith(b"%PDF")


def test_api_delete_and_staff_members(network, api):
    c = network.city
    outside = api.as_(c.g3_worker).delete(f"/api/v1/party-members/{network.alice.pk}/")
    assert outside.status_code == 404
    lead = api.as_(c.t1_operator)
    assert lead.delete(f"/api/v1/party-members/{network.alice.pk}/").status_code == 204
    assert lead.get(f"/api/v1/party-members/{network.alice.pk}/").status_code == 404
    staff = lead.post("/api/v1/party-members/", {"organisation": network.g2_group.pk, "user": c.g1_leader.pk,
                                                 "is_grid_worker": True}, format="json")
    assert staff.status_code == 201 and staff.json()["name"] == "g1_leader" and staff.json()["phone"] == ""
    assert lead.post("/api/v1/party-members/", {"organisation": "abc"}, format="json").status_code == 400
    assert lead.post("/api/v1/party-members/", {"organisation": network.g2_group.pk, "user": 999999},
                     format="json").status_code == 404
