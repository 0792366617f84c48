"""Who sees which cases over the API: every endpoint from outside the scope is a 404, departments see
what was dispatched to them, officials read and supervise only; and the list filters, each on a small
set of cases, with a query count that does not grow with the list."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases import actions, jobs
from cases.choices import ACTIVE_DISPATCH_STATUSES, DispatchRole
from cases.models import Case, CaseEvent
from cases.tests.conftest import photo

SHANGHAI = ZoneInfo("Asia/Shanghai")
CASES = "/api/v1/cases/"
IN_G1 = {"lon": 113.005, "lat": 23.005}
IN_G2 = {"lon": 113.015, "lat": 23.005}
IN_G3 = {"lon": 113.025, "lat": 23.005}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=SHANGHAI)  # a working Monday


def reported(reporter, category, where=IN_G1, **extra) -> Case:
    case, _created = actions.report_case(reporter=reporter, category=category, **where,
                                         description=extra.pop("description", "路边有一堆暴露垃圾"), **extra)
    return case


def dispatched(city, cats, *, lead=None) -> Case:
    case = actions.accept_case(reported(city.g1_worker, cats.garbage), actor=city.t1_operator)
    return actions.dispatch_case(case, actor=city.t1_operator, lead=lead or city.town1_um)


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content.decode()
    return {row["id"] for row in response.json()["results"]}


# --- outside the scope everything is a 404 ------------------------------------------------------------


def test_another_towns_case_is_404_on_every_endpoint(tiny_city, categories, api):
    city = tiny_city
    case = actions.sign_dispatch(dispatched(city, categories).dispatches.get(), actor=city.handler)
    extension = actions.request_extension(case.dispatches.get(), actor=city.handler, amount=1,
                                          unit="working_days", reason="需协调")
    own = reported(city.g3_worker, categories.garbage, IN_G3)
    base = f"{CASES}{case.pk}/"
    posts = {
        "accept": {}, "reject": {"reason": "不属实"}, "merge": {"master": own.pk},
        "dispatch": {"lead": city.town2_justice.pk}, "sign": {}, "return": {"reason": "错派"},
        "feedback": {"note": "已处理"},
        "request-extension": {"amount": "1", "unit": "working_days", "reason": "需协调"},
        "decide-extension": {"extension": extension.pk, "approve": True}, "suspend": {"reason": "暂停"},
        "resume": {}, "assign-verification": {"verifier": "g3_worker"}, "verify": {"passed": True},
        "close": {}, "follow-up": {"satisfaction": "satisfied"}, "escalate": {},
        "hand-down": {"centre": city.centres["980101002"].pk}, "supervise": {"level": "red", "note": "抓紧"},
    }
    events = CaseEvent.objects.count()
    client = api.as_(city.t2_operator)
    answers = {path: client.get(base + path).status_code for path in ("", "timeline/", "extensions/")}
    answers |= {name: client.post(f"{base}{name}/", data, format="json").status_code for name, data in posts.items()}
    answers["photos"] = client.post(base + "photos/", {"kind": "report", "photos": [photo()]},
                                    format="multipart").status_code

    assert answers == dict.fromkeys(answers, 404)
    assert len(answers) == 22
    assert CaseEvent.objects.count() == events and not case.attachments.exists()
    assert Case.objects.get(pk=case.pk).status == "in_progress"
    assert ids(client.get(CASES)) == {own.pk}


def test_a_grid_worker_does_not_see_another_grids_report(tiny_city, categories, api):
    case = reported(tiny_city.g1_worker, categories.garbage)
    client = api.as_(tiny_city.g3_worker)
    assert case.pk not in ids(client.get(CASES))
    assert client.get(f"{CASES}{case.pk}/").status_code == 404
    assert client.get(f"{CASES}{case.pk}/timeline/").status_code == 404
    assert api.as_(tiny_city.g1_worker).get(f"{CASES}{case.pk}/").status_code == 200


def test_a_handler_sees_only_cases_dispatched_to_their_department(tiny_city, categories, api):
    city = tiny_city
    waiting = actions.accept_case(reported(city.g1_worker, categories.garbage), actor=city.t1_operator)
    ours = dispatched(city, categories)
    theirs = dispatched(city, categories, lead=city.district_um)
    client = api.as_(city.handler)

    assert ids(client.get(CASES)) == {ours.pk}
    assert client.get(f"{CASES}{ours.pk}/").status_code == 200
    assert client.get(f"{CASES}{theirs.pk}/").status_code == 404
    assert client.get(f"{CASES}{waiting.pk}/").status_code == 404  # before its dispatch

    actions.dispatch_case(waiting, actor=city.t1_operator, lead=city.district_um, assists=[city.town1_um])
    assert ids(client.get(CASES)) == {ours.pk, waiting.pk}
    assert client.get(f"{CASES}{waiting.pk}/").status_code == 200


def test_the_city_official_reads_everything_and_may_supervise_but_not_accept(tiny_city, categories, api):
    town1 = reported(tiny_city.g1_worker, categories.garbage)
    town2 = reported(tiny_city.g3_worker, categories.garbage, IN_G3)
    client = api.as_(tiny_city.city_official)
    assert ids(client.get(CASES)) == {town1.pk, town2.pk}

    assert client.post(f"{CASES}{town1.pk}/accept/", {}, format="json").status_code == 403
    assert Case.objects.get(pk=town1.pk).status == "reported"

    answer = client.post(f"{CASES}{town2.pk}/supervise/", {"level": "red", "note": "三日内办结"}, format="json")
    assert answer.status_code == 200, answer.content.decode()
    assert (answer.json()["supervision"], answer.json()["urgency"]) == ("red", "urgent")
    assert CaseEvent.objects.filter(case=town2, action="supervise", actor=tiny_city.city_official).count() == 1


# --- list filters --------------------------------------------------------------------------------


@pytest.fixture
def three_cases(tiny_city, categories):
    """At 14:15 on a Monday:

    A  grid 1, 暴露垃圾, by g1_worker at 09:00, accepted: its clock ran out at 11:00 (red)
    C  grid 2, 井盖缺失, hotline call taken by admin at 10:40, yellow card: yellow since 11:40
    B  grid 3 (Town Two), 暴露垃圾, by g3_worker at 10:50, dispatched to 司法所: green until 14:20
    """
    city = tiny_city
    with time_machine.travel(at(9), tick=False) as clock:
        a = reported(city.g1_worker, categories.garbage, address="幸福路1号")
        actions.accept_case(a, actor=city.t1_operator)
        clock.move_to(at(10, 40))
        c = reported(city.admin, categories.hazard, IN_G2, channel="hotline", description="井盖缺失")
        actions.supervise_case(c, actor=city.admin, level="yellow", note="尽快处置")
        clock.move_to(at(10, 50))
        b = reported(city.g3_worker, categories.garbage, IN_G3)
        actions.accept_case(b, actor=city.t2_operator)
        actions.dispatch_case(b, actor=city.t2_operator, lead=city.town2_justice)
        clock.move_to(at(14, 15))
        jobs.sweep_deadlines()
        yield type("Three", (), {"a": a.pk, "b": b.pk, "c": c.pk})


# Each filter on the three cases: the query and the cases it should leave.
FILTERS = [
    ({"status": "accepted"}, "a"),
    ({"status": "dispatched"}, "b"),
    ({"status": ["accepted", "dispatched"]}, "ab"),
    ({"within": "980101001"}, "ac"),
    ({"within": "980101002"}, "b"),
    ({"within": "980101001001002"}, "c"),
    ({"category": "01"}, "abc"),
    ({"category": "0101"}, "ab"),
    ({"category": "0102"}, "c"),
    ({"light": "red"}, "a"),
    ({"light": "yellow"}, "c"),
    ({"light": "green"}, "b"),
    ({"light": ["red", "yellow"]}, "ac"),  # red is read through is_red, the others through light
    ({"light": ["green", "yellow"]}, "bc"),
    ({"overdue": "true"}, "a"),
    ({"overdue": "false"}, "bc"),
    ({"channel": "hotline"}, "c"),
    ({"channel": "grid_worker"}, "ab"),
    ({"supervision": "yellow"}, "c"),
    ({"supervision": "red"}, ""),
    ({"reported_after": "2026-11-23T10:45:00+08:00"}, "b"),
    ({"reported_before": "2026-11-23T10:45:00+08:00"}, "ac"),
    ({"reported_after": "2026-11-23T09:30:00+08:00", "reported_before": "2026-11-23T10:45:00+08:00"}, "c"),
    ({"q": "幸福路"}, "a"),
    ({"q": "暴露垃圾"}, "ab"),
    ({"q": "井盖"}, "c"),
    ({"mine": "true"}, "c"),
    ({"mine": "false"}, "ab"),
]


def test_each_list_filter_leaves_the_right_cases(three_cases, tiny_city, api):
    client = api.as_(tiny_city.admin)
    wrong = {}
    for query, expected in FILTERS:
        found = ids(client.get(CASES, query))
        got = "".join(name for name in "abc" if getattr(three_cases, name) in found)
        if got != expected:
            wrong[str(query)] = f"got {got!r}, expected {expected!r}"
    assert wrong == {}


def test_list_filter_by_department(three_cases, tiny_city, api):
    client = api.as_(tiny_city.admin)
    assert ids(client.get(CASES, {"department": tiny_city.town2_justice.pk})) == {three_cases.b}
    assert ids(client.get(CASES, {"department": tiny_city.town1_um.pk})) == set()


def test_list_filters_stay_inside_the_scope(three_cases, tiny_city, api):
    client = api.as_(tiny_city.t1_operator)
    assert ids(client.get(CASES)) == {three_cases.a, three_cases.c}
    assert ids(client.get(CASES, {"within": "980101002"})) == set()
    assert ids(client.get(CASES, {"department": tiny_city.town2_justice.pk})) == set()


def test_the_list_query_count_does_not_grow_with_the_cases(tiny_city, categories, api,
                                                           django_assert_max_num_queries):
    city = tiny_city

    def add(count):
        for n in range(count):
            # Grid A-2 has no worker of its own: the centre reports there.
            case = reported(city.g1_worker if n % 3 else city.t1_operator,
                            categories.garbage if n % 2 else categories.hazard, IN_G1 if n % 3 else IN_G2)
            if n % 2:
                case = actions.dispatch_case(actions.accept_case(case, actor=city.t1_operator),
                                             actor=city.t1_operator, lead=city.town1_um)
                lead = case.dispatches.get(role=DispatchRole.LEAD, status__in=ACTIVE_DISPATCH_STATUSES)
                actions.sign_dispatch(lead, actor=city.handler)

    client = api.as_(city.t1_operator)
    add(3)
    with django_assert_max_num_queries(4):
        assert len(ids(client.get(CASES))) == 3
    add(7)
    with django_assert_max_num_queries(4):
        assert len(ids(client.get(CASES))) == 10


@pytest.mark.parametrize("params", [
    {"status": "in_progress"}, {"within": "980101001"}, {"light": "green"}, {"department": "town1_um"},
], ids=["status", "subtree", "light", "department"])
def test_each_list_filter_makes_the_same_queries_for_3_and_12_cases(params, tiny_city, categories, api):
    """The staff list's first page, filtered each way issue #16 measures at 1 M cases: a constant number
    of statements (at most 4: session, user, [the area], the page), whatever the number of cases."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    city = tiny_city
    if params.get("department") == "town1_um":
        params = {"department": city.town1_um.pk}

    def add(count):
        for _ in range(count):
            case = actions.dispatch_case(actions.accept_case(reported(city.g1_worker, categories.garbage),
                                                             actor=city.t1_operator),
                                         actor=city.t1_operator, lead=city.town1_um)
            actions.sign_dispatch(case.dispatches.get(role=DispatchRole.LEAD), actor=city.handler)

    client = api.as_(city.t1_operator)
    counts = []
    for count in (3, 9):
        add(count)
        with CaptureQueriesContext(connection) as captured:
            listed = ids(client.get(CASES, {**params, "page_size": 25}))
        assert len(listed) == sum((3, 9)[: len(counts) + 1])
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] <= 4, counts
