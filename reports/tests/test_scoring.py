"""Safety index, grid worker scores and department scores on hand-built months with known answers."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases import actions
from cases.tests.conftest import photo
from grids.choices import Role
from grids.models import Membership
from reports import scoring
from reports.actions import update_scoring_settings
from reports.models import SafetyIndicator, ScoreRule

SHANGHAI = ZoneInfo("Asia/Shanghai")
G1 = {"lon": 113.005, "lat": 23.005}


@pytest.fixture
def frozen():
    with time_machine.travel(datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


def report(city, categories, **extra):
    case, _ = actions.report_case(reporter=city.g1_worker, category=categories.garbage, description="垃圾",
                                  **G1, **extra)
    return case


def test_safety_index_per_10000_residents(tiny_city, categories, frozen):
    SafetyIndicator.objects.all().delete()
    SafetyIndicator.objects.create(name="市容", measure="reported", family_code="01", weight=Decimal("1.5"))
    report(tiny_city, categories)
    report(tiny_city, categories)
    index = scoring.safety_index(tiny_city.city, 2026, 11)
    # 3 grids × 1,200 people; 2 cases → 5.56 per 10,000 × 1.5 = 8.33 points off.
    assert index["population"] == 3600
    assert index["indicators"][0]["count"] == 2
    assert index["indicators"][0]["points_off"] == pytest.approx(8.33)
    assert index["score"] == pytest.approx(91.7)
    assert index["light"] == "green"
    update_scoring_settings(actor=None, safety_green_min=Decimal(95))
    assert scoring.safety_index(tiny_city.city, 2026, 11)["light"] == "yellow"
    ranking = scoring.safety_ranking(tiny_city.district, 2026, 11)
    assert [row["area"]["code"] for row in ranking] == ["980101002", "980101001"]  # Town Two had no case


def test_worker_scores_points_times_coefficient(tiny_city, categories, frozen):
    Membership.objects.filter(user=tiny_city.g1_worker).update(coefficient=Decimal("1.5"))
    accepted, rejected = report(tiny_city, categories), report(tiny_city, categories)
    actions.accept_case(accepted, actor=tiny_city.t1_operator)
    actions.reject_case(rejected, actor=tiny_city.t1_operator, reason="不属于受理范围")
    report(tiny_city, categories, self_resolve=True, resolution_note="已劝导", after_photos=[photo()])
    rows = scoring.worker_scores(tiny_city.town1, 2026, 11)
    mine = next(row for row in rows if row["user"]["username"] == "g1_worker")
    assert mine["deeds"]["valid_report"] == 1 and mine["deeds"]["rejected_report"] == 1
    assert mine["deeds"]["self_resolved"] == 1
    rules = {rule.deed: rule.points for rule in ScoreRule.objects.all()}
    expected = (rules["valid_report"] + rules["self_resolved"] + rules["rejected_report"]) * Decimal("1.5")
    assert mine["score"] == float(expected)
    assert rows[0]["user"]["username"] == "g1_worker" and rows[0]["rank"] == 1
    # Town Two's worker is not in Town One's ranking.
    assert "g3_worker" not in {row["user"]["username"] for row in rows}


def test_department_score_and_supervision_penalty(tiny_city, categories, frozen):
    case = report(tiny_city, categories)
    actions.accept_case(case, actor=tiny_city.t1_operator)
    actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    dispatch = case.dispatches.get()
    actions.sign_dispatch(dispatch, actor=tiny_city.handler)
    actions.supervise_case(case, actor=tiny_city.city_official, level="normal", note="请加快")
    actions.feedback_dispatch(dispatch, actor=tiny_city.handler, note="已清理")
    actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[photo()])
    actions.close_case(case, actor=tiny_city.t1_operator)
    rows = scoring.department_scores(tiny_city.city, 2026, 11)
    assert [row["department"]["name"] for row in rows] == ["Town One 城管中队"]
    # Everything on time and right first time (100), less 2 points for one supervision.
    assert rows[0]["supervised"] == 1
    assert rows[0]["score"] == pytest.approx(98.0)


def test_a_town_official_cannot_read_another_towns_safety_or_scores(tiny_city, categories, api):
    official = tiny_city.nobody
    Membership.objects.create(user=official, role=Role.OFFICIAL, area=tiny_city.town1)
    client = api.as_(official)
    for url in ("/api/v1/reports/safety/", "/api/v1/reports/scores/workers/", "/api/v1/reports/scores/departments/"):
        assert client.get(url, {"area": "980101002", "year": 2026, "month": 11}).status_code == 404
        assert client.get(url, {"area": "980101001", "year": 2026, "month": 11}).status_code == 200
    bad = client.get("/api/v1/reports/safety/", {"area": "980101001", "year": 2026, "month": 13})
    assert bad.status_code == 400 and "month" in bad.json()["errors"]
    grid = client.get("/api/v1/reports/scores/workers/", {"area": "980101001001", "year": 2026, "month": 11})
    assert grid.status_code == 400
