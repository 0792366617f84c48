"""The pipeline's rules over the API: illegal transitions are refused with a clear answer, an action
applies once however often it is sent, and every action writes exactly one timeline event."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model

from cases import actions
from cases.choices import ACTIVE_DISPATCH_STATUSES, DispatchRole, DispatchStatus, Light, Stage, Status
from cases.models import Case, CaseEvent, Dispatch
from cases.tests.conftest import photo
from govgrid import workcalendar
from grids.choices import Role
from grids.models import Membership

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)  # an ordinary working Monday
CASES = "/api/v1/cases/"
INSIDE_G1 = {"lon": 113.005, "lat": 23.005}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY_0900, tick=False) as traveller:
        yield traveller


# --- helpers: set-up through the actions, the step under test through the API -------------------


def post(client, case, action, data=None, *, multipart=False):
    """POST to a case's action endpoint, reading answers in English so messages can be checked."""
    return client.post(f"{CASES}{case.pk}/{action}/", data or {}, format="multipart" if multipart else "json",
                       HTTP_ACCEPT_LANGUAGE="en")


def refused(response, code: int) -> dict:
    assert response.status_code == code, response.content.decode()
    return response.json()


def ok(response) -> dict:
    assert response.status_code == 200, response.content.decode()
    return response.json()


def reported(city, cats, *, reporter=None, category=None, **extra) -> Case:
    case, _created = actions.report_case(
        reporter=reporter or city.g1_worker, category=category or cats.garbage, **INSIDE_G1,
        description="路边有一堆暴露垃圾", **extra,
    )
    return case


def accepted(city, cats, **extra) -> Case:
    return actions.accept_case(reported(city, cats, **extra), actor=city.t1_operator)


def dispatched(city, cats, *, assists=(), **extra) -> Case:
    return actions.dispatch_case(accepted(city, cats, **extra), actor=city.t1_operator, lead=city.town1_um,
                                 assists=list(assists))


def lead_of(case: Case) -> Dispatch:
    return case.dispatches.get(role=DispatchRole.LEAD, status__in=ACTIVE_DISPATCH_STATUSES)


def in_progress(city, cats, **extra) -> Case:
    return actions.sign_dispatch(lead_of(dispatched(city, cats, **extra)), actor=city.handler)


def handled(city, cats, **extra) -> Case:
    return actions.feedback_dispatch(lead_of(in_progress(city, cats, **extra)), actor=city.handler, note="已清理")


def verified(city, cats, **extra) -> Case:
    """Handled and verified on site by g1_worker: the default verifier of a case they reported, else
    named by the centre (a case reported by anyone else has no verifier until the centre assigns one)."""
    case = handled(city, cats, **extra)
    if case.verifier_id is None:
        case = actions.assign_verification(case, actor=city.t1_operator, verifier=city.g1_worker)
    return actions.verify_case(case, actor=city.g1_worker, passed=True, photos=[photo()])


def hotline_case_verified(city, cats) -> Case:
    """A citizen's case (taken by the centre on the hotline), handled and verified on site."""
    return verified(city, cats, reporter=city.t1_operator, channel="hotline")


def district_handler(city):
    user = get_user_model().objects.create_user("district_handler")
    Membership.objects.create(user=user, role=Role.DEPT_HANDLER, department=city.district_um)
    return user


def actions_of(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("at", "id").values_list("action", flat=True))


# --- refused because of the case's state ------------------------------------------------------------


def test_accepting_a_dispatched_case_is_409_naming_its_state(tiny_city, categories, api):
    case = dispatched(tiny_city, categories)
    body = refused(post(api.as_(tiny_city.t1_operator), case, "accept"), 409)
    assert "dispatched" in body["detail"] and "reported" in body["detail"]
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED
    assert actions_of(case).count("accept") == 1


def test_dispatching_a_case_not_yet_accepted_is_409(tiny_city, categories, api):
    case = reported(tiny_city, categories)
    body = refused(post(api.as_(tiny_city.t1_operator), case, "dispatch", {"lead": tiny_city.town1_um.pk}), 409)
    assert "reported" in body["detail"] and "accepted" in body["detail"]
    assert not case.dispatches.exists()


def test_feedback_before_signing_is_409(tiny_city, categories, api):
    case = dispatched(tiny_city, categories)
    body = refused(post(api.as_(tiny_city.handler), case, "feedback", {"note": "已清理"}), 409)
    assert "dispatched" in body["detail"] and "signed" in body["detail"]
    assert lead_of(case).status == DispatchStatus.DISPATCHED


