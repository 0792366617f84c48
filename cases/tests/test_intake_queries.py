"""The lean intake path (issue #16): a report through the API costs a pinned number of SQL statements,
because centres, categories, activations and scopes come from per-process caches (govgrid.versioned)
that a change in any process invalidates."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Case
from grids.models import Membership

pytestmark = pytest.mark.django_db

SPOT = {"lon": 113.005, "lat": 23.005}  # grid A-1 of Town One
# Token and user; the place (grid, address, an earlier send) in one statement; the case; its event;
# the counters. Transaction control (BEGIN, COMMIT, the test's SAVEPOINTs) is not counted.
STATEMENTS_PER_REPORT = 5


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _post(client, **extra):
    body = {"category": "0101", **SPOT, "description": "路边有一堆暴露垃圾", "client_uuid": str(uuid.uuid4()),
            **extra}
    return client.post("/api/v1/cases/", body, format="json")


def _statements(captured) -> list[str]:
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    return [q["sql"] for q in captured.captured_queries
            if not q["sql"].split(";")[-1].strip().upper().startswith(control)]


def test_a_report_costs_five_statements(tiny_city, categories):
    client = _client(tiny_city.g1_worker)
    assert _post(client).status_code == 201  # the first fills the caches
    with CaptureQueriesContext(connection) as captured:
        response = _post(client)
    assert response.status_code == 201, response.content
    statements = _statements(captured)
    assert len(statements) == STATEMENTS_PER_REPORT, "\n".join(s[:160] for s in statements)

    # A resend of the same report: answered with the first case, nothing written.
    body = {"category": "0101", **SPOT, "description": "再发一次", "client_uuid": str(uuid.uuid4())}
    first = client.post("/api/v1/cases/", body, format="json")
    again = client.post("/api/v1/cases/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Case.objects.filter(client_uuid=body["client_uuid"]).count() == 1


def test_the_caches_follow_changes(tiny_city, categories):
    c = tiny_city
    client = _client(c.g1_worker)
    assert _post(client).status_code == 201
    assert Case.objects.latest("pk").centre.area == c.town1

    # A category switched off is refused at once.
    categories.garbage.is_active = False
    categories.garbage.save()
    response = _post(client)
    assert response.status_code == 400 and "category" in response.json()["errors"]
    categories.garbage.is_active = True
    categories.garbage.save()
    assert _post(client).status_code == 201

    # The worker taken off the grid may no longer report there (the scope cache was dropped).
    Membership.objects.filter(user=c.g1_worker).delete()
    client = _client(c.g1_worker)  # a new request, a fresh user object
    response = _post(client)
    assert response.status_code == 403, response.content


def test_a_change_in_another_process_is_seen(tiny_city, categories):
    """The version lives in Redis: a bump from elsewhere (another web process) drops this process's copy."""
    import redis
    from django.conf import settings

    from govgrid import versioned

    client = _client(tiny_city.g1_worker)
    assert _post(client).status_code == 201
    # Another process switched the category off: its row changed and it bumped the version in Redis,
    # which this process learns of only through Redis (no signal ran here).
    from cases.models import Category

    Category.objects.filter(pk=categories.garbage.pk).update(is_active=False)  # no signal here
    assert _post(client).status_code == 201  # this process still holds its copy
    redis.Redis.from_url(settings.REDIS_URL).incr(versioned.PREFIX + "categories")
    assert _post(client).status_code == 400


def test_redis_down_means_no_cache(tiny_city, categories, private_redis, settings):
    from cases.models import Category
    from govgrid import versioned

    settings.REDIS_URL = private_redis.url
    versioned._client = None
    try:
        client = _client(tiny_city.g1_worker)
        assert _post(client).status_code == 201
        private_redis.stop()
        Category.objects.filter(pk=categories.garbage.pk).update(is_active=False)  # no signal, no bump
        assert _post(client).status_code == 400  # read from the database: Redis is down
    finally:
        versioned._client = None


def test_a_report_reads_the_versions_once(tiny_city, categories, monkeypatch):
    """Four caches (centres, categories, activations, the reporter's scope), one MGET of their versions per
    request; outside a request (a worker) each read asks Redis."""
    from govgrid import versioned

    client = _client(tiny_city.g1_worker)
    assert _post(client).status_code == 201
    calls = []
    real = versioned._redis()
    monkeypatch.setattr(versioned, "_redis", lambda: calls.append(1) or real)
    assert _post(client).status_code == 201
    assert len(calls) == 1

    calls.clear()
    from cases.selectors import leaf_categories

    leaf_categories()
    leaf_categories()
    assert len(calls) == 2  # no request: every read checks
