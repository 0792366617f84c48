"""The disputes' REST endpoints: scoped (a case out of scope answers exactly as a missing one, for ids in
URLs and in bodies), parties masked, bad input a 4xx, and in the OpenAPI schema."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.disputes import ScreeningReport
from cases.tests.dispute_helpers import MONDAY, registered
from govgrid import clock
from parties import actions as party_actions
from parties import pii

PHONE = "13812345678"
ID = pii.make_id_number("440604", dt.date(1980, 5, 17), 11, female=False)


@pytest.fixture
def dispute(tiny_city, mediation):
    return registered(tiny_city, mediation, people_involved=3)


def test_out_of_scope_is_the_same_404_as_missing_and_mediators_reach_their_own(tiny_city, mediation, dispute, api):
    city, m = tiny_city, mediation
    missing = api.as_(city.admin).get("/api/v1/disputes/999999999/")
    assert missing.status_code == 404
    for outsider in (city.g3_worker, city.t2_operator, city.handler, city.nobody, m.judge):
        client = api.as_(outsider)
        assert client.get(f"/api/v1/disputes/{dispute.pk}/").json() == missing.json(), outsider
        answer = client.post(f"/api/v1/disputes/{dispute.pk}/hold-session/", {}, format="json")
        assert answer.status_code == 404 and answer.json()["detail"] == missing.json()["detail"]
        assert dispute.pk not in [row["case"] for row in client.get("/api/v1/disputes/").json()["results"]]
    for insider in (city.t1_operator, city.district_lead, city.city_official, m.lawyer, city.g1_worker):
        assert api.as_(insider).get(f"/api/v1/disputes/{dispute.pk}/").status_code == 200, insider
    # An id in the body out of reach: a centre of another town, a leader who is no official over it.
    client = api.as_(city.t1_operator)
    with clock.at(MONDAY + dt.timedelta(hours=1)):
        answer = client.post(f"/api/v1/disputes/{dispute.pk}/refer-dispute/",
                             {"target": "centre", "to_centre": m.town2_rc.pk, "reason": "x"}, format="json")
        assert answer.status_code == 404 and answer.json()["errors"]["to_centre"]
        answer = client.post(f"/api/v1/disputes/{dispute.pk}/assign-leader/", {"leader": "g3_worker"},
                             format="json")
        assert answer.status_code == 404


def test_parties_are_masked_and_the_actions_answer_4xx_on_bad_input(tiny_city, mediation, dispute, api):
    city, m = tiny_city, mediation
    alice = party_actions.create_resident(actor=None, name="Alice", grid=city.g1, id_number=ID, phone=PHONE)
    firm = party_actions.create_organisation(actor=None, name="东苑物业", kind="company", grid=city.g1,
                                             contact_phone="15987654321")
    bob = party_actions.create_resident(actor=None, name="Bob", grid=city.g3, phone="13900001111")
    client = api.as_(city.t1_operator)
    url = f"/api/v1/disputes/{dispute.pk}/"
    with clock.at(MONDAY + dt.timedelta(hours=1)):
        assert client.post(url + "add-party/", {"role": "applicant", "resident": alice.pk},
                           format="json").status_code == 200
        assert client.post(url + "add-party/", {"role": "respondent", "organisation": firm.pk},
                           format="json").status_code == 200
        # Bob lives in Town Two: out of the operator's reach, the 404 of a missing resident.
        assert client.post(url + "add-party/", {"role": "other", "resident": bob.pk}, format="json").status_code == 404
        assert client.post(url + "add-party/", {"role": "judge", "resident": alice.pk},
                           format="json").status_code == 400
        assert client.post(url + "add-party/", {"role": "other", "resident": alice.pk},
                           format="json").status_code == 409
        assert client.post(url + "hold-session/", {"held_at": "soon", "place": "x"}, format="json").status_code == 400
        answer = client.post(url + "hold-session/", {"held_at": "2026-03-02T08:00:00+08:00", "place": "调解室",
                                                     "method": "at_centre", "result": "continue"}, format="json")
        assert answer.status_code == 400 and "mediators" in answer.json()["errors"]  # operator is no mediator
        answer = client.post(url + "hold-session/", {"held_at": "2026-03-02T08:00:00+08:00", "place": "调解室",
                                                     "method": "at_centre", "result": "continue",
                                                     "mediators": ["lawyer"]}, format="json")
        assert answer.status_code == 200 and answer.json()["sessions"][0]["mediators"] == ["lawyer"]
        assert client.post(url + "mark-success/", {}, format="json").status_code == 409  # no agreement yet
        assert api.as_(m.lawyer).post(url + "assign-leader/", {"leader": "city_official"},
                                      format="json").status_code == 403
        body = client.get(url).json()
    parties = {p["name"]: p for p in body["parties"]}
    assert parties["Alice"]["phone"] == "138****5678" and parties["Alice"]["id_number"].count("*") >= 8
    assert parties["东苑物业"]["phone"] == "159****4321"
    assert PHONE not in str(body) and ID not in str(body)


def test_the_grid_workers_screening_report_over_rest(tiny_city, mediation, dispute, api):
    city = tiny_city
    client = api.as_(city.g1_worker)
    with clock.at(MONDAY + dt.timedelta(days=1)):
        answer = client.post("/api/v1/screening-reports/", {"grid": city.g1.code, "month": "2026-03-15",
                                                            "found": [dispute.pk]}, format="json")
        assert answer.status_code == 201 and answer.json()["found"] == [dispute.pk]
        assert client.post("/api/v1/screening-reports/", {"grid": city.g3.code, "month": "2026-03-01",
                                                          "zero": True}, format="json").status_code == 404
        assert client.post("/api/v1/screening-reports/", {"grid": city.g1.code, "month": "2026-03-01"},
                           format="json").status_code == 400
    assert ScreeningReport.objects.get().month == dt.date(2026, 3, 1)
    assert api.as_(city.g3_worker).get("/api/v1/screening-reports/").json()["results"] == []


def test_the_dispute_endpoints_are_in_the_schema(api, tiny_city):
    schema = api.as_(tiny_city.admin).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for name in ("open-dispute", "hold-session", "record-agreement", "grant-confirmation", "refer-dispute",
                 "record-visit", "assign-leader"):
        assert f"/api/v1/disputes/{{id}}/{name}/" in paths, name
    assert "/api/v1/screening-reports/" in paths
