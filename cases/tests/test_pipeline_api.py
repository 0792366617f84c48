"""The whole pipeline over the API, each step by the right role."""

from __future__ import annotations

import uuid

from cases.choices import Status
from cases.models import Case, CaseEvent
from cases.tests.conftest import photo

CASES = "/api/v1/cases/"
INSIDE_G1 = {"lon": 113.005, "lat": 23.005}


def post(client, url, data=None, *, multipart=False):
    if multipart:
        return client.post(url, data or {}, format="multipart")
    return client.post(url, data or {}, format="json")


def ok(response, code=200):
    assert response.status_code == code, response.content.decode()
    return response.json()


def report(api, tiny_city, categories, **extra):
    client = api.as_(tiny_city.g1_worker)
    data = {"category": "0101", **INSIDE_G1, "description": "路边有一堆暴露垃圾", "client_uuid": str(uuid.uuid4()),
            **extra}
    return ok(post(client, CASES, data), 201)


def test_the_whole_pipeline(tiny_city, categories, api):
    case = report(api, tiny_city, categories)
    assert case["status"] == "reported" and case["grid_code"] == "980101001001001"
    assert case["centre_name"] == "Town One centre" and case["stage"] == "accept" and case["light"] == "green"
    url = f"{CASES}{case['id']}/"

    operator = api.as_(tiny_city.t1_operator)
    assert ok(post(operator, url + "accept/", {"note": "属实"}))["status"] == "accepted"
    case = ok(post(operator, url + "dispatch/", {"lead": tiny_city.town1_um.pk, "assists": [tiny_city.district_um.pk]}))
    assert case["status"] == "dispatched" and len(case["dispatches"]) == 2 and case["stage"] == "sign"

    # The lead (town 城管中队) signs, asks for more time, and the centre approves it.
    handler = api.as_(tiny_city.handler)
    case = ok(post(handler, url + "sign/"))
    assert case["status"] == "in_progress" and case["stage"] == "handle"
    before = case["handle_due_at"]
    ok(post(handler, url + "request-extension/", {"amount": "1", "unit": "working_days", "reason": "需协调环卫车辆"}))
    extension = ok(api.as_(tiny_city.t1_operator).get(url + "extensions/"))[0]
    case = ok(post(api.as_(tiny_city.t1_operator), url + "decide-extension/",
                   {"extension": extension["id"], "approve": True}))
    assert case["handle_due_at"] > before

    # The assisting district department signs and feeds back; the lead feeds back last.
    from django.contrib.auth import get_user_model

    from grids.models import Membership

    district_handler = get_user_model().objects.create_user("district_handler")
    Membership.objects.create(user=district_handler, role="dept_handler", department=tiny_city.district_um)
    assisting = api.as_(district_handler)
    ok(post(assisting, url + "sign/"))
    ok(post(assisting, url + "feedback/", {"note": "已配合清运"}))
    assert Case.objects.get(pk=case["id"]).status == Status.IN_PROGRESS
    case = ok(post(api.as_(tiny_city.handler), url + "feedback/", {"note": "已清理", "photos": [photo()]},
                   multipart=True))
    assert case["status"] == "handled" and case["stage"] == "verify"

    # Verification fails: rework; then passes.
    operator = api.as_(tiny_city.t1_operator)
    ok(post(operator, url + "assign-verification/", {"verifier": "g1_worker"}))
    worker = api.as_(tiny_city.g1_worker)
    case = ok(post(worker, url + "verify/", {"passed": False, "note": "仍有残留", "photos": [photo()]}, multipart=True))
    assert case["status"] == "in_progress" and case["rework_count"] == 1
    handler = api.as_(tiny_city.handler)
    ok(post(handler, url + "feedback/", {"note": "已彻底清理"}))
    ok(post(api.as_(district_handler), url + "feedback/", {"note": "已配合"}))
    operator = api.as_(tiny_city.t1_operator)
    ok(post(operator, url + "assign-verification/", {"verifier": "g1_worker"}))
    case = ok(post(api.as_(tiny_city.g1_worker), url + "verify/", {"passed": True, "photos": [photo()]},
                   multipart=True))
    assert case["status"] == "verified"

    operator = api.as_(tiny_city.t1_operator)
    case = ok(post(operator, url + "close/"))
    assert case["status"] == "closed" and case["closed_on_time"] is True
    case = ok(post(operator, url + "follow-up/", {"satisfaction": "satisfied"}))
    assert case["satisfaction"] == "satisfied"

    timeline = ok(operator.get(url + "timeline/"))
    actions = [event["action"] for event in timeline]
    assert actions[:4] == ["report", "accept", "dispatch", "sign"]
    assert actions.count("verify") == 2 and actions[-2:] == ["close", "follow_up"]
    assert CaseEvent.objects.filter(case_id=case["id"]).count() == len(timeline)
