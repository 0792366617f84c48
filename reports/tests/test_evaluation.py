"""Unit evaluation 三考合一: a small November worked out by hand, the negative list, the weights, scope,
the XLSX export, bad periods and the number of queries.

Town One in November 2026, its units: 城管中队 (town1_um), a 司法所 (justice) and the Town One centre.

- Cases in grid A-1, both dispatched to 城管中队 on Mon 2 Nov 10:00 for 2 natural days (due Wed 4 Nov
  10:00): A closed Tue 3 Nov (on time), B closed Thu 5 Nov (late). No returns, no rework, no calls, no
  supervision.
- Plan tasks of Town One's plan: 城管中队 leads one from 31 Oct to 20 Dec (50 days) at 45 %; the centre
  one from 1 Nov to 21 Nov at 100 %; the 司法所 one from 10 Nov to 30 Dec (50 days) at 50 %.
- A campaign led by 城管中队 with grids A-1 and A-2 entered on 1 Nov; A-1 certified on 20 Nov.
- Evaluated on 3 Dec, so the as-of day is 30 Nov.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import actions as case_actions
from cases.tests.conftest import photo
from govgrid.errors import ActionError
from grids.choices import DepartmentKind, Role
from grids.models import Department, Membership
from plans import actions as plan_actions
from plans.models import Campaign, CampaignEntry, CampaignType, Certification, Inspection
from reports import evaluation
from reports.actions import update_evaluation_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
G1 = {"lon": 113.005, "lat": 23.005}
START, END = date(2026, 11, 1), date(2026, 11, 30)
NOVEMBER = {"period": "month", "year": 2026, "month": 11}


def moment(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def world(tiny_city, categories):
    c = tiny_city
    c.justice = Department.objects.create(name="Town One 司法所", kind=DepartmentKind.JUSTICE, area=c.town1)
    c.justice_handler = get_user_model().objects.create_user("justice_handler")
    Membership.objects.create(user=c.justice_handler, role=Role.DEPT_HANDLER, department=c.justice)
    c.centre = c.centres["980101001"]
    with time_machine.travel(moment(31, 9, month=10), tick=False) as clock:
        c.plan = plan_actions.create_plan(actor=c.t1_operator, area=c.town1, year=2026, title="平安建设任务清单")
        um_task = plan_actions.create_task(actor=c.t1_operator, plan=c.plan, title="占道经营整治",
                                           starts_on=date(2026, 10, 31), deadline=date(2026, 12, 20),
                                           lead_department=c.town1_um)
        centre_task = plan_actions.create_task(actor=c.t1_operator, plan=c.plan, title="网格员培训",
                                               starts_on=date(2026, 11, 1), deadline=date(2026, 11, 21),
                                               lead_centre=c.centre)
        justice_task = plan_actions.create_task(actor=c.t1_operator, plan=c.plan, title="矛盾纠纷排查",
                                                starts_on=date(2026, 11, 10), deadline=date(2026, 12, 30),
                                                lead_department=c.justice)
        clock.move_to(moment(2, 9))
        cases = []
        for _n in range(2):
            case, _created = case_actions.report_case(reporter=c.g1_worker, category=categories.garbage,
                                                      description="占道经营", **G1)
            case_actions.accept_case(case, actor=c.t1_operator)
            cases.append(case)
        clock.move_to(moment(2, 10))
        for case in cases:
            case_actions.dispatch_case(case, actor=c.t1_operator, lead=c.town1_um, time_limit=Decimal(2),
                                       time_unit="natural_days")
            case_actions.sign_dispatch(case.dispatches.get(), actor=c.handler)
        for day, case in ((3, cases[0]), (5, cases[1])):
            clock.move_to(moment(day, 9))
            case_actions.feedback_dispatch(case.dispatches.get(), actor=c.handler, note="已清理")
            case_actions.verify_case(case, actor=c.g1_worker, passed=True, photos=[photo()])
            case_actions.close_case(case, actor=c.t1_operator)
        clock.move_to(moment(25, 10))
        plan_actions.report_progress(actor=c.handler, task=um_task, text="已整治 9 处", percent=45)
        plan_actions.report_progress(actor=c.t1_operator, task=centre_task, text="培训完成", percent=100)
        plan_actions.report_progress(actor=c.justice_handler, task=justice_task, text="排查过半", percent=50)
        clock.move_to(moment(20, 10))
        certify_one_of_two(c)
    c.cases = cases
    with time_machine.travel(moment(3, 10, month=12), tick=False):
        yield c


def certify_one_of_two(c) -> None:
    """A campaign of 城管中队 over Town One: grids A-1 and A-2 entered, A-1 certified on 20 Nov.

    Written as rows: the campaigns' actions come later in h-campaigns; the rate is read by
    plans.campaign_figures as it will be then."""
    kind = CampaignType.objects.create(code="no-street-stalls", name="无占道经营", family="no_x", entrant="area")
    campaign = Campaign.objects.create(type=kind, title="2026 无占道经营村居创建", area=c.town1, area_path=c.town1.path,
                                       year=2026, starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 31),
                                       owner=c.t1_operator, lead_department=c.town1_um, created_at=moment(1, 9))
    a1, _a2 = (CampaignEntry.objects.create(campaign=campaign, area=grid, area_path=grid.path,
                                            entered_on=date(2026, 11, 1), entered_by=c.t1_operator)
               for grid in (c.g1, c.g2))
    inspection = Inspection.objects.create(entry=a1, inspector=c.t1_operator, at=moment(20, 9), passed=True)
    Certification.objects.create(entry=a1, inspection=inspection, certified_on=date(2026, 11, 20),
                                 valid_until=date(2027, 11, 19), by=c.t1_operator, at=moment(20, 10))


def rows_by_key(rows):
    return {row["unit"]["key"]: row for row in rows}


def parts(row):
    return {component["name"]: component for component in row["components"]}


def test_the_scores_worked_out_by_hand(world):
    c = world
    rows = evaluation.evaluate(c.town1, START, END)
    by_key = rows_by_key(rows)
    assert set(by_key) == {f"department:{c.town1_um.pk}", f"department:{c.justice.pk}", f"centre:{c.centre.pk}"}

    um = by_key[f"department:{c.town1_um.pk}"]
    um_parts = parts(um)
    # Cases: A on time, B late, of 2 due → 50 %.
    assert um_parts["cases"]["value"] == Decimal("50.00")
    assert um_parts["cases"]["detail"]["due"] == 2 and um_parts["cases"]["detail"]["closed_on_time"] == 1
    # Work score (weights 40/20/20/20): on time 0.5 × 40 + accuracy 1 × 20 + no rework 1 × 20
    # + satisfaction (no calls: full marks) 1 × 20 = 80, no supervision → 80.0.
    assert um_parts["work"]["value"] == Decimal("80.0")
    # Plans: 30 of 50 days gone on 30 Nov → 60.0 % expected; 45 done → 45 / 60 = 75.00.
    assert um_parts["plans"]["value"] == Decimal("75.00")
    # Campaigns: A-1 certified, A-2 not → 50.0.
    assert um_parts["campaigns"]["value"] == Decimal("50.00")
    # Weights 30/20/30/20, every part applies: cases 50 × 30 % = 15, work 80 × 20 % = 16,
    # plans 75 × 30 % = 22.5, campaigns 50 × 20 % = 10; total 63.50.
    assert [um_parts[n]["points"] for n in ("cases", "work", "plans", "campaigns")] == [
        Decimal("15.00"), Decimal("16.00"), Decimal("22.50"), Decimal("10.00")]
    assert um_parts["cases"]["applied_weight"] == Decimal("30.00")
    assert um["score"] == Decimal("63.50") and um["deduction"] == Decimal("0.00")

    centre = by_key[f"centre:{c.centre.pk}"]
    # The centre's area had the same two cases: cases 50, work 80; its task is done: 100. It leads no
    # campaign, so campaigns do not apply and the other weights count over 30 + 20 + 30 = 80:
    # (50 × 30 + 80 × 20 + 100 × 30) / 80 = (1500 + 1600 + 3000) / 80 = 76.25.
    assert [parts(centre)[n]["value"] for n in ("cases", "work", "plans")] == [
        Decimal("50.00"), Decimal("80.0"), Decimal("100.00")]
    assert centre["score"] == Decimal("76.25")

    justice = by_key[f"department:{c.justice.pk}"]
    # No cases: neither case handling nor the work score applies. Plans: 20 of 50 days gone → 40 %
    # expected, 50 done → 125, capped at 100. Only plans apply: 100 × 30 / 30 = 100.00.
    assert parts(justice)["cases"]["value"] is None and parts(justice)["work"]["value"] is None
    assert parts(justice)["plans"]["applied_weight"] == Decimal("100.00")
    assert justice["score"] == Decimal("100.00")

    assert parts(centre)["campaigns"]["value"] is None
    assert [parts(centre)[n]["applied_weight"] for n in ("cases", "work", "plans")] == [
        Decimal("37.50"), Decimal("25.00"), Decimal("37.50")]  # 30 / 80, 20 / 80, 30 / 80
    assert [parts(centre)[n]["points"] for n in ("cases", "work", "plans")] == [
        Decimal("18.75"), Decimal("20.00"), Decimal("37.50")]
    assert [(row["unit"]["key"], row["rank"]) for row in rows] == [
        (f"department:{c.justice.pk}", 1), (f"centre:{c.centre.pk}", 2), (f"department:{c.town1_um.pk}", 3)]


def test_a_negative_event_lowers_one_units_score_by_its_points(world):
    c = world
    before = {key: row["score"] for key, row in rows_by_key(evaluation.evaluate(c.town1, START, END)).items()}
    plan_actions.record_negative_event(actor=c.t1_operator, plan=c.plan, on=date(2026, 11, 20), kind="mass_petition",
                                       points="3.5", department=c.town1_um)
    # Outside the period: not in November's evaluation.
    plan_actions.record_negative_event(actor=c.t1_operator, plan=c.plan, on=date(2026, 12, 1), kind="other",
                                       points="10", department=c.town1_um)
    after = rows_by_key(evaluation.evaluate(c.town1, START, END))
    changed = {key for key, row in after.items() if row["score"] != before[key]}
    um = f"department:{c.town1_um.pk}"
    assert changed == {um}
    # 63.50 − 3.50 = 60.00
    assert after[um]["score"] == Decimal("60.00") == before[um] - Decimal("3.50")
    assert after[um]["deduction"] == Decimal("3.50") and after[um]["negative_events"] == 1
    assert after[um]["weighted"] == Decimal("63.50")
    # The deduction never takes a score below 0.
    plan_actions.record_negative_event(actor=c.t1_operator, plan=c.plan, on=date(2026, 11, 21), kind="other",
                                       points="100", department=c.town1_um)
    assert rows_by_key(evaluation.evaluate(c.town1, START, END))[um]["score"] == Decimal("0.00")


def test_changing_the_weights_changes_the_score(world):
    c = world
    update_evaluation_settings(actor=None, weight_cases=10, weight_work=10, weight_plans=60, weight_campaigns=20)
    um = rows_by_key(evaluation.evaluate(c.town1, START, END))[f"department:{c.town1_um.pk}"]
    # (50 × 10 + 80 × 10 + 75 × 60 + 50 × 20) / 100 = (500 + 800 + 4500 + 1000) / 100 = 68.00
    assert um["score"] == Decimal("68.00")
    with pytest.raises(ActionError, match="100"):
        update_evaluation_settings(actor=None, weight_cases=50)  # 50 + 10 + 60 + 20 = 140
    with pytest.raises(ActionError):
        update_evaluation_settings(actor=None, weight_cases=-10, weight_plans=80)
    with pytest.raises(ActionError):
        update_evaluation_settings(actor=c.t1_operator, weight_cases=10)  # not an administrator


def test_queries_do_not_grow_with_the_units(world):
    c = world

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            evaluation.evaluate(c.town1, START, END)
        return len(captured)

    first = queries()
    for n in range(4):
        department = Department.objects.create(name=f"部门 {n}", kind=DepartmentKind.OTHER, area=c.comm_a)
        plan_actions.create_task(actor=c.t1_operator, plan=c.plan, title=f"任务 {n}", starts_on=date(2026, 11, 1),
                                 deadline=date(2026, 11, 30), lead_department=department)
        plan_actions.record_negative_event(actor=c.t1_operator, plan=c.plan, on=date(2026, 11, 2), kind="other",
                                           points="1", department=department)
    assert len(evaluation.evaluate(c.town1, START, END)) == 7
    assert queries() == first <= 10


def test_the_page_shows_the_breakdown(world, client):
    c = world
    client.force_login(c.t1_operator)
    response = client.get(reverse("reports:evaluation"), {"area": c.town1.code, **NOVEMBER})
    assert response.status_code == 200
    page = response.content.decode()
    assert "单位考核" in page and "63.50" in page and "76.25" in page and "占道经营整治" in page
    assert reverse("reports:evaluation_xlsx") in page
    client.cookies["django_language"] = "en"
    page = client.get(reverse("reports:evaluation"), {"area": c.town1.code, **NOVEMBER},
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Unit evaluation" in page or "unit evaluation" in page
    dashboard = client.get(reverse("reports:dashboard"), {"area": c.town1.code}).content.decode()
    assert reverse("reports:evaluation") in dashboard


def test_the_xlsx_holds_the_same_numbers(world, client):
    from openpyxl import load_workbook

    c = world
    client.force_login(c.t1_operator)
    response = client.get(reverse("reports:evaluation_xlsx"), {"area": c.town1.code, **NOVEMBER})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    table = list(sheet.iter_rows(values_only=True))
    header, body = table[0], table[1:]
    expected = evaluation.evaluate(c.town1, START, END)
    assert len(body) == len(expected)
    score = header.index(header[-1])
    for line, row in zip(body, expected, strict=True):
        assert line[0] == row["rank"] and line[1] == row["unit"]["name"]
        assert Decimal(str(line[score])) == row["score"]
        values = [Decimal(str(v)) if v is not None else None for v in line[4:4 + 3 * 4:3]]
        assert values == [component["value"] for component in row["components"]]
    assert any(Decimal(str(line[-1])) == Decimal("63.50") for line in body)


def test_scope(world, client, api):
    c = world
    other_town = get_user_model().objects.create_user("official_town2")
    Membership.objects.create(user=other_town, role=Role.OFFICIAL, area=c.town2)
    client.force_login(other_town)
    assert client.get(reverse("reports:evaluation"), {"area": c.town1.code, **NOVEMBER}).status_code == 404
    assert client.get(reverse("reports:evaluation_xlsx"), {"area": c.town1.code, **NOVEMBER}).status_code == 404
    api.as_(other_town)
    url = "/api/v1/reports/evaluation/"
    assert api.get(url, {"area": c.town1.code, "start": "2026-11-01", "end": "2026-11-30"}).status_code == 404
    # Their own town: its units only (Town Two's 司法所 and centre).
    data = api.get(url, {"area": c.town2.code, "start": "2026-11-01", "end": "2026-11-30"}).json()
    assert {row["unit"]["key"] for row in data["rows"]} == {f"department:{c.town2_justice.pk}",
                                                            f"centre:{c.centres['980101002'].pk}"}
    # Neither officials nor centre staff: no reports at all.
    client.force_login(c.g1_worker)
    assert client.get(reverse("reports:evaluation"), {"area": c.g1.code}).status_code == 403
    client.force_login(c.handler)
    assert client.get(reverse("reports:evaluation_xlsx"), {"area": c.town1.code}).status_code == 403
    # The city official sees Town One's figures, the same as the page's.
    data = api.as_(c.city_official).get(url, {"area": c.town1.code, "start": "2026-11-01", "end": "2026-11-30"})
    assert data.status_code == 200
    um = next(row for row in data.json()["rows"] if row["unit"]["key"] == f"department:{c.town1_um.pk}")
    assert Decimal(str(um["score"])) == Decimal("63.50") and um["rank"] == 3


@pytest.mark.parametrize("params", [
    {"period": "month", "year": 2026, "month": 13},
    {"period": "quarter", "year": 2026, "quarter": 5},
    {"period": "decade", "year": 2026},
    {"period": "year", "year": "twenty"},
    {"period": "year", "year": 99999},
])
def test_a_bad_period_is_400(world, client, params):
    c = world
    client.force_login(c.t1_operator)
    response = client.get(reverse("reports:evaluation"), {"area": c.town1.code, **params})
    assert response.status_code == 400
    response = client.get(reverse("reports:evaluation_xlsx"), {"area": c.town1.code, **params})
    assert response.status_code == 400 and response.content


def test_a_bad_api_period_is_400(world, api):
    c = world
    api.as_(c.t1_operator)
    for query in ({"start": "2026-13-01"}, {"start": "2026-12-01", "end": "2026-11-01"}, {"end": "x"}):
        assert api.get("/api/v1/reports/evaluation/", {"area": c.town1.code, **query}).status_code == 400


def test_quarters_and_years(world, client):
    c = world
    client.force_login(c.t1_operator)
    response = client.get(reverse("reports:evaluation"), {"area": c.town1.code, "period": "quarter", "year": 2026,
                                                         "quarter": 4})
    assert response.status_code == 200
    assert response.context["start"] == date(2026, 10, 1) and response.context["end"] == date(2026, 12, 31)
    assert response.context["as_of"] == date(2026, 12, 3)
    response = client.get(reverse("reports:evaluation"), {"area": c.town1.code, "period": "year", "year": 2026})
    assert response.context["start"] == date(2026, 1, 1) and response.context["end"] == date(2026, 12, 31)


def test_the_weights_in_the_admin(tiny_city, client):
    from reports.models import EvaluationSettings

    client.force_login(tiny_city.superuser)
    settings = EvaluationSettings.current()
    url = reverse("admin:reports_evaluationsettings_change", args=[settings.pk])
    assert client.get(url).status_code == 200
    weights = {"weight_cases": "30", "weight_work": "30", "weight_plans": "30", "weight_campaigns": "20"}
    response = client.post(url, weights)  # 110
    assert response.status_code == 200 and "100" in response.content.decode()
    assert EvaluationSettings.current().weight_work == Decimal(20)
    # Adding up to 100: saved, and recorded in the configuration history.
    response = client.post(url, {**weights, "weight_work": "20"})
    assert response.status_code == 302 and EvaluationSettings.current().weight_work == Decimal(20)
    response = client.post(url, {**weights, "weight_cases": "25", "weight_work": "25"})
    assert response.status_code == 302 and EvaluationSettings.current().weight_cases == Decimal(25)
    history = client.get(reverse("admin:reports_evaluationsettings_history", args=[settings.pk])).content.decode()
    assert "25.00" in history and "30.00" in history
