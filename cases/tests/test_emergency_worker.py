"""Emergency mode through a real Celery worker: switching on commits at once, and the worker re-plans the
subtree's clocks and tells its people after commit (the ``celery_worker`` fixture; data is committed)."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest

from cases.models import Case, Notification

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]
WAIT = 20


def wait_for(what: str, predicate):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"the worker did not get {what} done within {WAIT} s")


def test_switching_on_replans_and_announces_on_the_worker(celery_worker, tiny_city, categories, api):
    reported = api.as_(tiny_city.g1_worker).post(
        "/api/v1/cases/", {"category": "0101", "lon": 113.005, "lat": 23.005, "description": "积水",
                           "client_uuid": str(uuid.uuid4())}, format="json")
    assert reported.status_code == 201
    case_id = reported.json()["id"]
    response = api.as_(tiny_city.city_official).post(
        "/api/v1/activations/", {"area": tiny_city.town1.code, "level": 1, "reason": "内涝"}, format="json")
    assert response.status_code == 201
    wait_for("the re-plan", lambda: Case.objects.get(pk=case_id).clock_factor == Decimal("0.25"))
    told = wait_for("the announcement", lambda: set(
        Notification.objects.filter(key__startswith=f"activation:{response.json()['id']}:")
        .values_list("recipient__username", flat=True)) >= {"g1_worker", "t1_operator", "handler"} or None)
    assert told
