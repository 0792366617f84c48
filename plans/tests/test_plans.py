"""Work plans: lights with frozen time, progress reports, supervision, the negative list, scope,
REST refusals and the pages in both languages."""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from govgrid import clock
from govgrid.errors import Forbidden, NotFound
from plans import access, actions, figures
from plans.choices import Light, NegativeKind, TaskStatus
from plans.lights import light_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def at(day: date):
    return clock.at(datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI))


def test_lights_by_lag():
    start, end = date(2026, 1, 1), date(2026, 1, 11)  # ten days: each day is 10 points
    assert light_for(starts_on=start, deadline=end, percent=0, today=start, yellow=10, red=25) == Light.GREEN
    assert light_for(starts_on=start, deadline=end, percent=41, today=date(2026, 1, 6), yellow=10, red=25) == "green"
    assert light_for(starts_on=start, deadline=end, percent=40, today=date(2026, 1, 6), yellow=10, red=25) == "yellow"
    assert light_for(starts_on=start, deadline=end, percent=25, today=date(2026, 1, 6), yellow=10, red=25) == "red"
    assert light_for(starts_on=start, deadline=end, percent=99, today=date(2026, 1, 12), yellow=10, red=25) == "red"
    assert light_for(starts_on=start, deadline=end, percent=100, today=date(2026, 2, 1), yellow=10, red=25) == "green"


@pytest.fixture
def plan(tiny_city):
    c = tiny_city
    with at(date(2026, 3, 1)):
        plan = actions.create_plan(actor=c.district_lead, area=c.district, year=2026, title="平安建设任务清单")
        task = actions.create_task(actor=c.district_lead, plan=plan, title="矛盾纠纷化解", starts_on=date(2026, 3, 1),
                                   deadline=date(2026, 3, 31), lead_department=c.town1_um,
                                   assisting_centres=[c.centres["980101002"]])
        other = actions.create_task(actor=c.district_lead, plan=plan, title="重点人员走访", starts_on=date(2026, 3, 1),
                                    deadline=date(2026, 3, 11), lead_centre=c.centres["980101001"])
        rate = actions.add_indicator(actor=c.district_lead, task=task, name="化解率", target="95", unit="%")
        visits = actions.add_indicator(actor=c.district_lead, task=other, name="走访户数", target="200", unit="户")
        actions.add_milestone(actor=c.district_lead, task=task, title="排查完成", due_on=date(2026, 3, 10))
    return plan, task, other, rate, visits


def test_plan_with_reports_and_lights(tiny_city, plan, settings):
    settings.PLAN_LIGHT_YELLOW, settings.PLAN_LIGHT_RED = 10, 25
    c = tiny_city
    plan, task, other, rate, visits = plan
    with at(date(2026, 3, 6)):  # other: 5 of 10 days gone, 50 % expected
        actions.report_progress(actor=c.t1_operator, task=other, text="走访 120 户", percent=45,
                                figures={str(visits.pk): 120},
                                files=[SimpleUploadedFile("a.png", PNG, content_type="image/png")])
        # an assisting centre's report does not lower the lead's figure, and counts the indicator
        report = actions.report_progress(actor=c.handler, task=task, text="已排查 40 起", percent=10,
                                         figures={str(rate.pk): "96.5"})
    assert report.department == c.town1_um and report.evidence.count() == 0
    other.refresh_from_db()
    assert other.percent_done == Decimal("45.0") and other.reports.get().evidence.count() == 1
    met = figures.indicators_met(plan.__class__.objects.filter(pk=plan.pk))
    assert met[plan.pk] == (1, 2)  # 96.5 ≥ 95 met; 120 < 200 not
    task.refresh_from_db()
    # task: 5 of 30 days gone (16.7 expected), 10 reported: lag 6.7 → green; other lag 5 → green
    assert figures.task_light(task, date(2026, 3, 6)) == Light.GREEN
    assert figures.task_light(other, date(2026, 3, 6)) == Light.GREEN
    assert figures.task_light(other, date(2026, 3, 7)) == Light.YELLOW  # 60 expected, lag 15
    assert figures.task_light(other, date(2026, 3, 8)) == Light.RED  # 70 expected, lag 25
    assert figures.task_light(task, date(2026, 3, 20)) == Light.RED  # 63.3 expected, lag 53.3
    assert figures.task_light(other, date(2026, 3, 12)) == Light.RED  # overdue
    board = figures.board(access.tasks_for(c.city_official), on=date(2026, 3, 20))
    assert board.months == ["2026-03"] and board.totals == {"green": 0, "yellow": 0, "red": 2}
    with at(date(2026, 3, 9)):
        actions.report_progress(actor=c.t1_operator, task=other, text="完成", percent=100,
                                figures={str(visits.pk): 210})
    other.refresh_from_db()
    assert other.status == TaskStatus.DONE and figures.task_light(other, date(2026, 4, 1)) == Light.GREEN
    assert figures.indicators_met(plan.__class__.objects.filter(pk=plan.pk))[plan.pk] == (2, 2)


