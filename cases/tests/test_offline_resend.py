"""What the phone's offline queue relies on (govgrid/offline.py): the forms answer in JSON, and a resend
with the same client_uuid acts once — a report, an on-site verification (page and API) — and the
service worker script is served for the /m/ scope, never cached."""

from __future__ import annotations

import uuid

import pytest

from cases.choices import Action, Status
from cases.models import Case, CaseEvent
from cases.tests.conftest import photo
from cases.tests.test_worker_views import handled_case, report_data

JSON = {"HTTP_ACCEPT": "application/json", "HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def worker(client, tiny_city):
    client.force_login(tiny_city.g1_worker)
    client.cookies["django_language"] = "en"
    return client


def test_a_report_sent_twice_is_one_case_with_its_photo(worker, tiny_city, categories):
    data = report_data(categories)
    first = worker.post("/m/report/", {**data, "photos": photo()}, **JSON)
    again = worker.post("/m/report/", {**data, "photos": photo()}, **JSON)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["url"] == again.json()["url"]
    case = Case.objects.get(client_uuid=data["client_uuid"])
    assert Case.objects.count() == 1 and case.attachments.count() == 1


def verify_data(**extra) -> dict:
    return {"verify-passed": "pass", "verify-note": "已清理", "verify-client_uuid": str(uuid.uuid4()),
            "verify-photos": photo(), **extra}


def test_a_verification_sent_twice_answers_the_first_result_not_a_conflict(worker, tiny_city, categories):
    case = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    data = verify_data()
    url = f"/cases/{case.pk}/do/verify/"
    first = worker.post(url, data, **JSON)
    again = worker.post(url, {**data, "verify-photos": photo()}, **JSON)
    assert first.status_code == again.status_code == 200, again.content
    assert first.json() == again.json() == {"ok": True, "url": f"/cases/{case.pk}/"}
    case.refresh_from_db()
    events = CaseEvent.objects.filter(case=case, action=Action.VERIFY)
    assert case.status == Status.VERIFIED and events.count() == 1
    assert str(events.get().client_uuid) == data["verify-client_uuid"]
    assert case.attachments.filter(kind="verification").count() == 1
    # A new verification (another id) of the case verified already is refused as before.
    third = worker.post(url, verify_data(), **JSON)
    assert third.status_code == 409 and third.json()["ok"] is False and third.json()["errors"]["form"]


def test_a_verification_refused_answers_the_reasons_in_json(worker, tiny_city, categories):
    case = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    answer = worker.post(f"/cases/{case.pk}/do/verify/", verify_data(**{"verify-passed": "fail",
                                                                              "verify-note": ""}), **JSON)
    assert answer.status_code == 400
    assert answer.json()["ok"] is False and answer.json()["errors"]["note"]
    assert not CaseEvent.objects.filter(case=case, action=Action.VERIFY).exists()


def test_the_same_verification_through_the_api_acts_once(api, tiny_city, categories):
    case = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    client = api.as_(tiny_city.g1_worker)
    data = {"passed": "true", "note": "ok", "client_uuid": str(uuid.uuid4())}
    first = client.post(f"/api/v1/cases/{case.pk}/verify/", {**data, "photos": photo()}, format="multipart")
    again = client.post(f"/api/v1/cases/{case.pk}/verify/", {**data, "photos": photo()}, format="multipart")
    assert first.status_code == again.status_code == 200, again.content
    assert CaseEvent.objects.filter(case=case, action=Action.VERIFY).count() == 1


def test_a_client_uuid_spent_on_one_case_is_refused_on_another(worker, tiny_city, categories):
    case = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    data = verify_data()
    assert worker.post(f"/cases/{case.pk}/do/verify/", data, **JSON).status_code == 200
    other = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    answer = worker.post(f"/cases/{other.pk}/do/verify/", {**data, "verify-photos": photo()}, **JSON)
    # Same verifier, same id, another case: the id is spent; a clear refusal, nothing twice.
    assert answer.status_code == 400 and answer.json()["errors"]
    assert CaseEvent.objects.filter(action=Action.VERIFY, client_uuid=data["verify-client_uuid"]).count() == 1


def test_the_service_worker_is_served_for_the_phone_pages_and_never_cached(worker):
    answer = worker.get("/m/sw.js")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/javascript")
    assert "no-cache" in answer["Cache-Control"]
    body = answer.content.decode()
    assert "addEventListener(\"fetch\"" in body and "/static/js/offline.js" in body
    assert worker.post("/m/sw.js").status_code == 405


def test_worker_pages_carry_the_queue_badge(worker):
    html = worker.get("/m/").content.decode()
    assert 'id="offline-queue"' in html and "/static/js/offline.js" in html and 'data-user="g1_worker"' in html
