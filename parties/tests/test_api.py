"""The parties REST API: scoped lists with masked numbers, filters, reveal with a reason, writes."""

from __future__ import annotations

import pytest

from parties import actions
from parties.models import PiiAccessLog, Resident
from parties.tests.conftest import ID_A, PHONE_A

pytestmark = pytest.mark.django_db


def test_residents_list_is_scoped_and_masked(people, api):
    c = people.city
    body = api.as_(c.g1_worker).get("/api/v1/residents/").json()
    assert [r["name"] for r in body["results"]] == ["Alice"]
    row = body["results"][0]
    assert row["id_number"] == ID_A[:6] + "********" + ID_A[-4:] and row["phone"] == "138****5678"
    assert ID_A not in str(body) and PHONE_A not in str(body)
    detail = api.as_(c.city_official).get(f"/api/v1/residents/{people.alice.pk}/").json()
    assert detail["id_number"].count("*") == 8
    # Out of scope and missing: the same 404 body.
    outside = api.as_(c.g3_worker).get(f"/api/v1/residents/{people.alice.pk}/")
    missing = api.as_(c.g3_worker).get("/api/v1/residents/999999999/")
    assert outside.status_code == missing.status_code == 404 and outside.json() == missing.json()


def test_resident_filters(people, api):
    c = people.city
    actions.set_key_person(actor=None, resident=people.bob, category="drug")
    client = api.as_(c.district_lead)

    def names(query):
        response = client.get("/api/v1/residents/?" + query)
        assert response.status_code == 200, response.json()
        return {r["name"] for r in response.json()["results"]}

    assert names(f"within={c.town1.code}") == {"Alice"}
    assert names("residence_kind=floating") == {"Bob"}
    assert names("key_person_category=drug") == {"Bob"}
    assert names("key_person_category=mental") == set()
    assert names(f"id_number={ID_A}") == {"Alice"}
    assert names("phone=138-1234-5678") == {"Alice"}
    assert client.get("/api/v1/residents/?within=nope").status_code == 400


def test_reveal_endpoint_logs_and_refuses(people, api):
    c, url = people.city, f"/api/v1/residents/{people.alice.pk}/reveal/"
    response = api.as_(c.g1_worker).post(url, {"field": "phone", "reason": "call before the visit"}, format="json")
    assert response.status_code == 200 and response.json()["value"] == PHONE_A
    assert response["Cache-Control"] == "no-store"
    assert api.as_(c.g1_worker).post(url, {"field": "id_number", "reason": "want it"},
                                     format="json").status_code == 403
    assert api.as_(c.city_official).post(url, {"field": "phone", "reason": "want it"},
                                         format="json").status_code == 403
    assert api.as_(c.g3_worker).post(url, {"field": "phone", "reason": "want it"}, format="json").status_code == 404
    assert api.as_(c.t1_operator).post(url, {"field": "id_number"}, format="json").status_code == 400
    assert PiiAccessLog.objects.count() == 1


def test_create_resident_and_duplicate(people, api):
    c = people.city
    client = api.as_(c.g1_worker)
    response = client.post("/api/v1/residents/", {"name": "Carol", "grid": c.g1.code, "phone": "13700001111",
                                                  "id_number": "11010519491231002X"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["sex"] == "F" and response.json()["phone"] == "137****1111"
    again = client.post("/api/v1/residents/", {"name": "Carol 2", "grid": c.g1.code,
                                               "id_number": "11010519491231002x"}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "duplicate"
    bad = client.post("/api/v1/residents/", {"name": "Dan", "grid": c.g1.code, "id_number": "110105194912310021"},
                      format="json")
    assert bad.status_code == 400 and "id_number" in bad.json()["errors"]
    # A grid outside the worker's scope is answered like a missing one.
    assert client.post("/api/v1/residents/", {"name": "Eve", "grid": c.g3.code}, format="json").status_code == 404
    assert api.as_(c.city_official).post("/api/v1/residents/", {"name": "Eve", "grid": c.g1.code},
                                         format="json").status_code == 404
    assert Resident.objects.count() == 3


def test_key_person_and_visit_through_the_api(people, api):
    c = people.city
    client = api.as_(c.g1_worker)
    kp = client.post("/api/v1/key-persons/", {"resident": people.alice.pk, "category": "elderly_alone",
                                              "worker": c.g1_worker.pk, "visit_every_days": 14}, format="json")
    assert kp.status_code == 201, kp.json()
    visit = client.post("/api/v1/visits/", {"key_person": kp.json()["id"], "note": "fine"}, format="json")
    assert visit.status_code == 201 and visit.json()["on_time"] is True
    assert api.as_(c.g3_worker).post("/api/v1/visits/", {"key_person": kp.json()["id"]},
                                     format="json").status_code == 404
    client = api.as_(c.g1_worker)
    building = client.get(f"/api/v1/buildings/{people.b1.pk}/").json()
    assert building["roles"] == []
    role = client.post(f"/api/v1/buildings/{people.b1.pk}/roles/", {"role": "building_head",
                                                                    "resident": people.alice.pk}, format="json")
    assert role.status_code == 201 and role.json()["holder"] == "Alice"


def test_residents_list_queries_do_not_grow_with_rows(people, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = people.city
    client = api.as_(c.district_lead)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/residents/?key_person_category=&within=" + c.district.code).status_code == 200
        return len(captured)

    queries()  # the first request fills the per-process caches (the scope: govgrid.versioned)
    before = queries()
    for n in range(5):
        actions.create_resident(actor=None, name=f"R{n}", grid=c.g1)
    assert queries() == before


def test_organisation_contact_phone_is_masked_and_revealed_with_a_reason(people, api):
    c = people.city
    shop = actions.create_organisation(actor=None, name="Corner shop", kind="shop", building=people.b1,
                                       contact_name="Carol", contact_phone="13900001111")
    listed = api.as_(c.city_official).get("/api/v1/organisations/").json()["results"]
    assert [(o["name"], o["contact_phone"]) for o in listed] == [("Corner shop", "139****1111")]
    url = f"/api/v1/organisations/{shop.pk}/reveal/"
    assert api.as_(c.city_official).post(url, {"field": "contact_phone", "reason": "call the owner"},
                                         format="json").status_code == 403
    answer = api.as_(c.g1_worker).post(url, {"field": "contact_phone", "reason": "call the owner"}, format="json")
    assert answer.status_code == 200 and answer.json()["value"] == "13900001111"
    assert PiiAccessLog.objects.get().organisation_id == shop.pk