def test_who_may_do_what(tiny_city, plan):
    c = tiny_city
    plan, task, other, rate, visits = plan
    # a grid worker in the district sees the plan but may not report, supervise or add to it
    with pytest.raises(Forbidden):
        actions.report_progress(actor=c.g1_worker, task=task, text="x", percent=5)
    with pytest.raises(Forbidden):
        actions.supervise_task(actor=c.district_lead, task=task, note="加快进度")
    with pytest.raises(Forbidden):
        actions.add_indicator(actor=c.handler, task=task, name="x", target=1)
    # out of scope: missing and not yours look the same
    for user in (c.nobody, c.g3_worker):
        with pytest.raises(NotFound) as missing:
            access.access_task_by_id(user, other.pk)
        with pytest.raises(NotFound) as not_yours:
            access.access_task_by_id(user, 10**9)
        assert str(missing.value) == str(not_yours.value)
    # the handler sees only the task their department leads, and its plan
    assert list(access.tasks_for(c.handler)) == [task]
    assert list(access.plans_for(c.handler)) == [plan]


def test_supervision_tells_the_lead_unit(tiny_city, plan, monkeypatch):
    """The announcement's spec as the action sends it, delivered by the test as the worker would."""
    from cases import announcements
    from cases.models import Notification

    sent = []
    monkeypatch.setattr("cases.tasks.enqueue_announcement", sent.append)
    c = tiny_city
    plan, task, other, *_ = plan
    actions.supervise_task(actor=c.city_official, task=task, note="请加快化解进度")
    actions.supervise_task(actor=c.city_official, task=other, note="走访要到位")
    for spec in sent:
        announcements.deliver_batch(spec)
    told = sorted(Notification.objects.values_list("recipient__username", "url"))
    # the lead department's handler for one, the lead centre's staff for the other: no one else
    assert told == [("handler", f"/plans/tasks/{task.pk}/"), ("t1_operator", f"/plans/tasks/{other.pk}/")]
    # the beat's reminder: on 03-02 only ``other`` is due within 9 days; on 03-09 ``task`` is red too
    assert actions.remind_due_tasks(today=date(2026, 3, 2), within_days=9) == 1
    assert actions.remind_due_tasks(today=date(2026, 3, 9), within_days=1) == 2


def test_negative_event_against_a_unit(tiny_city, plan):
    c = tiny_city
    plan = plan[0]
    with at(date(2026, 3, 15)):
        event = actions.record_negative_event(actor=c.district_lead, plan=plan, department=c.town2_justice,
                                              on=date(2026, 3, 14), kind=NegativeKind.MASS_PETITION, points="5",
                                              note="越级上访")
    assert event.unit == c.town2_justice and event.points == Decimal("5.00")
    assert list(c.town2_justice.negative_events.all()) == [event]
    with pytest.raises(Forbidden):
        actions.record_negative_event(actor=c.g1_worker, plan=plan, department=c.town2_justice,
                                      on=date(2026, 3, 14), kind="other", points=1)


def test_rest(tiny_city, plan, api):
    c = tiny_city
    plan, task, other, rate, visits = plan
    client = api.as_(c.handler)
    assert client.get("/api/v1/plans/tasks/").json()["results"][0]["id"] == task.pk
    assert client.get(f"/api/v1/plans/tasks/{other.pk}/").status_code == 404
    bad = client.post(f"/api/v1/plans/tasks/{task.pk}/reports/", {"text": "x", "percent": "120"}, format="json")
    assert bad.status_code == 400 and "percent" in bad.json()["errors"]
    bad = client.post(f"/api/v1/plans/tasks/{task.pk}/reports/",
                      {"text": "x", "percent": "20", "figures": {"999999": 1}}, format="json")
    assert bad.status_code == 400
    good = client.post(f"/api/v1/plans/tasks/{task.pk}/reports/",
                       {"text": "推进中", "percent": "20", "figures": {str(rate.pk): 90}}, format="json")
    assert good.status_code == 201, good.content
    official = api.as_(c.district_lead)
    answer = official.post("/api/v1/plans/negative-events/", {"plan": plan.pk, "date": "2026-03-01",
                                                              "kind": "other", "points": "2"}, format="json")
    assert answer.status_code == 400  # no unit
    answer = official.post("/api/v1/plans/tasks/", {"plan": plan.pk, "title": "t", "lead_department": 10**9,
                                                    "starts_on": "2026-03-01", "deadline": "2026-03-02"},
                           format="json")
    assert answer.status_code == 404
    answer = official.post("/api/v1/plans/plans/", {"area": c.town2.pk, "year": 2026, "title": "乡镇清单"},
                           format="json")
    assert answer.status_code == 201
    assert api.as_(c.t1_operator).post("/api/v1/plans/plans/", {"area": c.town2.pk, "year": 2026, "title": "x"},
                                       format="json").status_code == 404
    plans = api.as_(c.city_official).get("/api/v1/plans/plans/").json()["results"]
    assert {p["title"]: p["indicators_met"] for p in plans}["平安建设任务清单"] == 0


