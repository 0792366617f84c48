"""Sweep tasks (排查任务, issue #12 part 3): progress as grids report, stay silent or send zero
reports; a daily task over several days; exactly-once resend; the form builder's validation; scope;
a finding that becomes a case; the board's counts. Time is frozen with govgrid.clock.at."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point

from cases.actions import sweeps as actions
from cases.choices import Status
from cases.models import Case, Category
from cases.sweep_progress import board, grid_targets
from cases.sweeps import SweepReminder, SweepReport, SweepTask, TargetState
from cases.tests.conftest import categories, photo  # noqa: F401 (fixture)
from govgrid import clock
from govgrid.errors import ActionError, Conflict, Forbidden, NotFound
from parties.models import Building, House

SH = ZoneInfo("Asia/Shanghai")
FIELDS = [
    {"label": "在住人数", "kind": "number", "required": True},
    {"label": "是否登记", "kind": "yes_no", "required": True},
    {"label": "房屋状况", "kind": "choice", "options": ["正常", "群租", "空置"], "required": False},
    {"label": "备注", "kind": "text"},
    {"label": "门口照片", "kind": "photo"},
]
GOOD = {"f1": 3, "f2": "yes", "f3": "群租"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SH)


def houses(city, grid, count: int, *, rental: bool = True, start: int = 0) -> list[House]:
    lon = 113.005 if grid == city.g1 else 113.015 if grid == city.g2 else 113.025
    building = Building.objects.create(number=f"B{grid.pk}-{start}", address=f"{grid.name}路{start}号",
                                       point=Point(lon, 23.005, srid=4326), grid=grid, area_path=grid.path)
    return [House.objects.create(building=building, room=f"{n + 1:02d}", is_rental=rental, grid=grid,
                                 area_path=grid.path) for n in range(count)]


def grid_task(city, **extra):
    params = {"actor": city.t1_operator, "area": city.town1, "title": "出租屋排查", "fields": FIELDS[:2],
              "target_kind": "grid", "deadline": at(4, 18)} | extra
    return actions.create_sweep_task(**params)


def test_progress_as_grids_report_stay_silent_or_send_zero_reports(tiny_city):
    city = tiny_city
    houses(city, city.g1, 3)
    houses(city, city.g1, 2, rental=False, start=1)  # not rental: not targets
    houses(city, city.g2, 2)
    houses(city, city.g3, 4)  # another town: not in the task
    with clock.at(at(3, 9)):
        task = grid_task(city, target_kind="house", target_rental=True)
    assert task.target_count == 5
    assert set(task.targets.values_list("grid_id", flat=True)) == {city.g1.pk, city.g2.pk}

    first = task.targets.filter(grid=city.g1).order_by("id").first()
    with clock.at(at(4, 10)):
        report, created = actions.report_sweep_target(actor=city.g1_worker, task=task, target=first,
                                                      answers={"f1": "2", "f2": "否"})
        assert created and report.answers == {"f1": 2, "f2": False} and not report.is_late
        shown = board(task, city.town1)
    assert (shown.total.total, shown.total.done, shown.total.pending, shown.total.silent) == (5, 1, 4, 0)
    [community] = shown.rows
    assert community.area == city.comm_a and community.counts.grids == 2 and community.counts.grids_silent == 1

    with clock.at(at(4, 11)):  # the zero report covers the grid's other two houses
        assert actions.zero_report_grid(actor=city.g1_worker, task=task, grid=city.g1) == 2
        assert actions.zero_report_grid(actor=city.g1_worker, task=task, grid=city.g1) == 0  # resend
        by_grid = board(task, city.comm_a)
    rows = {row.area: row.counts for row in by_grid.rows}
    assert (rows[city.g1].done, rows[city.g1].zero, rows[city.g1].state) == (3, 2, TargetState.DONE)
    assert (rows[city.g2].reported, rows[city.g2].state) == (0, TargetState.WAITING)

    with clock.at(at(4, 19)):  # past the deadline: grid 2 is silent, then reports late
        after = board(task, city.town1)
        assert (after.overdue, after.total.silent, after.total.waiting) == (True, 2, 0)
        late = task.targets.filter(grid=city.g2).first()
        report, _ = actions.report_sweep_target(actor=_g2_worker(city), task=task,
                                                target=late, answers={"f1": 4, "f2": True})
        assert report.is_late
        states = [row.state for row in grid_targets(task, city.g2)]
        final = board(task, city.town1)
    assert sorted(states) == [TargetState.LATE, TargetState.SILENT]
    assert (final.total.done, final.total.late, final.total.silent, final.total.grids_done) == (3, 1, 1, 1)
    with clock.at(at(4, 19)):  # the counters the board reads agree with a recount of the reports
        actions.rebuild_sweep_counters(task)
        recounted = board(task, city.town1)
    assert recounted.total == final.total


def _g2_worker(city):
    from django.contrib.auth import get_user_model

    from grids.models import Membership

    user = get_user_model().objects.create_user("g2_worker", password="x")
    Membership.objects.create(user=user, role="grid_worker", area=city.g2)
    return user


def test_a_daily_task_runs_in_rounds_over_several_days(tiny_city):
    city = tiny_city
    with clock.at(at(3, 9)):
        task = grid_task(city, recurrence="daily", deadline=None, starts_on=date(2026, 12, 3),
                         ends_on=date(2026, 12, 5), due_time=time(17, 0))
    assert task.rounds() == [date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 5)]
    g1 = task.targets.get(grid=city.g1)
    with clock.at(at(3, 16)):
        actions.report_sweep_target(actor=city.g1_worker, task=task, target=g1, answers={"f1": 0, "f2": True})
        with pytest.raises(Conflict):  # one report per target and round
            actions.report_sweep_target(actor=city.g1_worker, task=task, target=g1, answers={"f1": 1, "f2": True})
        assert board(task, city.town1).total.done == 1
    with clock.at(at(4, 8)):  # a new day, a new round: nothing reported yet
        day2 = board(task, city.town1)
        assert (day2.round_date, day2.total.done, day2.total.pending) == (date(2026, 12, 4), 0, 2)
        assert board(task, city.town1, round_date=date(2026, 12, 3)).total.done == 1  # day 1 kept
    with clock.at(at(4, 17, 30)):  # after day 2's deadline: silent; the zero report counts late
        assert board(task, city.town1).total.silent == 2
        assert actions.zero_report_grid(actor=city.g1_worker, task=task, grid=city.g1) == 1
        assert board(task, city.town1).total.late == 1
    with clock.at(at(5, 12)):
        actions.zero_report_grid(actor=city.g1_worker, task=task, grid=city.g1)
        assert board(task, city.town1).total.done == 1
    with clock.at(at(7, 12)):  # after the last day, reports belong to the last round
        assert task.round_for(clock.now()) == date(2026, 12, 5)
    assert SweepReport.objects.filter(task=task).count() == 3
    with clock.at(at(5, 12)):
        counted = [board(task, city.town1, round_date=r).total for r in task.rounds()]
        actions.rebuild_sweep_counters(task)
        assert [board(task, city.town1, round_date=r).total for r in task.rounds()] == counted


def test_resend_with_client_uuid_reports_once_and_a_finding_becomes_a_case(tiny_city, categories):  # noqa: F811
    city = tiny_city
    houses(city, city.g1, 1)
    with clock.at(at(3, 9)):
        task = grid_task(city, target_kind="house", fields=FIELDS, finding_category=categories.garbage)
    target = task.targets.get()
    key = uuid.uuid4()
    with clock.at(at(3, 10)):
        sent = dict(actor=city.g1_worker, task=task, target=target, answers=GOOD, client_uuid=key,
                    photos={"f5": [photo()]}, finding="case", finding_description="楼道堆放杂物")
        first, created = actions.report_sweep_target(**sent)
        again, created_again = actions.report_sweep_target(**sent | {"photos": {"f5": [photo()]}})
    assert created and not created_again and again.pk == first.pk
    assert SweepReport.objects.count() == 1 and first.photos.count() == 1
    case = Case.objects.get()
    assert first.case == case and case.status == Status.REPORTED and case.category == categories.garbage
    assert case.grid == city.g1 and "楼道堆放杂物" in case.description

    houses(city, city.g2, 1, start=5)
    with clock.at(at(3, 9)):
        other = grid_task(city, target_kind="house", target_rental=True, fields=FIELDS[:1])
    g2_target = other.targets.get(grid=city.g2)
    with clock.at(at(3, 11)):
        report, _ = actions.report_sweep_target(actor=_g2_worker(city), task=other, target=g2_target,
                                                answers={"f1": 1}, finding="report_only",
                                                finding_category=categories.garbage, note="已劝导")
    assert report.case.status == Status.FILED


@pytest.mark.parametrize("answers, field", [
    ({"f2": True}, "answers.f1"),  # a required field missing
    ({"f1": "three", "f2": True}, "answers.f1"),  # not a number
    ({"f1": "NaN", "f2": True}, "answers.f1"),
    ({"f1": 1e300, "f2": True}, "answers.f1"),
    ({"f1": 1, "f2": "maybe"}, "answers.f2"),
    ({"f1": 1, "f2": True, "f3": "别墅"}, "answers.f3"),  # not one of the options
    ({"f1": 1, "f2": True, "f3": ["正常"]}, "answers.f3"),
    ({"f1": 1, "f2": True, "f4": "a\x00b"}, "answers.f4"),  # hostile text
    ({"f1": 1, "f2": True, "f9": "x"}, "answers"),  # no such field
    (["f1"], "answers"),
])
def test_answers_are_checked_against_the_fields(tiny_city, answers, field):
    city = tiny_city
    with clock.at(at(3, 9)):
        task = grid_task(city, fields=FIELDS)
        with pytest.raises(ActionError) as refused:
            actions.report_sweep_target(actor=city.g1_worker, task=task, target=task.targets.get(grid=city.g1),
                                        answers=answers)
    assert refused.value.status_code == 400 and refused.value.field == field
    assert not SweepReport.objects.exists()


@pytest.mark.parametrize("fields", [
    [], "text", [{"label": "", "kind": "text"}], [{"label": "x", "kind": "video"}],
    [{"label": "x", "kind": "choice", "options": ["only one"]}],
    [{"label": "x", "kind": "choice", "options": ["a", "a"]}],
    [{"label": "x", "kind": "text"}, {"label": "x", "kind": "number"}],
    [{"label": "<script>\x07", "kind": "text"}], [{"label": "x" * 101, "kind": "text"}],
    [{"label": "x", "kind": "text", "required": "perhaps"}],
])
def test_the_form_builder_refuses_bad_fields(tiny_city, fields):
    with clock.at(at(3, 9)), pytest.raises(ActionError) as refused:
        grid_task(tiny_city, fields=fields)
    assert refused.value.status_code == 400 and refused.value.field == "fields"


def test_scope_who_may_send_see_and_report(tiny_city):
    city = tiny_city
    with clock.at(at(3, 9)):
        with pytest.raises(Forbidden):
            grid_task(city, actor=city.g1_worker)
        with pytest.raises(Forbidden):  # another town's area
            grid_task(city, actor=city.t2_operator)
        with pytest.raises(ActionError):  # a deadline in the past
            grid_task(city, deadline=at(2, 9))
        task = grid_task(city)
        city_task = grid_task(city, actor=city.district_lead, area=city.district)
    from cases.access import access_sweep_target, access_sweep_task_by_id, sweep_tasks_for

    with pytest.raises(NotFound):  # another town's operator: as if there were none
        access_sweep_task_by_id(city.t2_operator, task.pk)
    with pytest.raises(NotFound):
        access_sweep_task_by_id(city.g3_worker, task.pk)
    assert access_sweep_task_by_id(city.g1_worker, task.pk) == task
    assert set(sweep_tasks_for(city.t2_operator)) == {city_task}  # the district's task reaches town two
    assert (task.centre, city_task.centre) == (city.centres[city.town1.code], city.centres[city.district.code])
    with clock.at(at(3, 9)):  # a district sending to one of its towns sends as the district
        assert grid_task(city, actor=city.district_lead, area=city.town2).centre == city.centres[city.district.code]
    g3_target = city_task.targets.get(grid=city.g3)
    with pytest.raises(NotFound):  # a target of another town, named by a town one worker
        access_sweep_target(city.g1_worker, city_task, g3_target.pk, act=True)
    with pytest.raises(NotFound):  # a target of another task
        access_sweep_target(city.g1_worker, task, city_task.targets.get(grid=city.g1).pk)
    with clock.at(at(3, 10)), pytest.raises(Forbidden):  # the worker of grid 1 cannot report grid 2
        actions.report_sweep_target(actor=city.g1_worker, task=task, target=task.targets.get(grid=city.g2),
                                    answers={"f1": 1, "f2": True})
    assert [row.path for row in board(city_task, city.town2).rows] == [city.comm_b.path]  # its own part only
    with clock.at(at(3, 11)):
        actions.close_sweep_task(actor=city.t1_operator, task=task)
        with pytest.raises(Conflict):
            actions.report_sweep_target(actor=city.g1_worker, task=task, target=task.targets.get(grid=city.g1),
                                        answers={"f1": 1, "f2": True})


def test_reminders_before_the_deadline_once_per_grid_not_done(tiny_city):
    from datetime import timedelta

    city = tiny_city
    with clock.at(at(3, 9)):
        task = grid_task(city)
        actions.report_sweep_target(actor=city.g1_worker, task=task, target=task.targets.get(grid=city.g1),
                                    answers={"f1": 1, "f2": True})
    assert actions.remind_sweep_grids(at=at(4, 12), before=timedelta(hours=2)) == 0  # not yet
    assert actions.remind_sweep_grids(at=at(4, 16, 30), before=timedelta(hours=2)) == 1
    assert actions.remind_sweep_grids(at=at(4, 16, 45), before=timedelta(hours=2)) == 0  # once
    assert list(SweepReminder.objects.values_list("grid", "remaining")) == [(city.g2.pk, 1)]
    from cases.tasks import remind_sweep_grids  # the beat task, called directly: nothing new to remind

    with clock.at(at(4, 17)):
        assert remind_sweep_grids() == 0


def test_rest_send_report_resend_progress_and_scope(tiny_city, api):  # answers in Chinese, the default
    city = tiny_city
    body = {"area": city.town1.pk, "title": "燃气安全排查", "target_kind": "grid",
            "deadline": "2026-12-04T18:00:00+08:00",
            "fields": [{"label": "隐患数", "kind": "number", "required": True}]}
    with clock.at(at(3, 9)):
        assert api.as_(city.g1_worker).post("/api/v1/sweep-tasks/", body, format="json").status_code == 404
        assert api.post("/api/v1/sweep-tasks/", body | {"area": city.g1.pk}, format="json").status_code == 403
        assert api.as_(city.t2_operator).post("/api/v1/sweep-tasks/", body, format="json").status_code == 404
        bad = api.as_(city.t1_operator).post("/api/v1/sweep-tasks/", body | {"fields": [{"label": "x"}]},
                                             format="json")
        assert bad.status_code == 400 and "类型未知" in bad.json()["detail"]
        sent = api.post("/api/v1/sweep-tasks/", body, format="json")
    assert sent.status_code == 201, sent.json()
    task_id = sent.json()["id"]
    assert sent.json()["target_count"] == 2 and sent.json()["fields"][0]["key"] == "f1"
    with clock.at(at(3, 9)):
        other = api.as_(city.district_lead).post("/api/v1/sweep-tasks/", body | {"area": city.town2.pk},
                                                 format="json").json()
    g3_target = api.as_(city.g3_worker).get(f"/api/v1/sweep-tasks/{other['id']}/targets/",
                                            {"grid": city.g3.pk}).json()[0]["id"]
    worker = api.as_(city.g1_worker)
    assert worker.get(f"/api/v1/sweep-tasks/{other['id']}/").status_code == 404  # another town's task
    mine = worker.get(f"/api/v1/sweep-tasks/{task_id}/targets/", {"grid": city.g1.pk}).json()
    assert [row["state"] for row in mine] == ["waiting"]
    url = f"/api/v1/sweep-tasks/{task_id}/reports/"
    key = str(uuid.uuid4())
    with clock.at(at(3, 10)):
        assert worker.post(url, {"target": g3_target, "answers": {"f1": 0}}, format="json").status_code == 404
        refused = worker.post(url, {"target": mine[0]["id"], "answers": {"f1": "many"}}, format="json")
        assert refused.status_code == 400 and refused.json()["errors"] == {"answers.f1": ["“隐患数”必须是数字。"]}
        first = worker.post(url, {"target": mine[0]["id"], "answers": {"f1": 2}, "client_uuid": key}, format="json")
        again = worker.post(url, {"target": mine[0]["id"], "answers": {"f1": 2}, "client_uuid": key}, format="json")
        twice = worker.post(url, {"target": mine[0]["id"], "answers": {"f1": 3}}, format="json")
        assert worker.post(f"/api/v1/sweep-tasks/{task_id}/zero-report/", {"grid": city.g3.pk},
                           format="json").status_code == 404
        progress = api.as_(city.t1_operator).get(f"/api/v1/sweep-tasks/{task_id}/progress/").json()
    assert (first.status_code, again.status_code, again.json()["id"], twice.status_code) == (
        201, 200, first.json()["id"], 409)
    assert progress["total"]["done"] == 1 and progress["total"]["waiting"] == 1
    assert api.as_(city.t2_operator).get(f"/api/v1/sweep-tasks/{task_id}/progress/").status_code == 404
    assert api.as_(city.t1_operator).get(f"/api/v1/sweep-tasks/{task_id}/progress/",
                                         {"area": city.g3.pk}).status_code == 404
    assert api.get("/api/schema/").status_code == 200


def test_pages_send_with_the_field_builder_board_and_the_phone(tiny_city, categories, client):  # noqa: F811
    city = tiny_city
    houses(city, city.g1, 2)
    client.force_login(city.t1_operator)
    form = {"area": city.town1.pk, "title": "出租屋排查", "target_kind": "house", "target_rental": "on",
            "recurrence": "once", "deadline": "2026-12-04T18:00",
            "field_label_1": "在住人数", "field_kind_1": "number", "field_required_1": "on",
            "field_label_2": "状况", "field_kind_2": "choice", "field_options_2": "正常\n群租",
            "field_label_3": "", "field_kind_3": "text", "field_label_4": "门口照片", "field_kind_4": "photo"}
    with clock.at(at(3, 9)):
        assert client.get("/centre/sweeps/new/").status_code == 200
        bad = client.post("/centre/sweeps/new/", form | {"field_options_2": "正常"})
        assert bad.status_code == 400 and "至少需要两个选项" in bad.content.decode()
        sent = client.post("/centre/sweeps/new/", form)
    assert sent.status_code == 302, sent.content.decode()[:2000]
    task = SweepTask.objects.get()
    assert [f["label"] for f in task.fields] == ["在住人数", "状况", "门口照片"] and task.target_count == 2
    with clock.at(at(3, 10)):
        page = client.get(f"/centre/sweeps/{task.pk}/")
        assert page.status_code == 200 and 'hx-trigger="every 10s"' in page.content.decode()
        assert client.get("/centre/sweeps/").status_code == 200

    client.force_login(city.g1_worker)
    with clock.at(at(3, 11)):
        assert "出租屋排查" in client.get("/m/sweeps/").content.decode()
        assert client.get("/m/").status_code == 200
        listing = client.get(f"/m/sweeps/{task.pk}/")
        assert listing.status_code == 200
        target = task.targets.order_by("id").first()
        url = f"/m/sweeps/{task.pk}/t/{target.pk}/"
        assert client.get(url).status_code == 200
        refused = client.post(url, {"answer_f1": "很多"}, HTTP_ACCEPT="application/json")
        assert refused.status_code == 400 and refused.json()["errors"] == {"f1": ["“在住人数”必须是数字。"]}
        sent = client.post(url, {"answer_f1": "2", "answer_f2": "群租", "photo_f3": photo(),
                                 "client_uuid": str(uuid.uuid4())}, HTTP_ACCEPT="application/json")
        assert sent.status_code == 201 and sent.json()["ok"]
        page = client.get(url).content.decode()
        assert 'id="sweep-finding"' in page
        filed = client.post(f"{url}finding/", {"finding": "report_only", "finding_description": "已劝导整改",
                                               "finding_category": Category.objects.filter(parent__isnull=False)
                                               .values_list("pk", flat=True).first()})
        assert filed.status_code == 302 and SweepReport.objects.get(target=target).case.status == Status.FILED
        assert client.post(f"/m/sweeps/{task.pk}/zero/", {"grid": city.g1.pk}).status_code == 302
        assert client.post(f"/m/sweeps/{task.pk}/zero/", {"grid": city.g3.pk}).status_code == 404
        fragment = client.get(f"/centre/sweeps/{task.pk}/progress/?area={city.g1.pk}")
    assert fragment.status_code == 403  # a grid worker has no centre pages
    client.force_login(city.t1_operator)
    with clock.at(at(3, 12)):
        fragment = client.get(f"/centre/sweeps/{task.pk}/progress/?area={city.g1.pk}").content.decode()
    assert fragment.count("chip-green") == 2 and "/centre/sweeps/photos/" in fragment
    photo_url = fragment.split('href="/centre/sweeps/photos/')[1].split('"')[0]
    assert client.get(f"/centre/sweeps/photos/{photo_url}").status_code == 200
    client.force_login(city.t2_operator)
    assert client.get(f"/centre/sweeps/{task.pk}/").status_code == 404
    assert client.get(f"/centre/sweeps/photos/{photo_url}").status_code == 404


def test_a_finding_filed_after_the_report_becomes_a_case_once(tiny_city, categories, api):  # noqa: F811
    city = tiny_city
    with clock.at(at(3, 9)):
        task = grid_task(city, finding_category=categories.garbage)
        report, _ = actions.report_sweep_target(actor=city.g1_worker, task=task,
                                                target=task.targets.get(grid=city.g1), answers={"f1": 0, "f2": True})
    url = f"/api/v1/sweep-tasks/{task.pk}/finding/"
    body = {"report": report.pk, "finding": "case", "finding_description": "巷口井盖松动"}
    with clock.at(at(3, 10)):
        assert api.as_(city.g3_worker).post(url, body, format="json").status_code == 404  # not their task
        first = api.as_(city.g1_worker).post(url, body, format="json")
        again = api.post(url, body, format="json")
        shown = board(task, city.town1)
    assert first.status_code == again.status_code == 200 and first.json()["case"] == again.json()["case"]
    case = Case.objects.get()
    assert case.grid == city.g1 and "巷口井盖松动" in case.description and case.status == Status.REPORTED
    assert shown.total.findings == 1 and shown.total.done == 1
