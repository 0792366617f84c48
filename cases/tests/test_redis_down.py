"""Redis down never loses or refuses a report (DESIGN.md §9): the report is committed and answered,
its lost triage task is made up by the reconcile sweep, and the enqueue path recovers by itself.

(/healthz naming Redis when it is stopped is tests/test_health.py.)
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

import pytest
import redis
import time_machine
from django.utils import timezone

from cases import tasks
from cases.choices import Action, Status
from cases.models import Case, CaseEvent

# Committed data, so that transaction.on_commit fires and the enqueue really talks to Redis.
pytestmark = pytest.mark.django_db(transaction=True)

CASES = "/api/v1/cases/"
# Not a timed assertion of speed: a guard against a request that hangs on the dead broker (kombu's
# reconnect loop ~6 s, the Redis result backend's 20 × 1 s).
NO_HANG = 3.0


@pytest.fixture
def redis_here(settings, private_redis):
    """Django (cache) and the Celery app (broker and result store) on the private redis-server.

    The app reads its URLs when it is configured and keeps pools of open connections, so besides
    the settings it gets the new URLs and loses its pooled connections, producers and result
    backend; the same again afterwards with the old URLs.
    """
    from kombu import pools

    from govgrid.celery import app

    def use(broker_url: str, backend_url: str) -> None:
        app.conf.broker_url, app.conf.result_backend = broker_url, backend_url
        pools.reset()  # close and forget every pooled broker connection and producer of this process
        app._after_fork()  # the app's references to those pools: what Celery itself drops in a forked child
        app._backend_cache = None
        vars(app._local).pop("backend", None)

    saved = (app.conf.broker_url, app.conf.result_backend)
    url = private_redis.url
    settings.REDIS_URL = settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    use(url, url)
    yield private_redis
    use(*saved)


def report(api, user, lon: float = 113.005, lat: float = 23.005) -> tuple[int, float]:
    started = time.monotonic()
    response = api.as_(user).post(
        CASES,
        {"category": "0101", "lon": lon, "lat": lat, "description": "路边有一堆暴露垃圾",
         "client_uuid": str(uuid.uuid4())},
        format="json",
    )
    took = time.monotonic() - started
    assert response.status_code == 201, response.content.decode()
    return response.json()["id"], took


def queued_triage_tasks(url: str) -> int:
    return redis.Redis.from_url(url).llen("pipeline")


def test_a_report_with_redis_down_is_answered_and_triaged_by_the_sweep(redis_here, tiny_city, categories, api,
                                                                        caplog):
    # Redis up: the triage task is queued (no worker listens here) and the pool holds a live connection.
    before, _ = report(api, tiny_city.g1_worker)
    assert queued_triage_tasks(redis_here.url) == 1

    redis_here.stop()
    caplog.set_level(logging.WARNING, logger="govgrid.tasks")
    # Twice: first on the stale pooled connection, then on a fresh connection attempt.
    down = []
    for lon in (113.006, 113.007):
        case_id, took = report(api, tiny_city.g1_worker, lon=lon)
        assert took < NO_HANG, f"a report with Redis down took {took:.1f} s"
        down.append(case_id)
    # 2xx means committed: the cases are there, untriaged, with their report events.
    for case in Case.objects.filter(pk__in=down):
        assert case.status == Status.REPORTED and case.triaged_at is None
        assert CaseEvent.objects.filter(case=case, action=Action.REPORT).exists()
    lost = [r.getMessage() for r in caplog.records if r.name == "govgrid.tasks"]
    assert sum("could not enqueue cases.tasks.triage_case" in m for m in lost) == 2
    assert sum("could not enqueue cases.tasks.notify_event" in m for m in lost) == 2

    # Redis is back: sending works again without a restart of the web process.
    redis_here.start()
    after, took = report(api, tiny_city.g1_worker, lon=113.008)
    assert took < NO_HANG
    assert queued_triage_tasks(redis_here.url) == 1  # the new server started empty

    # The reconcile sweep (as beat runs it) leaves reports under a minute old to their own task...
    assert tasks.reconcile_triage() == 0
    # ...and two minutes later triages every report still waiting, including the lost ones.
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert tasks.reconcile_triage() == 4
        assert tasks.reconcile_triage() == 0
    for case in Case.objects.filter(pk__in=[before, *down, after]):
        assert case.triaged_at is not None and case.suggested_department == tiny_city.town1_um
        assert CaseEvent.objects.filter(case=case, action=Action.TRIAGE).count() == 1
