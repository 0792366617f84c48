"""The live channel against a real server: a case reported through the action reaches the stream of a
screen watching its area within seconds, and only that one; a reconnect with Last-Event-ID misses
nothing; who may open a stream; publishing never fails an intake when Redis is down; events wait for
the commit; the light sweep publishes its changes."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

import pytest
from django.db import transaction

from cases import actions, jobs
from cases.choices import Light, Status
from govgrid import live
from reports.tests.live_helpers import SSE

pytestmark = pytest.mark.django_db(transaction=True)

INSIDE_G1 = {"lon": 113.005, "lat": 23.005}
INSIDE_G3 = {"lon": 113.025, "lat": 23.005}


def report(city, cats, reporter=None, where=INSIDE_G1):
    case, _created = actions.report_case(reporter=reporter or city.g1_worker, category=cats.garbage, **where,
                                         description="路边有一堆暴露垃圾，王先生 13800138000 报告")
    return case


def test_a_new_case_reaches_the_screens_of_its_area_and_no_other(live_stream, tiny_city, categories):
    with SSE(live_stream.port, tiny_city.t1_operator) as town_one, \
            SSE(live_stream.port, tiny_city.t2_operator) as town_two, \
            SSE(live_stream.port, tiny_city.city_official) as city:
        assert town_one.status == town_two.status == city.status == 200
        in_town_one = report(tiny_city, categories)

        event = town_one.next(timeout=5)
        assert event["data"]["kind"] == "case_new"
        assert event["data"]["id"] == in_town_one.pk
        assert event["data"]["path"] == tiny_city.g1.path
        assert event["data"]["status"] == Status.REPORTED and event["data"]["light"] == Light.GREEN
        assert event["data"]["lon"] == 113.005 and event["data"]["category"] == categories.garbage.pk
        # Ids and states, no people and no free text.
        text = str(event["data"])
        assert "13800138000" not in text and "王先生" not in text and "g1_worker" not in text
        assert city.next()["data"]["id"] == in_town_one.pk

        # Town Two's screen never got it: the first event it sees is Town Two's own case.
        in_town_two = report(tiny_city, categories, tiny_city.g3_worker, INSIDE_G3)
        assert town_two.next()["data"]["id"] == in_town_two.pk
        assert city.next()["data"]["id"] == in_town_two.pk

        # A status change follows on the same stream.
        actions.accept_case(in_town_one, actor=tiny_city.t1_operator)
        moved = town_one.next()["data"]
        assert (moved["kind"], moved["id"], moved["from"], moved["status"]) == (
            "case_status", in_town_one.pk, Status.REPORTED, Status.ACCEPTED)


def test_a_reconnect_with_last_event_id_gets_what_it_missed(live_stream, tiny_city, categories):
    with SSE(live_stream.port, tiny_city.t1_operator) as first:
        seen = report(tiny_city, categories)
        event = first.next()
        assert event["data"]["id"] == seen.pk
    # Away for a moment: two cases come in meanwhile.
    missed = [report(tiny_city, categories), report(tiny_city, categories)]
    with SSE(live_stream.port, tiny_city.t1_operator, last_event_id=event["id"]) as again:
        assert [again.next()["data"]["id"], again.next()["data"]["id"]] == [case.pk for case in missed]
    # A client without an id starts from now, not from the beginning.
    with SSE(live_stream.port, tiny_city.t1_operator) as fresh:
        newest = report(tiny_city, categories)
        assert fresh.next()["data"]["id"] == newest.pk


def test_a_screen_that_was_away_longer_than_the_stream_keeps_is_told_to_reload(live_stream, tiny_city, categories):
    for _ in range(3):
        report(tiny_city, categories)
    oldest = live.client().xrange(live_stream.key, count=1)[0][0].decode()
    live.client().xtrim(live_stream.key, maxlen=1, approximate=False)  # the first two fell off the end
    with SSE(live_stream.port, tiny_city.t1_operator, last_event_id=oldest) as stream:
        assert stream.next()["event"] == "resync"


def test_who_may_open_a_stream_and_from_which_origin(live_stream, settings, tiny_city):
    cases = [
        (None, None, 403),  # not logged in
        (tiny_city.handler, None, 403),  # a department: no area to watch
        (tiny_city.g1_worker, None, 403),  # the command screens are the centres' and officials'
        (tiny_city.t1_operator, tiny_city.town2.code, 404),  # another town: as if it did not exist
        (tiny_city.t1_operator, "000000", 404),
        (tiny_city.t1_operator, tiny_city.town1.code, 200),
        (tiny_city.city_official, tiny_city.town2.code, 200),
    ]
    for user, area, status in cases:
        with SSE(live_stream.port, user, area=area) as stream:
            assert stream.status == status, (user, area)

    # CORS (the pages of `make run` are on the next port down): only for the web's own origins.
    settings.LIVE_ALLOWED_ORIGINS = ["http://127.0.0.1:8000"]
    with SSE(live_stream.port, tiny_city.t1_operator, origin="http://127.0.0.1:8000") as ours:
        assert ours.response.getheader("Access-Control-Allow-Origin") == "http://127.0.0.1:8000"
        assert ours.response.getheader("Access-Control-Allow-Credentials") == "true"
    with SSE(live_stream.port, tiny_city.t1_operator, origin="http://evil.example") as theirs:
        assert theirs.response.getheader("Access-Control-Allow-Origin") is None

    # Redis away: the answer ends (no error page); the browser says "reconnecting" and tries again.
    from reports.tests.live_helpers import free_port

    settings.LIVE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with SSE(live_stream.port, tiny_city.t1_operator) as stream:
        assert stream.status == 200
        with pytest.raises(EOFError):
            stream.next(timeout=5)


def test_an_intake_with_the_live_redis_down_is_answered_and_committed(settings, tiny_city, categories, api, caplog):
    from reports.tests.live_helpers import free_port

    settings.LIVE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="govgrid.live"):
        response = api.as_(tiny_city.g1_worker).post(
            "/api/v1/cases/", {"category": "0101", **INSIDE_G1, "description": "路边有一堆暴露垃圾",
                               "client_uuid": str(uuid.uuid4())}, format="json")
    assert response.status_code == 201, response.content.decode()
    from cases.models import Case

    assert Case.objects.filter(pk=response.json()["id"]).exists()
    assert "not published" in caplog.text


@pytest.mark.parametrize("failure", ["broken socket", "publisher bug"])
def test_an_intake_is_answered_201_whatever_the_publish_after_commit_raises(failure, tiny_city, categories, api,
                                                                           monkeypatch, caplog):
    """Seen under load at a gunicorn's start: redis-py raised ValueError ("I/O operation on closed file") from
    a broken socket, which is no RedisError; and Django's robust on_commit, naming the failed callback by its
    __qualname__, which the batch object lacked, turned it into a 500 for a committed report."""

    class Broken:
        def pipeline(self, **kwargs):
            raise ValueError("I/O operation on closed file.")

    if failure == "broken socket":
        monkeypatch.setattr(live, "client", lambda: Broken())
    else:
        def bug(events):
            raise RuntimeError("a bug in the publisher")

        monkeypatch.setattr(live, "send", bug)
    with caplog.at_level(logging.WARNING):
        response = api.as_(tiny_city.g1_worker).post(
            "/api/v1/cases/", {"category": "0101", **INSIDE_G1, "description": "路边有一堆暴露垃圾",
                               "client_uuid": str(uuid.uuid4())}, format="json")
    assert response.status_code == 201, response.content.decode()
    from cases.models import Case

    assert Case.objects.filter(pk=response.json()["id"]).exists()
    assert ("not published" if failure == "broken socket" else "Error calling _Batch") in caplog.text


def test_events_wait_for_the_commit_and_go_with_a_rollback(settings, tiny_city, categories):
    settings.LIVE_STREAM_KEY = key = f"govgrid:live:test:{uuid.uuid4().hex}"
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            report(tiny_city, categories)
            raise RuntimeError("the caller fails after the report")
        assert live.client().xlen(key) == 0
        with transaction.atomic():
            kept = report(tiny_city, categories)
            assert live.client().xlen(key) == 0  # not before the commit
        assert [event["id"] for event in live.recent(None)] == [kept.pk]
        with pytest.raises(ValueError):
            live.publish("no_such_kind", "9801/", {})
    finally:
        live.client().delete(key)


def test_the_light_sweep_publishes_each_change_in_one_batch(settings, tiny_city, categories):
    import time_machine

    from cases.choices import ACTIVE_DISPATCH_STATUSES
    from cases.models import Case

    settings.LIVE_STREAM_KEY = key = f"govgrid:live:test:{uuid.uuid4().hex}"
    try:
        cases = []
        for _ in range(3):
            case = actions.accept_case(report(tiny_city, categories), actor=tiny_city.t1_operator)
            case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
            lead = case.dispatches.get(status__in=ACTIVE_DISPATCH_STATUSES)
            cases.append(actions.sign_dispatch(lead, actor=tiny_city.handler))
        live.client().delete(key)
        sent = []
        original = live.send
        live.send = lambda events: sent.append(len(events)) or original(events)
        sweeps = 0
        try:
            with time_machine.travel(max(c.due_at for c in cases) + timedelta(days=3), tick=False):
                # The sweep skips rows another transaction holds (SKIP LOCKED): a Celery worker started
                # by an earlier test of this process may be triaging one of these cases just then.
                ids = [c.pk for c in cases]
                while sweeps < 50 and Case.objects.filter(pk__in=ids, light=Light.RED).count() < 3:
                    jobs.sweep_deadlines()
                    sweeps += 1
                    time.sleep(0.1)
        finally:
            live.send = original
        lights = {event["id"]: event for event in live.recent(None) if event["kind"] == "light"}
        assert set(lights) == {case.pk for case in cases}
        assert {(e["from"], e["light"]) for e in lights.values()} == {(Light.GREEN, Light.RED)}
        # One round trip to Redis for each sweep's batch (one sweep, unless a row was held a moment).
        assert sum(sent) == 3 and len(sent) <= sweeps
        assert live.recent((tiny_city.town2.path,)) == []  # scoped by path
    finally:
        live.client().delete(key)
