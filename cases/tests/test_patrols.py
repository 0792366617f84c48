"""Patrols 巡查 (issue #12 part 5): start, positions, distance, resend, scope, bad input, the stale sweep,
findings, the centre's list and the map layer, over the actions, the REST API and the pages.

The tiny city (conftest.py): g1_worker patrols grid A-1 [113.00–113.01 E, 23.00–23.01 N] of Town One;
g3_worker patrols B-1 in Town Two; t1_operator is Town One's centre, t2_operator Town Two's.
"""

from __future__ import annotations

import json
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

    from cases.tasks import sweep_stale_patrols as task
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

    # The worker scores of the month (reports) count them with the weights of the score rules.
    from reports.models import ScoreRule
    from reports.scoring import worker_scores

    ScoreRule.objects.filter(deed="patrol_hour").update(points=2)
    ScoreRule.objects.filter(deed="patrol_km").update(points=1)
    rows = {row["user"]["username"]: row for row in worker_scores(tiny_city.town1, 2026, 6)}
    mine = rows["g1_worker"]
    assert mine["deeds"]["patrol_hour"] == 0.5 and mine["deeds"]["patrol_km"] == pytest.approx(0.89, abs=0.01)
    assert mine["points"] == pytest.approx(2 * 0.5 + 1 * 0.89, abs=0.01)
    assert rows["g1_leader"]["deeds"]["patrol_hour"] == 0 and rows["g1_leader"]["points"] == 0


# --- REST ------------------------------------------------------------------------------------------


