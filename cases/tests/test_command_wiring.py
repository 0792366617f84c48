"""Emergency mode, sweep tasks and patrols reach people and screens (issue #12): a new sweep task tells
the grid workers of its subtree once, and activations, sweep progress and patrols go out on the live
channel (govgrid.live, a real Redis stream) after their transactions commit; the command screen opens
with what is in force."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from cases.actions import emergency, patrols, sweeps
from cases.actions.patrols import Fix
from cases.models import Notification
from cases.tasks import announce_batch
from govgrid import live
from grids.models import Membership

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 8, 9, 0, tzinfo=SH)  # a Monday morning
FIELDS = [{"label": "在住人数", "kind": "number", "required": True}]


@pytest.fixture
def announced(monkeypatch):
    sent: list[dict] = []
    monkeypatch.setattr("cases.tasks.enqueue_announcement", sent.append)
    return sent


@pytest.fixture
def stream(settings):
    settings.LIVE_STREAM_KEY = f"govgrid:test-wiring:{uuid.uuid4().hex}"
    yield
    live.client().delete(settings.LIVE_STREAM_KEY)


def heard(kind: str) -> list[dict]:
    """The events of a kind on the stream, oldest first."""
    return [event for event in reversed(live.recent(None, 200)) if event["kind"] == kind]


def grid_task(city):
    return sweeps.create_sweep_task(actor=city.t1_operator, area=city.town1, title="出租屋排查", fields=FIELDS,
                                    target_kind="grid", deadline=T0 + timedelta(days=1))


def test_a_new_sweep_task_tells_the_grid_workers_of_its_subtree_once(tiny_city, announced,
                                                                       django_capture_on_commit_callbacks):
    city = tiny_city
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        task = grid_task(city)
    [spec] = [spec for spec in announced if spec["key"] == f"sweep:{task.pk}"]
    announce_batch(spec)
    announce_batch(spec)  # a retried task tells nobody twice
    told = Notification.objects.filter(key=f"sweep:{task.pk}")
    assert told.filter(recipient=city.g1_worker).count() == 1
    assert not told.filter(recipient=city.t1_operator).exists()  # grid workers walk the grids, not operators
    assert not told.filter(recipient=city.g3_worker).exists()  # town two's grids have no part in it
    assert told.get(recipient=city.g1_worker).url == reverse("worker_sweeps:task", args=[task.pk])


def test_the_command_screen_hears_activations_sweep_progress_and_patrols(tiny_city, announced, stream, client,
                                                                           django_capture_on_commit_callbacks):
    city = tiny_city
    with time_machine.travel(T0, tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            activation = emergency.switch_on(actor=city.city_official, area=city.town1, level=2, reason="台风")
        assert heard("activation")[-1] | {"at": None} == {
            "kind": "activation", "path": city.town1.path, "at": None, "event_id": heard("activation")[-1]["event_id"],
            "id": activation.pk, "level": "II", "state": "on", "area": city.town1.code, "place": city.town1.name}

        with django_capture_on_commit_callbacks(execute=True):
            task = grid_task(city)
        with django_capture_on_commit_callbacks(execute=True):
            sweeps.report_sweep_target(actor=city.g1_worker, task=task, target=task.targets.get(grid=city.g1),
                                       answers={"f1": 2})
        progress = heard("sweep_progress")
        assert [(e["id"], e["done"], e["total"]) for e in progress] == [(task.pk, 0, 2), (task.pk, 1, 2)]

        with django_capture_on_commit_callbacks(execute=True):
            patrol, _created = patrols.start_patrol(worker=city.g1_worker)
        traveller.move_to(T0 + timedelta(minutes=2))
        with django_capture_on_commit_callbacks(execute=True):
            patrols.add_points(patrol, actor=city.g1_worker, points=[
                Fix(113.005, 23.004, T0 + timedelta(seconds=30), 5.0),
                Fix(113.005, 23.005, T0 + timedelta(seconds=60), 5.0)])
        moved = heard("patrol")[-1]
        assert (moved["id"], moved["state"], moved["lat"], moved["worker"]) == (patrol.pk, "moved", 23.005,
                                                                                 city.g1_worker.pk)
        assert "username" not in json.dumps(moved) and city.g1_worker.username not in json.dumps(moved)

        # The screen opens with what is in force: the activation, the task's figures, the patrol.
        client.force_login(city.city_official)
        page = client.get(reverse("live_screen"), {"area": city.town1.code}).content.decode()
        data = json.loads(re.search(r'<script id="live-data" type="application/json">(.*?)</script>', page,
                                    re.S).group(1))
        standing = {(e["kind"], e["id"]): e for e in data["standing"]}
        assert standing[("activation", activation.pk)]["level"] == "II"
        assert (standing[("sweep_progress", task.pk)]["done"], standing[("sweep_progress", task.pk)]["total"]) == (1, 2)
        assert standing[("patrol", patrol.pk)]["lat"] == 23.005

        with django_capture_on_commit_callbacks(execute=True):
            patrols.end_patrol(patrol, actor=city.g1_worker)
            emergency.switch_off(activation, actor=city.city_official)
        assert heard("patrol")[-1]["state"] == "stopped"
        assert heard("activation")[-1]["state"] == "off"
        page = client.get(reverse("live_screen"), {"area": city.town1.code}).content.decode()
        assert f'"id": {patrol.pk}' not in page.split('"standing"')[1].split('"labels"')[0]


def test_a_reminder_before_the_deadline_tells_the_workers_of_the_grids_not_done(tiny_city, announced,
                                                                                django_capture_on_commit_callbacks):
    city = tiny_city
    with time_machine.travel(T0, tick=False):
        task = grid_task(city)
        sweeps.report_sweep_target(actor=city.g1_worker, task=task, target=task.targets.get(grid=city.g1),
                                   answers={"f1": 1})
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeps.remind_sweep_grids(at=T0 + timedelta(hours=23), before=timedelta(hours=2)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeps.remind_sweep_grids(at=T0 + timedelta(hours=23, minutes=30), before=timedelta(hours=2)) == 0
    reminders = [spec for spec in announced if spec["key"].startswith(f"sweep-remind:{task.pk}:")]
    assert [spec["path"] for spec in reminders] == [city.g2.path]  # grid one had reported
    assert reminders[0]["params"]["left"] == 1
    worker = get_user_model().objects.create_user("g2_walker", password="x")
    Membership.objects.create(user=worker, role="grid_worker", area=city.g2)
    announce_batch(reminders[0])
    told = Notification.objects.filter(key=reminders[0]["key"])
    assert list(told.values_list("recipient__username", flat=True)) == ["g2_walker"]
