"""Patrols 巡查 (issue #12 part 5): start, positions, distance, resend, scope, bad input, the stale sweep,
findings, the centre's list and the map layer, over the actions, the REST API and the pages.

The tiny city (conftest.py): g1_worker patrols grid A-1 [113.00–113.01 E, 23.00–23.01 N] of Town One;
g3_worker patrols B-1 in Town Two; t1_operator is Town One's centre, t2_operator Town Two's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from cases import actions
from cases.actions.patrols import Fix
from cases.choices import Channel
from cases.patrol_selectors import patrol_totals, patrolling_now
from cases.patrols import EndReason, Patrol, PatrolFinding, PatrolPoint, PatrolStatus
from govgrid.errors import ActionError, Conflict, Forbidden, NotFound

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 8, 9, 0, tzinfo=SHANGHAI)  # a Monday morning
# Nine positions walking north along 113.005 E, 0.001° (≈ 110.75 m at 23° N) every 20 s: 8 steps.
WALK = [Fix(113.005, 23.001 + 0.001 * i, T0 + timedelta(seconds=20 * i), 5.0) for i in range(9)]
# The geodesic length of that walk on WGS84 (0.008° of latitude at 23.005° N).
WALK_METRES = 885.9


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def started(city, clock, worker=None):
    patrol, created = actions.start_patrol(worker=worker or city.g1_worker)
    assert created
    clock.move_to(T0 + timedelta(minutes=5))
    return patrol


def as_json(fixes):
    return [{"lon": f.lon, "lat": f.lat, "recorded_at": f.at.isoformat(), "accuracy": f.accuracy} for f in fixes]


# --- actions ---------------------------------------------------------------------------------------


def test_a_walk_measured_by_postgis_and_a_resent_batch_adds_nothing(tiny_city, clock):
    patrol = started(tiny_city, clock)
    assert patrol.grid == tiny_city.g1 and patrol.area_path == tiny_city.g1.path and patrol.is_active

    assert actions.add_points(patrol, actor=tiny_city.g1_worker, points=WALK[:5]) == 5
    assert actions.add_points(patrol, actor=tiny_city.g1_worker, points=WALK[4:]) == 4  # one overlaps
    patrol.refresh_from_db()
    assert patrol.point_count == 9 and patrol.last_point_at == WALK[-1].at
    assert patrol.distance_m == pytest.approx(WALK_METRES, rel=0.01)
    assert patrol.track.num_points == 9

    # The phone lost the answer and sends the same batches again: nothing more.
    assert actions.add_points(patrol, actor=tiny_city.g1_worker, points=WALK) == 0
    assert PatrolPoint.objects.filter(patrol=patrol).count() == 9
    patrol.refresh_from_db()
    assert patrol.distance_m == pytest.approx(WALK_METRES, rel=0.01)

    # Batches that arrive out of order still make the track in the phone's time order.
    other, _ = actions.start_patrol(worker=tiny_city.g3_worker)
    east = [Fix(f.lon + 0.02, f.lat, f.at + timedelta(minutes=6)) for f in WALK]
    clock.move_to(T0 + timedelta(minutes=15))
    actions.add_points(other, actor=tiny_city.g3_worker, points=east[5:])
    actions.add_points(other, actor=tiny_city.g3_worker, points=east[:5])
    other.refresh_from_db()
    assert other.distance_m == pytest.approx(WALK_METRES, rel=0.01)

    ended = actions.end_patrol(patrol, actor=tiny_city.g1_worker)
    assert ended.status == PatrolStatus.ENDED and ended.end_reason == EndReason.WORKER
    assert ended.ended_at == T0 + timedelta(minutes=15)
    assert ended.duration_s() == 15 * 60
    # Ended twice (a resent end): the same patrol, unchanged.
    assert actions.end_patrol(patrol, actor=tiny_city.g1_worker).ended_at == ended.ended_at


def test_one_patrol_at_a_time_and_a_resent_start_returns_the_first(tiny_city, clock):
    key = "0d8f4c3e-1b2a-4c5d-8e9f-000000000001"
    first, created = actions.start_patrol(worker=tiny_city.g1_worker, client_uuid=key)
    again, created_again = actions.start_patrol(worker=tiny_city.g1_worker, client_uuid=key)
    assert created and not created_again and again == first
    with pytest.raises(Conflict):
        actions.start_patrol(worker=tiny_city.g1_worker)
    with pytest.raises(Forbidden):  # centre staff do not patrol
        actions.start_patrol(worker=tiny_city.t1_operator, grid=tiny_city.g1.pk)
    with pytest.raises(NotFound):  # another worker's grid
        actions.start_patrol(worker=tiny_city.g3_worker, grid=tiny_city.g1.pk)


@pytest.mark.parametrize(("fixes", "code"), [
    ([Fix(113.5, 23.005, T0 + timedelta(seconds=10))], "outside_box"),          # 50 km away
    ([Fix(113.005, 23.005, T0 + timedelta(hours=1))], "in_future"),            # the phone's clock is off
    ([Fix(113.005, 23.005, T0 - timedelta(hours=1))], "before_start"),
    ([Fix(113.005, 23.001, T0 + timedelta(seconds=10)),                           # 1.1 km in 10 s
      Fix(113.005, 23.011, T0 + timedelta(seconds=20))], "too_fast"),
])
def test_bad_positions_refuse_the_whole_batch(tiny_city, clock, fixes, code):
    patrol = started(tiny_city, clock)
    good = Fix(113.005, 23.005, T0 + timedelta(seconds=5))
    with pytest.raises(ActionError) as refused:
        actions.add_points(patrol, actor=tiny_city.g1_worker, points=[good, *fixes])
    assert refused.value.code == code and refused.value.status_code == 400
    assert not PatrolPoint.objects.filter(patrol=patrol).exists()  # nothing half-written


def test_stale_patrols_end_by_themselves_and_keep_what_the_phone_sends_later(tiny_city, clock):
    patrol = started(tiny_city, clock)
    actions.add_points(patrol, actor=tiny_city.g1_worker, points=WALK[:3])
    quiet, _ = actions.start_patrol(worker=tiny_city.g3_worker)  # no position at all
    clock.move_to(T0 + timedelta(hours=3))
    assert actions.end_stale_patrols() == []
    clock.move_to(T0 + timedelta(hours=4, minutes=10))
    ended = set(actions.end_stale_patrols())
    assert ended == {patrol.pk, quiet.pk}
    assert actions.end_stale_patrols() == []  # once
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.ENDED and patrol.end_reason == EndReason.STALE
    assert patrol.ended_at == WALK[2].at
    # The phone was offline, not in a drawer: what it kept is still taken, and the end moves with it.
    assert actions.add_points(patrol, actor=tiny_city.g1_worker, points=WALK) == 6
    patrol.refresh_from_db()
    assert patrol.ended_at == WALK[-1].at and patrol.distance_m == pytest.approx(WALK_METRES, rel=0.01)

    from cases.tasks import end_stale_patrols as task
    assert task() == 0


def test_scope_someone_elses_patrol_is_no_such_patrol(tiny_city, clock):
    patrol = started(tiny_city, clock)
    for outsider in (tiny_city.g3_worker, tiny_city.g1_leader, tiny_city.t1_operator):
        with pytest.raises(NotFound):  # only the worker's phone records it
            actions.add_points(patrol.pk, actor=outsider, points=WALK[:2])
    with pytest.raises(NotFound):
        actions.end_patrol(patrol.pk, actor=tiny_city.t2_operator)  # another town's centre
    assert list(patrolling_now(tiny_city.t2_operator)) == []
    assert list(patrolling_now(tiny_city.t1_operator)) == [patrol]
    assert list(patrolling_now(tiny_city.city_official)) == [patrol]
    assert list(patrolling_now(tiny_city.g3_worker)) == []
    # Town One's centre ends a forgotten patrol.
    assert actions.end_patrol(patrol.pk, actor=tiny_city.t1_operator).end_reason == EndReason.CENTRE


def test_a_finding_becomes_a_patrol_case(tiny_city, categories, clock):
    patrol = started(tiny_city, clock)
    report = {"category": categories.garbage, "lon": 113.005, "lat": 23.005, "description": "巡查发现暴露垃圾",
              "client_uuid": "6f1c2d3e-4b5a-4c6d-8e7f-000000000009"}
    case, created = actions.report_finding(patrol, actor=tiny_city.g1_worker, **report)
    again, created_again = actions.report_finding(patrol, actor=tiny_city.g1_worker, **report)
    assert created and not created_again and again == case
    assert case.channel == Channel.PATROL and case.patrol_finding.patrol == patrol
    assert PatrolFinding.objects.count() == 1
    with pytest.raises(NotFound):
        actions.report_finding(patrol, actor=tiny_city.g3_worker, **{**report, "client_uuid": None})


def test_patrol_hours_and_km_per_worker(tiny_city, clock):
    patrol = started(tiny_city, clock)
    actions.add_points(patrol, actor=tiny_city.g1_worker, points=WALK)
    clock.move_to(T0 + timedelta(minutes=30))
    actions.end_patrol(patrol, actor=tiny_city.g1_worker)
    totals = patrol_totals(tiny_city.town1.path, T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert set(totals) == {tiny_city.g1_worker.pk}
    assert totals[tiny_city.g1_worker.pk]["hours"] == pytest.approx(0.5)
    assert totals[tiny_city.g1_worker.pk]["km"] == pytest.approx(WALK_METRES / 1000, rel=0.01)
    assert patrol_totals(tiny_city.town2.path, T0 - timedelta(days=1), T0 + timedelta(days=1)) == {}