def test_api_start_points_resend_end_and_lists(tiny_city, api, clock):
    client = api.as_(tiny_city.g1_worker)
    answer = client.post("/api/v1/patrols/", {"client_uuid": "5b0c1d2e-3f4a-4b5c-8d6e-000000000001"}, format="json")
    assert answer.status_code == 201, answer.content
    patrol_id = answer.json()["id"]
    assert client.post("/api/v1/patrols/", {"client_uuid": "5b0c1d2e-3f4a-4b5c-8d6e-000000000001"},
                       format="json").status_code == 200
    answer = client.post("/api/v1/patrols/", {}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "already_patrolling"

    clock.move_to(T0 + timedelta(minutes=5))
    url = f"/api/v1/patrols/{patrol_id}/points/"
    answer = client.post(url, {"points": as_json(WALK)}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["added"] == 9 and answer.json()["distance_m"] == pytest.approx(WALK_METRES, rel=0.01)
    assert client.post(url, {"points": as_json(WALK)}, format="json").json()["added"] == 0  # resent

    now_list = api.as_(tiny_city.t1_operator).get("/api/v1/patrols/now/").json()
    assert [row["id"] for row in now_list] == [patrol_id] and now_list[0]["worker"] == "g1_worker"
    assert api.as_(tiny_city.t2_operator).get("/api/v1/patrols/now/").json() == []
    tracks = api.as_(tiny_city.t1_operator).get("/api/v1/patrols/tracks/").json()
    assert [f["properties"]["id"] for f in tracks["features"]] == [patrol_id]
    assert len(tracks["features"][0]["geometry"]["coordinates"]) == 9
    assert api.as_(tiny_city.t2_operator).get("/api/v1/patrols/tracks/").json()["features"] == []

    client = api.as_(tiny_city.g1_worker)
    answer = client.post(f"/api/v1/patrols/{patrol_id}/checkins/",
                         {"lon": 113.005, "lat": 23.004, "place": "幸福里小区东门", "note": "门岗正常"}, format="json")
    assert answer.status_code == 201, answer.content
    answer = client.post(f"/api/v1/patrols/{patrol_id}/end/", {}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "ended"
    listed = api.as_(tiny_city.t1_operator).get("/api/v1/patrols/").json()["results"]
    assert [row["id"] for row in listed] == [patrol_id]
    assert api.as_(tiny_city.t2_operator).get("/api/v1/patrols/").json()["results"] == []


def test_api_scope_another_grids_patrol_in_the_url_and_in_the_body(tiny_city, categories, api, clock):
    patrol = started(tiny_city, clock)
    outsider = api.as_(tiny_city.g3_worker)
    for method, url, body in [
        ("get", f"/api/v1/patrols/{patrol.pk}/", None),
        ("post", f"/api/v1/patrols/{patrol.pk}/points/", {"points": as_json(WALK[:2])}),
        ("post", f"/api/v1/patrols/{patrol.pk}/checkins/", {"lon": 113.005, "lat": 23.004, "place": "东门"}),
        ("post", f"/api/v1/patrols/{patrol.pk}/end/", {}),
        ("get", "/api/v1/patrols/999999/", None),
    ]:
        answer = getattr(outsider, method)(url, body, format="json")
        assert answer.status_code == 404, (url, answer.content)
        assert answer.json()["detail"] in ("No such patrol.", "没有这个巡查。")
    # In the body: a finding reported "from" someone else's patrol.
    report = {"category": categories.garbage.code, "lon": 113.025, "lat": 23.005, "description": "垃圾",
              "patrol": patrol.pk}
    answer = outsider.post("/api/v1/cases/", report, format="json")
    assert answer.status_code == 404 and "patrol" in answer.json()["errors"]
    assert not PatrolPoint.objects.exists() and patrol.findings.count() == 0
    # Its own worker's finding is linked.
    answer = api.as_(tiny_city.g1_worker).post("/api/v1/cases/", {**report, "lon": 113.005}, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["channel"] == "patrol" and patrol.findings.get().case_id == answer.json()["id"]
    # The centre of another town does not see the patrol; Town One's does, and may end it.
    assert api.as_(tiny_city.t2_operator).post(f"/api/v1/patrols/{patrol.pk}/end/", {}, format="json"
                                               ).status_code == 404
    assert api.as_(tiny_city.t1_operator).post(f"/api/v1/patrols/{patrol.pk}/end/", {}, format="json"
                                               ).json()["end_reason"] == "centre"


@pytest.mark.parametrize(("body", "field"), [
    ({"points": [{"lon": 200, "lat": 23.0, "recorded_at": "2026-06-08T09:00:10+08:00"}]}, "points"),
    ({"points": [{"lon": 113.005, "lat": "north", "recorded_at": "2026-06-08T09:00:10+08:00"}]}, "points"),
    ({"points": [{"lon": 113.005, "lat": 23.005, "recorded_at": "2026-06-08T11:00:00+08:00"}]}, "points"),  # future
    ({"points": [{"lon": 113.005, "lat": 23.005, "recorded_at": "yesterday"}]}, "points"),
    ({"points": [{"lon": 113.005, "lat": 23.005, "recorded_at": "2026-06-08T09:00:10+23:00"}]}, "points"),
    ({"points": [{"lon": 113.005, "lat": 23.005, "recorded_at": f"2026-06-08T09:00:{s:02d}+08:00"}
                 for s in range(60)] * 9}, "points"),  # 540: too many
    ({"points": []}, "points"),
    ({"points": "113.005,23.005"}, "points"),
    ({}, "points"),
])
def test_api_bad_positions_are_a_clear_400(tiny_city, api, clock, body, field):
    patrol = started(tiny_city, clock)
    answer = api.as_(tiny_city.g1_worker).post(f"/api/v1/patrols/{patrol.pk}/points/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["errors"] and answer.json()["detail"]
    assert not PatrolPoint.objects.exists()


def test_api_malformed_json_is_a_400(tiny_city, api, clock):
    patrol = started(tiny_city, clock)
    client = api.as_(tiny_city.g1_worker)
    for raw in ('{"points": [', "[1, 2]", '{"points": [{"lon": NaN}]}'):
        answer = client.generic("POST", f"/api/v1/patrols/{patrol.pk}/points/", raw,
                                content_type="application/json")
        assert answer.status_code == 400, (raw, answer.content)
    answer = client.post(f"/api/v1/patrols/{patrol.pk}/checkins/", {"lon": 113.005, "lat": 23.004}, format="json")
    assert answer.status_code == 400 and "place" in answer.json()["errors"]
    answer = client.post(f"/api/v1/patrols/{patrol.pk}/end/", {"at": "2026-06-09T09:00:00+08:00"}, format="json")
    assert answer.status_code == 400 and "at" in answer.json()["errors"]


# --- pages -----------------------------------------------------------------------------------------


def test_phone_pages_start_queue_batches_check_in_finding_and_end(tiny_city, categories, client, clock):
    client.force_login(tiny_city.g1_worker)
    page = client.get(reverse("patrol:phone"))
    assert page.status_code == 200 and b'id="start-patrol"' in page.content
    assert client.post(reverse("patrol:start"), {"grid": tiny_city.g1.pk}).status_code == 302
    patrol = Patrol.objects.get(worker=tiny_city.g1_worker, status=PatrolStatus.ACTIVE)
    page = client.get(reverse("patrol:phone"))
    assert f'data-points-url="/m/patrol/{patrol.pk}/points/"'.encode() in page.content
    assert "巡查".encode() in client.get(reverse("worker:home")).content

    clock.move_to(T0 + timedelta(minutes=5))
    queue = {"HTTP_ACCEPT": "application/json"}
    batch = {"points": json.dumps(as_json(WALK)), "client_uuid": "7a6b5c4d-3e2f-4a1b-8c9d-000000000001"}
    answer = client.post(reverse("patrol:points", args=[patrol.pk]), batch, **queue)
    assert answer.status_code == 200 and answer.json()["ok"] and answer.json()["added"] == 9
    assert client.post(reverse("patrol:points", args=[patrol.pk]), batch, **queue).json()["added"] == 0
    answer = client.post(reverse("patrol:points", args=[patrol.pk]), {"points": "[{"}, **queue)
    assert answer.status_code == 400 and not answer.json()["ok"] and answer.json()["errors"]["points"]
    answer = client.post(reverse("patrol:points", args=[patrol.pk]),
                         {"points": json.dumps([{"lon": 113.005, "lat": 95, "recorded_at": "x"}])}, **queue)
    assert answer.status_code == 400 and answer.json()["errors"]["points"]

    answer = client.post(reverse("patrol:checkin", args=[patrol.pk]),
                         {"lon": "113.005", "lat": "23.004", "place": "菜市场东门", "note": "秩序正常",
                          "at": (T0 + timedelta(minutes=4)).isoformat(),
                          "client_uuid": "7a6b5c4d-3e2f-4a1b-8c9d-000000000002"}, **queue)
    assert answer.status_code == 200 and answer.json() == {"ok": True, "url": "/m/patrol/"}
    assert patrol.checkins.get().place == "菜市场东门"
    assert "菜市场东门".encode() in client.get(reverse("patrol:phone")).content

    report_page = client.get(reverse("worker:report") + f"?patrol={patrol.pk}&lon=113.005&lat=23.005")
    assert f'name="patrol" value="{patrol.pk}"'.encode() in report_page.content
    answer = client.post(reverse("worker:report"), {
        "category": categories.garbage.pk, "description": "巡查发现垃圾", "lon": "113.005", "lat": "23.005",
        "mode": "normal", "patrol": patrol.pk, "client_uuid": "7a6b5c4d-3e2f-4a1b-8c9d-000000000003"}, **queue)
    assert answer.status_code == 201 and answer.json()["url"] == "/m/patrol/"
    assert patrol.findings.get().case.channel == Channel.PATROL

    # Someone else's patrol, through the phone's pages: no such patrol.
    client.force_login(tiny_city.g3_worker)
    for name in ("patrol:points", "patrol:checkin", "patrol:end"):
        answer = client.post(reverse(name, args=[patrol.pk]), batch, **queue)
        assert answer.status_code == 404, name
    answer = client.post(reverse("worker:report"), {
        "category": categories.garbage.pk, "description": "x", "lon": "113.025", "lat": "23.005",
        "mode": "normal", "patrol": patrol.pk}, **queue)
    assert answer.status_code == 404 and patrol.findings.count() == 1

    client.force_login(tiny_city.g1_worker)
    answer = client.post(reverse("patrol:end", args=[patrol.pk]), {"at": (T0 + timedelta(minutes=5)).isoformat()},
                         **queue)
    assert answer.status_code == 200 and answer.json()["ok"]
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.ENDED and patrol.ended_at == T0 + timedelta(minutes=5)


def test_centre_sees_who_is_patrolling_and_the_tracks_in_its_scope(tiny_city, client, clock):
    patrol = started(tiny_city, clock)
    actions.add_points(patrol, actor=tiny_city.g1_worker, points=WALK)
    client.force_login(tiny_city.t1_operator)
    page = client.get(reverse("patrols:now"))
    assert page.status_code == 200 and f'data-patrol="{patrol.pk}"'.encode() in page.content
    tracks = client.get(reverse("patrols:tracks")).json()
    assert [f["properties"]["id"] for f in tracks["features"]] == [patrol.pk]
    assert client.get(reverse("patrols:tracks") + "?date=tomorrow").status_code == 400
    assert b"data-patrols-url" in client.get(reverse("cases:map")).content
    client.force_login(tiny_city.t2_operator)
    page = client.get(reverse("patrols:now"))
    assert f'data-patrol="{patrol.pk}"'.encode() not in page.content
    assert client.get(reverse("patrols:tracks")).json()["features"] == []


def test_check_in_at_a_building_with_a_photo_and_the_live_screens_rows(tiny_city, api, clock, settings, tmp_path):
    from django.contrib.gis.geos import Point
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.patrol_selectors import patrolling_now_rows
    from cases.tests.conftest import PNG
    from parties.models import Building

    settings.MEDIA_ROOT = tmp_path / "media"
    patrol = started(tiny_city, clock)
    mine = Building.objects.create(number="1", address="幸福路1号", point=Point(113.004, 23.004, srid=4326),
                                   grid=tiny_city.g1, area_path=tiny_city.g1.path)
    theirs = Building.objects.create(number="9", address="和平路9号", point=Point(113.024, 23.004, srid=4326),
                                     grid=tiny_city.g3, area_path=tiny_city.g3.path)
    client = api.as_(tiny_city.g1_worker)
    url = f"/api/v1/patrols/{patrol.pk}/checkins/"
    answer = client.post(url, {"lon": 113.005, "lat": 23.004, "building": theirs.pk}, format="json")
    assert answer.status_code == 404 and "building" in answer.json()["errors"]  # another grid's building
    answer = client.post(url, {"lon": "113.004", "lat": "23.004", "building": str(mine.pk), "note": "消防通道畅通",
                               "photo": SimpleUploadedFile("door.png", PNG, content_type="image/png")},
                         format="multipart")
    assert answer.status_code == 201, answer.content
    checkin = patrol.checkins.get()
    assert checkin.building == mine and checkin.photo.name.endswith(".png") and checkin.note == "消防通道畅通"

    rows = patrolling_now_rows(tiny_city.t1_operator)
    assert [(r["id"], r["worker"], r["grid"]["code"]) for r in rows] == [(patrol.pk, "g1_worker", tiny_city.g1.code)]
    assert rows[0]["duration_s"] == 5 * 60 and rows[0]["last_point_at"] is None
    assert patrolling_now_rows(tiny_city.t2_operator) == []