def test_verifying_a_case_not_handled_is_409(tiny_city, categories, api):
    # The assigned verifier (the reporting grid worker) verifies once; the case is verified now, not
    # handled, so a second verification is a conflict of state, not of role.
    case = verified(tiny_city, categories)
    assert case.verifier == tiny_city.g1_worker
    body = refused(post(api.as_(tiny_city.g1_worker), case, "verify", {"passed": True, "photos": [photo()]},
                        multipart=True), 409)
    assert "verified" in body["detail"] and "handled" in body["detail"]
    assert case.attachments.count() == 1
    assert actions_of(case).count("verify") == 1


def test_verifying_before_the_case_is_handled_is_403_as_nobody_is_its_verifier_yet(tiny_city, categories, api):
    # The verifier is named when the case becomes handled; until then no one is, so the table refuses
    # the role before it looks at the state.
    case = in_progress(tiny_city, categories)
    assert case.verifier_id is None
    body = refused(post(api.as_(tiny_city.g1_worker), case, "verify", {"passed": True, "photos": [photo()]},
                        multipart=True), 403)
    assert body["code"] == "not_allowed"
    assert not case.attachments.exists()


def test_closing_a_case_not_verified_is_409(tiny_city, categories, api):
    case = handled(tiny_city, categories)
    body = refused(post(api.as_(tiny_city.t1_operator), case, "close"), 409)
    assert "handled" in body["detail"] and "verified" in body["detail"]


def test_a_citizens_case_is_not_closed_before_its_follow_up_call(tiny_city, categories, api):
    case = hotline_case_verified(tiny_city, categories)
    operator = api.as_(tiny_city.t1_operator)
    body = refused(post(operator, case, "close"), 409)
    assert body["code"] == "follow_up_first"
    assert Case.objects.get(pk=case.pk).status == Status.VERIFIED

    ok(post(operator, case, "follow-up", {"satisfaction": "satisfied"}))
    assert ok(post(operator, case, "close"))["status"] == "closed"


def test_resuming_a_case_that_is_not_suspended_is_409(tiny_city, categories, api):
    case = accepted(tiny_city, categories)
    body = refused(post(api.as_(tiny_city.t1_operator), case, "resume"), 409)
    assert "not suspended" in body["detail"]
    assert "resume" not in actions_of(case)


# --- refused because of the input -----------------------------------------------------------------


def test_rejecting_without_a_reason_is_400_naming_reason(tiny_city, categories, api):
    case = reported(tiny_city, categories)
    operator = api.as_(tiny_city.t1_operator)
    assert "reason" in refused(post(operator, case, "reject"), 400)["errors"]
    assert "reason" in refused(post(operator, case, "reject", {"reason": "   "}), 400)["errors"]
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_returning_without_a_reason_is_400_naming_reason(tiny_city, categories, api):
    case = dispatched(tiny_city, categories)
    assert "reason" in refused(post(api.as_(tiny_city.handler), case, "return"), 400)["errors"]
    assert lead_of(case).status == DispatchStatus.DISPATCHED


def test_a_case_cannot_be_merged_into_itself(tiny_city, categories, api):
    case = reported(tiny_city, categories)
    body = refused(post(api.as_(tiny_city.t1_operator), case, "merge", {"master": case.pk}), 400)
    assert "master" in body["errors"]
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_a_case_cannot_be_merged_into_a_closed_case(tiny_city, categories, api):
    closed = reported(tiny_city, categories, self_resolve=True, resolution_note="已当场清理", after_photos=[photo()])
    assert closed.status == Status.CLOSED
    case = reported(tiny_city, categories)
    operator = api.as_(tiny_city.t1_operator)
    body = refused(post(operator, case, "merge", {"master": closed.pk}), 404)
    assert body["code"] == "not_found" and "master" in body["errors"]
    assert body["detail"] == "No such open case to merge into."
    # The same answer for an id that does not exist: a closed case is not told apart from none.
    unknown = refused(post(operator, case, "merge", {"master": closed.pk + 1000}), 404)
    assert unknown == body
    assert Case.objects.get(pk=case.pk).master_id is None
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_an_extension_asked_for_after_the_deadline_is_409(tiny_city, categories, api, clock):
    case = in_progress(tiny_city, categories)
    clock.move_to(lead_of(case).due_at + timedelta(seconds=1))
    body = refused(post(api.as_(tiny_city.handler), case, "request-extension",
                        {"amount": "1", "unit": "working_days", "reason": "需协调环卫车辆"}), 409)
    assert body["code"] == "deadline_passed"
    assert not lead_of(case).extensions.exists()


