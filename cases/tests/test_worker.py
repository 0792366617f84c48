"""The pipeline's tasks through a real Celery worker on Redis (the ``celery_worker`` fixture).

The worker is another process on another database connection, so these tests commit their data
(``transaction=True``); that is also what makes ``transaction.on_commit`` fire and enqueue the tasks.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import jobs, tasks
from cases.choices import Action, Light
from cases.models import Case, CaseEvent, Notification

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

CASES = "/api/v1/cases/"
SPOT = (113.005, 23.005)  # inside grid A-1 of Town One
NEAR_SPOT = (113.0052, 23.0051)  # about 23 m away: within the category's 50 m duplicate radius
WAIT = 20  # seconds; the worker takes well under one


def report(api, user, lon: float, lat: float) -> int:
    response = api.as_(user).post(
        CASES,
        {"category": "0101", "lon": lon, "lat": lat, "description": "路边有一堆暴露垃圾",
         "client_uuid": str(uuid.uuid4())},
        format="json",
    )
    assert response.status_code == 201, response.content.decode()
    return response.json()["id"]


def wait_for(what: str, predicate):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"the worker did not get {what} done within {WAIT} s")


def triaged(case_id: int) -> Case:
    return wait_for(f"case {case_id} triaged",
                    lambda: Case.objects.filter(pk=case_id, triaged_at__isnull=False).first())


def test_a_report_is_triaged_by_the_worker(celery_worker, tiny_city, categories, api):
    first = triaged(report(api, tiny_city.g1_worker, *SPOT))
    # 0101 has a town-level lead of kind urban_management: the town's 城管中队, not the district's 城管局.
    assert first.suggested_department == tiny_city.town1_um
    triage = CaseEvent.objects.get(case=first, action=Action.TRIAGE)
    assert triage.payload == {"suggested_department": tiny_city.town1_um.pk, "duplicates": []}
    assert list(first.duplicate_candidates.all()) == []

    second = triaged(report(api, tiny_city.g1_worker, *NEAR_SPOT))
    assert second.suggested_department == tiny_city.town1_um
    assert list(second.duplicate_candidates.all()) == [first]
    assert CaseEvent.objects.get(case=second, action=Action.TRIAGE).payload["duplicates"] == [first.pk]


def test_the_report_notifies_the_centre_once_even_when_the_task_runs_twice(celery_worker, tiny_city, categories,
                                                                            api):
    case_id = report(api, tiny_city.g1_worker, *SPOT)
    event = CaseEvent.objects.get(case_id=case_id, action=Action.REPORT)
    notified = wait_for("the report notified", lambda: list(Notification.objects.filter(event=event)))
    # Town One's centre staff, not the reporter nor another town's centre.
    assert [n.recipient for n in notified] == [tiny_city.t1_operator]
    assert notified[0].case_id == case_id

    # The same event delivered again (a retry, a redelivery after a lost ack): the unique
    # (recipient, event) keeps it to one notice.
    tasks.notify_event.delay(event.pk).get(timeout=WAIT)
    tasks.notify_event.delay(event.pk).get(timeout=WAIT)
    assert Notification.objects.filter(event=event).count() == 1
    assert Notification.objects.filter(recipient=tiny_city.t1_operator).count() == 1


def test_the_deadline_sweep_runs_on_the_worker(celery_worker, tiny_city, categories, api):
    assert tasks.sweep_deadlines.delay().get(timeout=WAIT) == {"yellow": 0, "red": 0, "escalated": 0}

    case_id = report(api, tiny_city.g1_worker, *SPOT)
    triaged(case_id)
    # Three quarters of the accept time used up: the sweep turns the light yellow and warns the centre.
    past = timezone.now() - timedelta(minutes=1)
    Case.objects.filter(pk=case_id).update(warn_at=past, next_check_at=past)

    assert tasks.sweep_deadlines.delay().get(timeout=WAIT) == {"yellow": 1, "red": 0, "escalated": 0}
    case = Case.objects.get(pk=case_id)
    assert case.light == Light.YELLOW and case.next_check_at > case.due_at  # next: red, just after due
    light = CaseEvent.objects.get(case=case, action=Action.LIGHT)
    assert light.payload["to"] == Light.YELLOW
    # The sweep enqueued notify_events for its events; the worker ran that too.
    warned = wait_for("the yellow light notified", lambda: list(Notification.objects.filter(event=light)))
    assert [n.recipient for n in warned] == [tiny_city.t1_operator]

    # Nothing has changed since: a second sweep finds nothing to do.
    assert tasks.sweep_deadlines.delay().get(timeout=WAIT) == {"yellow": 0, "red": 0, "escalated": 0}


@pytest.mark.django_db(transaction=True)
def test_two_triages_linking_each_other_as_duplicates_do_not_deadlock(tiny_city, categories):
    """Each triage locks its own case and writes duplicate links that reference the other case."""
    import threading

    from django.db import connection

    from cases import actions

    first, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.005,
                                   lat=23.005, description="垃圾一")
    second, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.0051,
                                    lat=23.0051, description="垃圾二")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def triage(pk: int) -> None:
        try:
            barrier.wait(timeout=10)
            jobs.triage_case(pk)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=triage, args=(pk,)) for pk in (first.pk, second.pk)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.triaged_at and second.triaged_at
    assert list(second.duplicate_candidates.values_list("pk", flat=True)) == [first.pk]
