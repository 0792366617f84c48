"""The pipeline table, walked: for every role and every status, the page buttons, the API's answers and
the actions agree with the table (cases.pipeline), and nothing else decides.

For each state a case is built through the real actions; for each persona and each row of the table:
- the table's answer: ``permitted_rules`` (for a department's row: on any of the user's dispatches);
- the page: the row's button is on the case page exactly when the table permits it (a case the
  persona cannot see is a 404 page);
- the API: a POST with an empty body answers 403 or 409 when the table refuses, 404 when the case is
  out of scope, and otherwise goes on to the body (400 for a missing field) or runs (2xx);
- the action, called directly with plausible input, refuses with Forbidden/Conflict/NotFound exactly
  when the table refuses.
Every call runs in a savepoint that is rolled back, so each sees the same state.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction
from django.urls import reverse

from cases import actions, pipeline
from cases.choices import DispatchRole, Status
from cases.models import Case
from cases.pages.common import available_actions, case_for_page
from cases.selectors import visible_cases
from cases.tests.conftest import photo
from govgrid.errors import ActionError, Conflict, Forbidden, NotFound

G1 = {"lon": 113.005, "lat": 23.005}
PERSONAS = ("admin", "t1_operator", "t2_operator", "district_lead", "city_official", "handler", "g1_worker",
            "g3_worker", "nobody")


class Rollback(Exception):
    pass


def rolled_back(run: Callable):
    """Run ``run()`` in a savepoint that is always rolled back; return what it returned or raised."""
    outcome = {}
    try:
        with transaction.atomic():
            try:
                outcome["value"] = run()
            except Exception as exc:  # noqa: BLE001 - the outcome is what we compare
                outcome["error"] = exc
            raise Rollback
    except Rollback:
        pass
    return outcome


def lead(case: Case):
    return case.dispatches.get(role=DispatchRole.LEAD, status__in=["dispatched", "signed", "handled"])


def build(state: str, city, cats) -> Case:
    """A case in ``state``, made through the actions."""
    op = city.t1_operator
    reporter = op if state == "handled_unassigned" else city.g1_worker
    case, _ = actions.report_case(reporter=reporter, category=cats.garbage, description="路边垃圾", **G1)
    if state == "reported":
        return case
    if state == "filed":
        return actions.report_case(reporter=city.g1_worker, category=cats.garbage, description="报备", report_only=True,
                                   **G1)[0]
    if state == "rejected":
        return actions.reject_case(case, actor=op, reason="不属实")
    if state == "merged":
        master, _ = actions.report_case(reporter=city.g1_worker, category=cats.garbage, description="主案", **G1)
        return actions.merge_case(case, actor=op, master=master)
    case = actions.accept_case(case, actor=op)
    if state == "accepted":
        return case
    case = actions.dispatch_case(case, actor=op, lead=city.town1_um)
    if state == "dispatched":
        return case
    case = actions.sign_dispatch(lead(case), actor=city.handler)
    if state == "in_progress":
        return case
    if state == "extension_pending":
        actions.request_extension(lead(case), actor=city.handler, amount=1, unit="working_days", reason="材料")
        return case
    if state == "suspended":
        return actions.suspend_case(case, actor=op, reason="等待裁定")
    case = actions.feedback_dispatch(lead(case), actor=city.handler, note="已清理")
    if state in ("handled", "handled_unassigned"):
        return case
    case = actions.verify_case(case, actor=city.g1_worker, passed=True, photos=[photo()])
    if state == "verified":
        return case
    return actions.close_case(case, actor=op)


STATES = ("reported", "accepted", "dispatched", "in_progress", "extension_pending", "suspended", "handled",
          "handled_unassigned", "verified", "closed", "rejected", "merged", "filed")


def call_action(name: str, user, case: Case, city, cats):
    """The action of ``name`` called as a page or client would, with plausible input."""
    fresh = Case.objects.get(pk=case.pk)
    mine = pipeline.own_dispatches(user, Case.objects.prefetch_related("dispatches__extensions").get(pk=case.pk))
    some_dispatch = (mine or list(fresh.dispatches.all()) or [None])[0]
    pending = next((e for d in fresh.dispatches.all() for e in d.extensions.filter(status="pending")), None)
    note = "说明"
    calls = {
        "accept": lambda: actions.accept_case(fresh, actor=user, note=note),
        "reject": lambda: actions.reject_case(fresh, actor=user, reason=note),
        "merge": lambda: actions.merge_case(fresh, actor=user, master=None),
        "dispatch": lambda: actions.dispatch_case(fresh, actor=user, lead=city.town1_um),
        "sign": lambda: actions.sign_dispatch(some_dispatch, actor=user),
        "feedback": lambda: actions.feedback_dispatch(some_dispatch, actor=user, note=note),
        "request_extension": lambda: actions.request_extension(some_dispatch, actor=user, amount=1,
                                                               unit="working_days", reason=note),
        "return": lambda: actions.return_dispatch(some_dispatch, actor=user, reason=note),
        "decide_extension": lambda: actions.decide_extension(pending, actor=user, approve=True) if pending else
        pipeline.check("decide_extension", user, Case.objects.get(pk=case.pk)),
        "assign_verification": lambda: actions.assign_verification(fresh, actor=user, verifier=city.g1_worker),
        "verify": lambda: actions.verify_case(fresh, actor=user, passed=True, photos=[photo()]),
        "follow_up": lambda: actions.follow_up(fresh, actor=user, satisfaction="satisfied"),
        "close": lambda: actions.close_case(fresh, actor=user),
        "supervise": lambda: actions.supervise_case(fresh, actor=user, level="normal", note=note),
        "suspend": lambda: actions.suspend_case(fresh, actor=user, reason=note),
        "resume": lambda: actions.resume_case(fresh, actor=user),
        "escalate": lambda: actions.escalate_case(fresh, actor=user),
        "hand_down": lambda: actions.hand_down_case(fresh, actor=user, centre=city.centres["980101001"]),
    }
    if some_dispatch is None and name in ("sign", "feedback", "request_extension", "return"):
        return {"error": Forbidden("no dispatch")}
    return rolled_back(calls[name])


@pytest.mark.parametrize("state", STATES)
def test_pages_api_and_actions_agree_with_the_table(state, tiny_city, categories, api, client):
    case = build(state, tiny_city, categories)
    missing = api.as_(tiny_city.admin).post("/api/v1/cases/999999999/accept/", {}, format="json").json()["detail"]
    checked = 0
    for persona in PERSONAS:
        user = getattr(tiny_city, persona)
        visible = visible_cases(user).filter(pk=case.pk).exists()
        if visible:
            page_case = case_for_page(user, case.pk)
            table = {rule.name for rule in pipeline.permitted_rules(user, page_case)}
            buttons = {action.name for action in available_actions(user, page_case)}
            assert buttons == table, (state, persona)
            client.force_login(user)
            page = client.get(reverse("cases:detail", args=[case.pk]))
            assert page.status_code == 200
            html = page.content.decode()
            for rule in pipeline.PAGE_RULES:
                shown = f'id="action-{rule.name}"' in html
                assert shown == (rule.name in table), (state, persona, rule.name, "page")
        else:
            table = set()
        client_api = api.as_(user)
        if not visible:  # out of scope: every action endpoint answers the 404 of a missing case
            for rule in pipeline.PAGE_RULES:
                url = f"/api/v1/cases/{case.pk}/{rule.name.replace('_', '-')}/"
                response = client_api.post(url, {}, format="json")
                assert response.status_code == 404 and response.json()["detail"] == missing, (state, persona)
            continue
        for rule in pipeline.PAGE_RULES:
            url = f"/api/v1/cases/{case.pk}/{rule.name.replace('_', '-')}/"
            response = rolled_back(lambda url=url, c=client_api: c.post(url, {}, format="json"))["value"]
            if rule.name in table:
                assert response.status_code in (200, 201, 400), (state, persona, rule.name, response.content)
            else:
                assert response.status_code in (403, 409), (state, persona, rule.name, response.content)
            outcome = call_action(rule.name, user, case, tiny_city, categories)
            error = outcome.get("error")
            refused = isinstance(error, Forbidden | Conflict | NotFound)
            assert refused == (rule.name not in table), (state, persona, rule.name, repr(error))
            if error is not None and not refused:
                assert isinstance(error, ActionError), (state, persona, rule.name, repr(error))
            checked += 1
    assert checked > 0


def test_the_table_has_a_row_for_every_timeline_action():
    from cases.choices import Action

    assert set(Action.values) <= set(pipeline.RULES_BY_EVENT), set(Action.values) - set(pipeline.RULES_BY_EVENT)


def test_every_notifying_event_has_an_audience_the_notifications_know():
    from cases.notifications import AUDIENCES

    for rule in pipeline.RULES:
        assert set(rule.notify) <= set(AUDIENCES), rule.name


def test_statuses_in_the_table_are_real():
    for rule in pipeline.RULES:
        assert set(rule.statuses) <= set(Status.values), rule.name
        assert rule.to in (None, "*", *Status.values), rule.name