@pytest.mark.parametrize(("language", "words"), [("zh-hans", "挂图作战：按单位和月份的任务"),
                                                ("en", "Board: tasks by unit and month")])
def test_pages(tiny_city, plan, client, language, words):
    c = tiny_city
    plan, task, *_ = plan
    client.force_login(c.handler)
    client.cookies["django_language"] = language
    page = client.get("/plans/")
    assert page.status_code == 200 and words in page.content.decode()
    assert client.get(f"/plans/tasks/{task.pk}/").status_code == 200
    assert client.get(f"/plans/tasks/{plan.tasks.exclude(pk=task.pk).get().pk}/").status_code == 404
    answer = client.post(f"/plans/tasks/{task.pk}/", {"text": "进展", "percent": "30"})
    assert answer.status_code == 302
    task.refresh_from_db()
    assert task.percent_done == 30
    mine = client.get("/plans/mine/")
    assert task.title in mine.content.decode()


def test_pages_create_a_plan_task_and_negative_event(tiny_city, client):
    c = tiny_city
    client.force_login(c.district_lead)
    answer = client.post("/plans/", {"area": c.district.pk, "year": 2026, "title": "区任务清单"})
    assert answer.status_code == 302
    plan = access.plans_for(c.district_lead).get(title="区任务清单")
    unit = f"department:{c.town1_um.pk}"
    bad = client.post(f"/plans/{plan.pk}/", {"form": "task", "title": "t", "lead_unit": unit,
                                             "starts_on": "2026-03-10", "deadline": "2026-03-01"})
    assert bad.status_code == 400 and not plan.tasks.exists()
    good = client.post(f"/plans/{plan.pk}/", {"form": "task", "title": "矛盾化解", "lead_unit": unit,
                                              "assisting_units": [f"centre:{c.centres['980101002'].pk}"],
                                              "starts_on": "2026-03-01", "deadline": "2026-03-31"})
    assert good.status_code == 302
    task = plan.tasks.get()
    assert task.lead_department == c.town1_um and list(task.assisting_centres.all()) == [c.centres["980101002"]]
    with at(date(2026, 3, 20)):
        event = client.post(f"/plans/{plan.pk}/", {"form": "event", "unit": unit, "date": "2026-03-19",
                                                   "kind": "major_incident", "points": "3", "note": ""})
    assert event.status_code == 302 and plan.negative_events.get().department == c.town1_um
    # a handler can see the plan through their task but not add to it
    client.force_login(c.handler)
    refused = client.post(f"/plans/{plan.pk}/", {"form": "task", "title": "x", "lead_unit": unit,
                                                 "starts_on": "2026-03-01", "deadline": "2026-03-31"})
    assert refused.status_code == 403 and plan.tasks.count() == 1


def test_rest_board(tiny_city, plan, api):
    c = tiny_city
    plan, task, other, *_ = plan
    with at(date(2026, 3, 20)):
        board = api.as_(c.city_official).get(f"/api/v1/plans/tasks/board/?plan={plan.pk}").json()
    assert board["months"] == ["2026-03"] and board["totals"] == {"green": 0, "yellow": 0, "red": 2}
    assert {row["unit"] for row in board["rows"]} == {f"department:{c.town1_um.pk}",
                                                     f"centre:{c.centres['980101001'].pk}"}
    assert api.as_(c.g3_worker).get(f"/api/v1/plans/tasks/board/?plan={plan.pk}").status_code == 404


def test_evidence_photos_are_shown_to_those_who_see_the_task(tiny_city, plan, client):
    c = tiny_city
    _plan, _task, other, _rate, _visits = plan
    with at(date(2026, 3, 6)):
        report = actions.report_progress(actor=c.t1_operator, task=other, text="走访 120 户", percent=45,
                                         files=[SimpleUploadedFile("a.png", PNG, content_type="image/png")])
    photo = report.evidence.get()
    url = reverse("plans:evidence", args=[photo.pk])
    client.force_login(c.t1_operator)
    assert url in client.get(reverse("plans:task", args=[other.pk])).content.decode()
    shown = client.get(url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    client.force_login(c.t2_operator)  # another town: the same answer as for a photo that does not exist
    assert client.get(url).status_code == 404
    assert client.get(reverse("plans:evidence", args=[photo.pk + 1000])).status_code == 404


def test_an_evidence_photo_gone_from_storage_is_a_404(tiny_city, plan, client):
    """The row is there but its file is not (storage restored from an older backup): 404, not 500."""
    c = tiny_city
    _plan, _task, other, _rate, _visits = plan
    with at(date(2026, 3, 6)):
        report = actions.report_progress(actor=c.t1_operator, task=other, text="走访 120 户", percent=45,
                                         files=[SimpleUploadedFile("a.png", PNG, content_type="image/png")])
    photo = report.evidence.get()
    photo.file.storage.delete(photo.file.name)
    client.force_login(c.t1_operator)
    assert client.get(reverse("plans:evidence", args=[photo.pk])).status_code == 404
