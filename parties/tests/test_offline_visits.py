"""A visit sent twice from the phone's offline queue (same client_uuid) is recorded once: the page
answers the queue in JSON, the API answers 200 with the first visit."""

from __future__ import annotations

import uuid

import pytest

from cases.tests.conftest import photo
from parties import actions
from parties.models import Visit

JSON = {"HTTP_ACCEPT": "application/json", "HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def key_person(people):
    return actions.set_key_person(actor=None, resident=people.alice, category="released",
                                  worker=people.city.g1_worker, visit_every_days=7)


def test_a_visit_sent_twice_from_the_page_is_one_visit(client, people, key_person):
    client.force_login(people.city.g1_worker)
    data = {"note": "在家，情绪稳定", "findings": "", "client_uuid": str(uuid.uuid4())}
    url = f"/m/grid/key-persons/{key_person.pk}/visit/"
    first = client.post(url, {**data, "photo": photo()}, **JSON)
    again = client.post(url, {**data, "photo": photo()}, **JSON)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["ok"] is True
    visit = Visit.objects.get(client_uuid=data["client_uuid"])
    assert Visit.objects.count() == 1 and visit.photo and first.json()["url"] == f"/m/grid/visits/{visit.pk}/"
    refused = client.post(url, {"note": "", "findings": "", "client_uuid": str(uuid.uuid4())}, **JSON)
    assert refused.status_code == 400 and refused.json()["errors"]["note"]


def test_a_visit_sent_twice_through_the_api_answers_200_the_second_time(api, people, key_person):
    client = api.as_(people.city.g1_worker)
    data = {"key_person": key_person.pk, "note": "到访", "client_uuid": str(uuid.uuid4())}
    first = client.post("/api/v1/visits/", data, format="json")
    again = client.post("/api/v1/visits/", data, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Visit.objects.count() == 1


def test_the_action_returns_the_first_visit_for_the_same_worker_only(people, key_person):
    c = people.city
    token = uuid.uuid4()
    first = actions.record_visit(key_person, actor=c.g1_worker, note="一", client_uuid=token)
    assert actions.record_visit(key_person, actor=c.g1_worker, note="二", client_uuid=str(token)) == first
    other = actions.record_visit(key_person, actor=c.g1_leader, note="三", client_uuid=token)
    assert other != first and Visit.objects.count() == 2