def test_a_second_pending_extension_is_409(tiny_city, categories, api, clock):
    case = in_progress(tiny_city, categories)
    handler = api.as_(tiny_city.handler)
    ask = {"amount": "1", "unit": "working_days", "reason": "需协调环卫车辆"}
    ok(post(handler, case, "request-extension", ask))
    body = refused(post(handler, case, "request-extension", ask), 409)
    assert "already" in body["detail"]
    assert lead_of(case).extensions.count() == 1
    assert actions_of(case).count("request_extension") == 1


def test_escalating_at_the_top_centre_is_409(tiny_city, categories, api):
    case = reported(tiny_city, categories)
    case = actions.escalate_case(case, actor=tiny_city.t1_operator)
    case = actions.escalate_case(case, actor=tiny_city.district_lead)
    assert case.centre == tiny_city.centres["9801"]
    body = refused(post(api.as_(tiny_city.admin), case, "escalate"), 409)
    assert "top" in body["detail"]
    assert actions_of(case).count("escalate") == 2


def test_handing_down_to_a_centre_that_does_not_cover_the_grid_is_404(tiny_city, categories, api):
    case = actions.escalate_case(reported(tiny_city, categories), actor=tiny_city.t1_operator)
    lead = api.as_(tiny_city.district_lead)
    body = refused(post(lead, case, "hand-down", {"centre": tiny_city.centres["980101002"].pk}), 404)
    assert body["code"] == "not_found" and "centre" in body["errors"]
    # A centre above is no target either, and answers exactly as a centre that does not exist.
    assert refused(post(lead, case, "hand-down", {"centre": tiny_city.centres["9801"].pk}), 404) == body
    assert refused(post(lead, case, "hand-down", {"centre": 10**9}), 404) == body
    assert Case.objects.get(pk=case.pk).centre == tiny_city.centres["980101"]

    answer = ok(post(lead, case, "hand-down", {"centre": tiny_city.centres["980101001"].pk}))
    assert answer["centre"] == tiny_city.centres["980101001"].pk


def test_supervising_with_an_unknown_level_is_400_naming_level(tiny_city, categories, api):
    case = accepted(tiny_city, categories)
    body = refused(post(api.as_(tiny_city.t1_operator), case, "supervise", {"level": "purple", "note": "抓紧"}), 400)
    assert "level" in body["errors"]
    assert Case.objects.get(pk=case.pk).supervision == ""


# --- refused because of the role ------------------------------------------------------------------


def test_a_grid_worker_may_not_accept_even_their_own_report(tiny_city, categories, api):
    case = reported(tiny_city, categories)
    refused(post(api.as_(tiny_city.g1_worker), case, "accept"), 403)
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_a_department_handler_may_not_dispatch(tiny_city, categories, api):
    # The handler reported it, so the case is in their scope and the refusal is about the role.
    case = accepted(tiny_city, categories, reporter=tiny_city.handler)
    refused(post(api.as_(tiny_city.handler), case, "dispatch", {"lead": tiny_city.town1_um.pk}), 403)
    assert Case.objects.get(pk=case.pk).status == Status.ACCEPTED and not case.dispatches.exists()


# --- an action submitted twice applies once ---------------------------------------------------------


def test_accept_sent_twice_applies_once(tiny_city, categories, api):
    case = reported(tiny_city, categories)
    operator = api.as_(tiny_city.t1_operator)
    ok(post(operator, case, "accept"))
    refused(post(operator, case, "accept"), 409)
    assert actions_of(case).count("accept") == 1


def test_sign_sent_twice_applies_once(tiny_city, categories, api):
    case = dispatched(tiny_city, categories)
    handler = api.as_(tiny_city.handler)
    ok(post(handler, case, "sign"))
    body = refused(post(handler, case, "sign"), 409)
    assert "signed" in body["detail"]
    assert actions_of(case).count("sign") == 1


def test_close_sent_twice_applies_once(tiny_city, categories, api):
    case = verified(tiny_city, categories)
    operator = api.as_(tiny_city.t1_operator)
    ok(post(operator, case, "close"))
    body = refused(post(operator, case, "close"), 409)
    assert "closed" in body["detail"]
    assert actions_of(case).count("close") == 1


# --- returns ------------------------------------------------------------------------------------


def test_the_leads_return_sends_the_case_back_to_the_centre_and_cancels_the_assists(tiny_city, categories, api):
    case = dispatched(tiny_city, categories, assists=[tiny_city.district_um])
    answer = ok(post(api.as_(tiny_city.handler), case, "return", {"reason": "不属于本中队职责"}))

    assert answer["status"] == "accepted" and answer["stage"] == "accept"
    assert answer["sign_due_at"] is None and answer["handle_due_at"] is None
    rows = {d.role: d for d in Dispatch.objects.filter(case=case)}
    assert rows["lead"].status == DispatchStatus.RETURNED and rows["lead"].return_reason == "不属于本中队职责"
    assert rows["assist"].status == DispatchStatus.CANCELLED
    assert actions_of(case) == ["report", "accept", "dispatch", "return"]
    # Back at the centre it can be dispatched again, to the right department this time.
    again = ok(post(api.as_(tiny_city.t1_operator), case, "dispatch", {"lead": tiny_city.district_um.pk}))
    assert again["status"] == "dispatched"


def test_an_assists_return_leaves_the_case_as_it_was(tiny_city, categories, api):
    case = dispatched(tiny_city, categories, assists=[tiny_city.district_um])
    answer = ok(post(api.as_(district_handler(tiny_city)), case, "return", {"reason": "无需区局配合"}))

    assert answer["status"] == "dispatched" and answer["stage"] == "sign"
    rows = {d.role: d for d in Dispatch.objects.filter(case=case)}
    assert rows["assist"].status == DispatchStatus.RETURNED
    assert rows["lead"].status == DispatchStatus.DISPATCHED
    assert actions_of(case) == ["report", "accept", "dispatch", "return"]


# --- suspension ---------------------------------------------------------------------------------


def test_a_suspended_case_has_no_light_check_and_cannot_be_dispatched(tiny_city, categories, api):
    case = accepted(tiny_city, categories)
    operator = api.as_(tiny_city.t1_operator)
    assert ok(post(operator, case, "suspend", {"reason": "等待法院裁定"}))["suspended_at"] is not None
    assert Case.objects.get(pk=case.pk).next_check_at is None

    body = refused(post(operator, case, "dispatch", {"lead": tiny_city.town1_um.pk}), 409)
    assert "suspended" in body["detail"]
    assert not case.dispatches.exists()
    again = refused(post(operator, case, "suspend", {"reason": "再次"}), 409)
    assert (again["detail"], again["code"]) == ("The case is suspended; resume it first.", "suspended")
    assert actions_of(case).count("suspend") == 1


def test_resuming_moves_every_deadline_later_by_the_paused_working_time(tiny_city, categories, api, clock):
    case = in_progress(tiny_city, categories)  # signed Monday 09:00: 4 working hours → Monday 15:00
    lead = lead_of(case)
    assert case.handle_due_at == lead.due_at == datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)
    before = Case.objects.get(pk=case.pk)

    clock.move_to(datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))
    ok(post(api.as_(tiny_city.t1_operator), case, "suspend", {"reason": "等待法院裁定"}))
    clock.move_to(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI))  # one whole working day later
    ok(post(api.as_(tiny_city.t1_operator), case, "resume"))

    after = Case.objects.get(pk=case.pk)
    paused = timedelta(hours=7, minutes=30)
    assert after.suspended_at is None and after.stage == Stage.HANDLE
    assert after.handle_due_at == after.due_at == datetime(2026, 11, 24, 15, 0, tzinfo=SHANGHAI)
    assert Dispatch.objects.get(pk=lead.pk).due_at == after.handle_due_at
    for moment in ("handle_due_at", "warn_at"):
        assert workcalendar.working_time_between(getattr(before, moment), getattr(after, moment)) == paused, moment
    assert after.light == Light.GREEN and after.next_check_at == after.warn_at
    assert actions_of(case)[-2:] == ["suspend", "resume"]


def test_after_a_long_suspension_the_light_shows_only_the_time_used(tiny_city, categories, api, clock):
    case = in_progress(tiny_city, categories)  # 4 working hours from Monday 09:00
    clock.move_to(datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))  # one hour used
    actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待法院裁定")
    clock.move_to(datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI))  # two weeks later
    answer = ok(post(api.as_(tiny_city.t1_operator), case, "resume"))
    assert answer["light"] == "green"
    assert answer["due_at"] == "2026-12-07T15:00:00+08:00"


def test_a_case_signed_while_suspended_resumes_on_the_handling_clock(tiny_city, categories, api, clock):
    case = dispatched(tiny_city, categories)  # Monday 09:00: sign by 11:00, handle by 15:00
    actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待法院裁定")
    assert ok(post(api.as_(tiny_city.handler), case, "sign"))["status"] == "in_progress"
    clock.move_to(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))  # one whole working day later
    answer = ok(post(api.as_(tiny_city.t1_operator), case, "resume"))
    assert answer["stage"] == "handle"
    assert answer["due_at"] == answer["handle_due_at"] == "2026-11-24T15:00:00+08:00"


def test_a_case_fed_back_while_suspended_resumes_on_the_verification_clock(tiny_city, categories, api, clock):
    case = in_progress(tiny_city, categories)
    actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待法院裁定")
    assert ok(post(api.as_(tiny_city.handler), case, "feedback", {"note": "已清理"}))["status"] == "handled"
    clock.move_to(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    answer = ok(post(api.as_(tiny_city.t1_operator), case, "resume"))
    assert answer["stage"] == "verify" and answer["due_at"] == answer["verify_due_at"]
    assert answer["light"] == "green"


def test_a_case_returned_while_suspended_resumes_on_the_acceptance_clock(tiny_city, categories, api, clock):
    case = dispatched(tiny_city, categories)
    actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待法院裁定")
    assert ok(post(api.as_(tiny_city.handler), case, "return", {"reason": "错派"}))["status"] == "accepted"
    clock.move_to(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    answer = ok(post(api.as_(tiny_city.t1_operator), case, "resume"))
    assert answer["stage"] == "accept" and answer["due_at"] == answer["accept_due_at"] == "2026-11-24T11:00:00+08:00"
    assert Case.objects.get(pk=case.pk).next_check_at is not None


def test_rework_ordered_while_suspended_resumes_on_the_handling_clock(tiny_city, categories, api, clock):
    case = hotline_case_verified(tiny_city, categories)
    actions.suspend_case(case, actor=tiny_city.t1_operator, reason="等待法院裁定")
    operator = api.as_(tiny_city.t1_operator)
    assert ok(post(operator, case, "follow-up", {"satisfaction": "dissatisfied"}))["status"] == "in_progress"
    clock.move_to(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    answer = ok(post(api.as_(tiny_city.t1_operator), case, "resume"))
    assert answer["stage"] == "handle" and answer["due_at"] == answer["handle_due_at"] == "2026-11-24T15:00:00+08:00"
    assert Case.objects.get(pk=case.pk).next_check_at is not None


# --- follow-up, self-resolving, report-only ------------------------------------------------------


def test_a_dissatisfied_follow_up_reopens_the_case_as_rework(tiny_city, categories, api, clock):
    case = hotline_case_verified(tiny_city, categories)
    answer = ok(post(api.as_(tiny_city.t1_operator), case, "follow-up", {"satisfaction": "dissatisfied"}))

    assert answer["status"] == "in_progress" and answer["rework_count"] == 1 and answer["stage"] == "handle"
    assert answer["verified_at"] is None and answer["handled_at"] is None
    assert lead_of(case).status == DispatchStatus.SIGNED
    event = CaseEvent.objects.filter(case=case).order_by("-id").first()
    assert (event.action, event.from_status, event.to_status) == ("follow_up", "verified", "in_progress")
    # The department feeds back again and the case goes the usual way once more.
    assert ok(post(api.as_(tiny_city.handler), case, "feedback", {"note": "已返工"}))["status"] == "handled"


def test_self_resolving_closes_the_case_with_one_event(tiny_city, categories, api):
    answer = api.as_(tiny_city.g1_worker).post(CASES, {
        "category": "0101", **INSIDE_G1, "description": "路边垃圾", "self_resolve": "true",
        "resolution_note": "已当场清理", "after_photos": [photo()],
    }, format="multipart")
    assert answer.status_code == 201, answer.content.decode()
    case = Case.objects.get(pk=answer.json()["id"])
    assert (case.status, case.closure_kind, case.closed_on_time) == (Status.CLOSED, "self_resolved", True)
    assert case.stage == "" and case.next_check_at is None
    assert actions_of(case) == ["self_resolve"]
    assert list(case.attachments.values_list("kind", flat=True)) == ["self_resolve"]


def test_self_resolving_needs_a_resolution_note(tiny_city, categories, api):
    answer = api.as_(tiny_city.g1_worker).post(CASES, {
        "category": "0101", **INSIDE_G1, "description": "路边垃圾", "self_resolve": "true",
        "after_photos": [photo()],
    }, format="multipart")
    assert answer.status_code == 400 and "resolution_note" in answer.json()["errors"]
    assert not Case.objects.exists()


def test_report_only_is_filed_without_a_clock_with_one_event(tiny_city, categories, api):
    answer = api.as_(tiny_city.g1_worker).post(CASES, {
        "category": "0101", **INSIDE_G1, "description": "已报备的临时占道", "report_only": True,
    }, format="json")
    assert answer.status_code == 201, answer.content.decode()
    case = Case.objects.get(pk=answer.json()["id"])
    assert case.status == Status.FILED and case.closure_kind == ""
    assert case.stage == "" and case.due_at is None and case.next_check_at is None
    assert actions_of(case) == ["file"]
    refused(post(api.as_(tiny_city.t1_operator), case, "accept"), 409)


# --- one event per action ----------------------------------------------------------------------------


def test_every_action_writes_exactly_one_event(tiny_city, categories, api, clock):
    city = tiny_city
    case = reported(city, categories)
    seen = CaseEvent.objects.filter(case=case).count()

    def step(user, action, data=None, *, multipart=False, expect: tuple[str, str, str]):
        nonlocal seen
        ok(post(api.as_(user), case, action, data, multipart=multipart))
        events = list(CaseEvent.objects.filter(case=case).order_by("id")[seen:])
        assert [(e.action, e.from_status, e.to_status) for e in events] == [expect], action
        assert events[0].actor == user
        seen += 1

    step(city.t1_operator, "escalate", expect=("escalate", "reported", "reported"))
    step(city.district_lead, "hand-down", {"centre": city.centres["980101001"].pk},
         expect=("hand_down", "reported", "reported"))
    step(city.t1_operator, "accept", expect=("accept", "reported", "accepted"))
    step(city.t1_operator, "dispatch", {"lead": city.town1_um.pk}, expect=("dispatch", "accepted", "dispatched"))
    step(city.handler, "sign", expect=("sign", "dispatched", "in_progress"))
    step(city.handler, "request-extension", {"amount": "2", "unit": "working_hours", "reason": "车辆紧张"},
         expect=("request_extension", "in_progress", "in_progress"))
    extension = lead_of(case).extensions.get()
    step(city.t1_operator, "decide-extension", {"extension": extension.pk, "approve": True},
         expect=("decide_extension", "in_progress", "in_progress"))
    step(city.t1_operator, "suspend", {"reason": "等待协调"}, expect=("suspend", "in_progress", "in_progress"))
    step(city.t1_operator, "resume", expect=("resume", "in_progress", "in_progress"))
    step(city.city_official, "supervise", {"level": "yellow", "note": "尽快处理"},
         expect=("supervise", "in_progress", "in_progress"))
    step(city.handler, "feedback", {"note": "已清理"}, expect=("feedback", "in_progress", "handled"))
    step(city.t1_operator, "assign-verification", {"verifier": "g1_worker"},
         expect=("assign_verification", "handled", "handled"))
    step(city.g1_worker, "verify", {"passed": True, "photos": [photo()]}, multipart=True,
         expect=("verify", "handled", "verified"))
    step(city.t1_operator, "close", expect=("close", "verified", "closed"))
    step(city.t1_operator, "follow-up", {"satisfaction": "satisfied"}, expect=("follow_up", "closed", "closed"))
    assert actions_of(case)[0] == "report" and len(actions_of(case)) == seen


def test_reject_and_merge_each_write_one_event(tiny_city, categories, api):
    operator = api.as_(tiny_city.t1_operator)
    rejected = reported(tiny_city, categories)
    assert ok(post(operator, rejected, "reject", {"reason": "不属于受理范围"}))["status"] == "rejected"
    assert actions_of(rejected) == ["report", "reject"]

    master, duplicate = reported(tiny_city, categories), reported(tiny_city, categories)
    answer = ok(post(operator, duplicate, "merge", {"master": master.pk}))
    assert answer["status"] == "merged" and answer["master"] == master.pk and answer["stage"] == ""
    assert actions_of(duplicate) == ["report", "merge"] and actions_of(master) == ["report"]
