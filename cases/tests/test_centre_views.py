"""The centre pages (inbox, board, approvals) and the department inbox, through the Django test client.

Each page lists what belongs to the persona and nothing of town two; the in-place endpoints run the
real actions and answer htmx with the row in its new state, or the form with the refusal beside the
field and a 4xx; people without the role get 403; the lists cost the same number of queries for 3 cases
as for 12.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from cases import actions, jobs
from cases.choices import DispatchStatus, ExtensionStatus, Status, Supervision
from cases.models import Case, Dispatch, ExtensionRequest
from cases.tests.conftest import photo
from govgrid.workcalendar import TimeUnit

pytestmark = pytest.mark.django_db

G1 = {"lon": 113.005, "lat": 23.005}
G2 = {"lon": 113.015, "lat": 23.005}
G3 = {"lon": 113.025, "lat": 23.005}  # town two
HX = {"HTTP_HX_REQUEST": "true"}


def report(city, categories, *, reporter=None, where=G1, category=None, text="路边有一堆暴露垃圾") -> Case:
    # Each grid's own worker reports there; grid A-2 has none, so town one's centre takes it (a worker
    # reporting outside their own grids is refused).
    if reporter is None:
        reporter = city.g3_worker if where is G3 else city.t1_operator if where is G2 else city.g1_worker
    case, _created = actions.report_case(reporter=reporter, category=category or categories.garbage,
                                         description=text, **where)
    return case


def accepted(city, categories, **kwargs) -> Case:
    case = report(city, categories, **kwargs)
    operator = city.t2_operator if kwargs.get("where") is G3 else city.t1_operator
    return actions.accept_case(case, actor=operator)


def dispatched(city, categories, *, lead=None, **kwargs) -> Case:
    case = accepted(city, categories, **kwargs)
    operator = city.t2_operator if kwargs.get("where") is G3 else city.t1_operator
    lead = lead or (city.town2_justice if kwargs.get("where") is G3 else city.town1_um)
    return actions.dispatch_case(case, actor=operator, lead=lead)


def lead_dispatch(case: Case) -> Dispatch:
    return case.dispatches.get(role="lead", status__in=["dispatched", "signed", "handled"])


def in_progress(city, categories, **kwargs) -> Case:
    case = dispatched(city, categories, **kwargs)
    return actions.sign_dispatch(lead_dispatch(case), actor=city.handler)


def handled(city, categories, **kwargs) -> Case:
    case = in_progress(city, categories, **kwargs)
    return actions.feedback_dispatch(lead_dispatch(case), actor=city.handler, note="已清理")


def verified(city, categories, **kwargs) -> Case:
    """Verified by g1_worker: the verifier of a case they reported, else named by the centre first."""
    case = handled(city, categories, **kwargs)
    if case.verifier_id is None:
        case = actions.assign_verification(case, actor=city.t1_operator, verifier=city.g1_worker)
    return actions.verify_case(case, actor=city.g1_worker, passed=True, photos=[photo()])


def as_(client, user):
    client.force_login(user)
    return client


def do(client, namespace, case, name, data=None, *, htmx=True, kind="", row=""):
    payload = {"kind": kind, "row": row, **(data or {})}
    return client.post(reverse(f"{namespace}:do", args=[case.pk, name]), payload, **(HX if htmx else {}))


def text(response) -> str:
    return response.content.decode()


# --- what each page lists --------------------------------------------------------------------------


def test_inbox_lists_new_and_accepted_reports_of_the_operators_town_only(client, tiny_city, categories):
    new = report(tiny_city, categories, text="新上报的垃圾")
    waiting = accepted(tiny_city, categories, where=G2, text="已立案待派遣")
    other_town = report(tiny_city, categories, where=G3, text="二镇的垃圾")
    already_dispatched = dispatched(tiny_city, categories)

    page = text(as_(client, tiny_city.t1_operator).get(reverse("centre:inbox")))
    assert new.number in page and waiting.number in page
    assert other_town.number not in page and already_dispatched.number not in page
    assert f'id="row-inbox-{new.pk}"' in page and f'id="row-inbox-{waiting.pk}"' in page

    page = text(as_(client, tiny_city.t2_operator).get(reverse("centre:inbox")))
    assert other_town.number in page and new.number not in page


def test_inbox_shows_the_triage_suggestions_and_sorts_by_deadline(client, tiny_city, categories):
    first = report(tiny_city, categories, text="第一件")
    second = report(tiny_city, categories, text="第二件（重复）")
    jobs.triage_case(second.pk)
    page = text(as_(client, tiny_city.t1_operator).get(reverse("centre:inbox")))
    row = page[page.index(f'id="row-inbox-{second.pk}"'):]
    row = row[:row.index("</tbody>")]
    assert first.number in row  # the duplicate suggestion links the earlier case
    assert tiny_city.town1_um.name in row  # the suggested lead department
    assert page.index(f'id="row-inbox-{first.pk}"') < page.index(f'id="row-inbox-{second.pk}"')
    newest_first = text(client.get(reverse("centre:inbox"), {"sort": "-reported"}))
    assert newest_first.index(f'id="row-inbox-{second.pk}"') < newest_first.index(f'id="row-inbox-{first.pk}"')


def test_inbox_filters_by_area_category_and_text(client, tiny_city, categories):
    in_g1 = report(tiny_city, categories, text="垃圾一")
    in_g2 = report(tiny_city, categories, where=G2, category=categories.hazard, text="井盖二")
    as_(client, tiny_city.t1_operator)
    page = text(client.get(reverse("centre:inbox"), {"within": tiny_city.g2.code}))
    assert in_g2.number in page and in_g1.number not in page
    page = text(client.get(reverse("centre:inbox"), {"category": categories.garbage.code}))
    assert in_g1.number in page and in_g2.number not in page
    page = text(client.get(reverse("centre:inbox"), {"q": "井盖"}))
    assert in_g2.number in page and in_g1.number not in page
    page = client.get(reverse("centre:inbox"), {"within": "nowhere"})
    assert page.status_code == 200 and in_g1.number not in text(page)


def test_board_shows_open_cases_by_stage_red_first(client, tiny_city, categories):
    new = report(tiny_city, categories)
    to_sign = dispatched(tiny_city, categories)
    handling = in_progress(tiny_city, categories)
    to_verify = handled(tiny_city, categories)
    done = verified(tiny_city, categories)
    other_town = dispatched(tiny_city, categories, where=G3)
    late = report(tiny_city, categories, text="超期")
    Case.objects.filter(pk=late.pk).update(light="red")

    page = text(as_(client, tiny_city.t1_operator).get(reverse("centre:board")))
    lanes = {stage: page[page.index(f'class="lane lane-{stage}"'):] for stage in ("accept", "sign", "handle", "verify")}
    for stage, lane in lanes.items():
        lanes[stage] = lane[:lane.index("</section>")]
    assert new.number in lanes["accept"] and late.number in lanes["accept"]
    assert lanes["accept"].index(late.number) < lanes["accept"].index(new.number)  # red first
    assert to_sign.number in lanes["sign"] and handling.number in lanes["handle"]
    assert to_verify.number in lanes["verify"]
    assert done.number not in page and other_town.number not in page

    actions.supervise_case(handling, actor=tiny_city.city_official, level=Supervision.YELLOW, note="加快")
    page = text(client.get(reverse("centre:board"), {"supervision": "yellow"}))
    assert handling.number in page and to_sign.number not in page
    page = text(client.get(reverse("centre:board"), {"category": categories.hazard.code}))
    assert handling.number not in page


def test_board_caps_a_lane_and_links_to_the_full_list(client, tiny_city, categories, monkeypatch):
    from cases.pages import centre

    monkeypatch.setattr(centre, "LANE_CAP", 2)
    cases = [report(tiny_city, categories) for _ in range(3)]
    page = text(as_(client, tiny_city.t1_operator).get(reverse("centre:board")))
    assert sum(case.number in page for case in cases) == 2
    assert reverse("cases:list") + "?stage=accept" in page


def test_officials_may_watch_the_board_of_their_area(client, tiny_city, categories):
    other_town = report(tiny_city, categories, where=G3)
    response = as_(client, tiny_city.city_official).get(reverse("centre:board"))
    assert response.status_code == 200 and other_town.number in text(response)


def test_approvals_list_what_waits_for_the_centre(client, tiny_city, categories):
    extension_case = in_progress(tiny_city, categories, text="需要延期")
    extension = actions.request_extension(lead_dispatch(extension_case), actor=tiny_city.handler, amount=1,
                                          unit=TimeUnit.WORKING_DAYS, reason="需协调环卫车辆")
    returned = dispatched(tiny_city, categories, text="派错了")
    actions.return_dispatch(lead_dispatch(returned), actor=tiny_city.handler, reason="不属于本部门职责")
    # Reported by the centre, so no grid worker verifies it by default: the centre assigns one.
    to_assign = handled(tiny_city, categories, reporter=tiny_city.t1_operator, text="待指派核查")
    own_verifier = handled(tiny_city, categories, text="网格员自己核查")
    to_close = verified(tiny_city, categories, text="待结案")
    t2_handled = accepted(tiny_city, categories, where=G3, text="二镇待派遣")

    page = text(as_(client, tiny_city.t1_operator).get(reverse("centre:approvals")))
    assert f'id="row-extension-{extension.pk}"' in page and "需协调环卫车辆" in page
    assert f'id="row-returned-{returned.pk}"' in page and "不属于本部门职责" in page
    assert f'id="row-verification-{to_assign.pk}"' in page
    assert f'id="row-verification-{own_verifier.pk}"' not in page  # its reporter verifies it
    assert f'id="row-closing-{to_close.pk}"' in page
    assert t2_handled.number not in page

    page = text(as_(client, tiny_city.t2_operator).get(reverse("centre:approvals")))
    assert extension_case.number not in page and to_close.number not in page


def test_department_inbox_shows_only_the_handlers_department(client, tiny_city, categories):
    to_sign = dispatched(tiny_city, categories, text="待签收")
    signed = in_progress(tiny_city, categories, text="处置中")
    fed_back = handled(tiny_city, categories, text="已反馈")
    elsewhere = dispatched(tiny_city, categories, lead=tiny_city.district_um, text="区城管局的")
    other_town = dispatched(tiny_city, categories, where=G3, text="二镇司法所的")

    page = text(as_(client, tiny_city.handler).get(reverse("department:inbox")))
    for case in (to_sign, signed, fed_back):
        assert case.number in page
    assert elsewhere.number not in page and other_town.number not in page
    assert page.index(to_sign.number) < page.index(signed.number) < page.index(fed_back.number)
    assert f'id="row-dept-{lead_dispatch(to_sign).pk}"' in page
    assert "light-green" in page  # each dispatch has its own light


# --- actions in place ------------------------------------------------------------------------------


def test_accept_in_place_updates_the_row(client, tiny_city, categories):
    case = report(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    response = do(client, "centre", case, "accept", kind="inbox", row=f"row-inbox-{case.pk}")
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#row-inbox-{case.pk}" and response["HX-Reswap"] == "outerHTML"
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    body = text(response)
    assert f'id="row-inbox-{case.pk}"' in body and reverse("centre:form", args=[case.pk, "dispatch"]) in body


def test_accept_and_dispatch_in_one_step_with_the_suggested_lead(client, tiny_city, categories):
    case = report(tiny_city, categories)
    jobs.triage_case(case.pk)
    as_(client, tiny_city.t1_operator)
    form = client.get(reverse("centre:form", args=[case.pk, "accept_dispatch"]),
                      {"kind": "inbox", "row": f"row-inbox-{case.pk}"}, **HX)
    assert form.status_code == 200
    assert f'<option value="{tiny_city.town1_um.pk}" selected>' in text(form)
    assert f"due-{case.pk}" in text(form) and "→" in text(form)  # the deadline preview is there at once

    response = do(client, "centre", case, "accept_dispatch",
                  {"accept_dispatch-lead": tiny_city.town1_um.pk,
                   "accept_dispatch-assists": [tiny_city.district_um.pk]},
                  kind="inbox", row=f"row-inbox-{case.pk}")
    assert response.status_code == 200, text(response)
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED
    assert set(case.dispatches.values_list("department_id", "role")) == {
        (tiny_city.town1_um.pk, "lead"), (tiny_city.district_um.pk, "assist")}
    assert "row-done" in text(response)


def test_a_refused_dispatch_leaves_the_report_unaccepted(client, tiny_city, categories):
    case = report(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    response = do(client, "centre", case, "accept_dispatch", {"accept_dispatch-lead": tiny_city.town2_justice.pk})
    assert response.status_code == 400 and "errorlist" in text(response)
    case.refresh_from_db()
    assert case.status == Status.REPORTED


def test_dispatch_of_an_accepted_case_and_the_deadline_preview(client, tiny_city, categories):
    case = accepted(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    preview = client.get(reverse("centre:due_preview", args=[case.pk]), {"dispatch-lead": tiny_city.town1_um.pk})
    assert preview.status_code == 200 and "→" in text(preview) and tiny_city.town1_um.name in text(preview)
    empty = client.get(reverse("centre:due_preview", args=[case.pk]), {"dispatch-lead": ""})
    assert "→" not in text(empty)
    foreign = client.get(reverse("centre:due_preview", args=[case.pk]), {"dispatch-lead": tiny_city.town2_justice.pk})
    assert "→" not in text(foreign)

    response = do(client, "centre", case, "dispatch", {"dispatch-lead": tiny_city.town1_um.pk},
                  kind="inbox", row=f"row-inbox-{case.pk}")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and lead_dispatch(case).department == tiny_city.town1_um


def test_reject_without_a_reason_shows_the_error_beside_the_field(client, tiny_city, categories):
    case = report(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    response = do(client, "centre", case, "reject", {"reject-reason": ""}, kind="inbox", row=f"row-inbox-{case.pk}")
    assert response.status_code == 400
    body = text(response)
    assert "field-error" in body and "errorlist" in body and 'name="reject-reason"' in body
    assert "HX-Retarget" not in response  # the form stays where it is, with the message
    plain = do(client, "centre", case, "reject", {"reject-reason": ""}, htmx=False)
    assert plain.status_code == 400 and "errorlist" in text(plain)
    case.refresh_from_db()
    assert case.status == Status.REPORTED

    response = do(client, "centre", case, "reject", {"reject-reason": "重复上报"}, kind="inbox",
                  row=f"row-inbox-{case.pk}")
    assert response.status_code == 200 and "row-done" in text(response)
    case.refresh_from_db()
    assert case.status == Status.REJECTED


def test_merge_preselects_the_suggested_master(client, tiny_city, categories):
    master = report(tiny_city, categories)
    duplicate = report(tiny_city, categories)
    jobs.triage_case(duplicate.pk)
    as_(client, tiny_city.t1_operator)
    form = text(client.get(reverse("centre:form", args=[duplicate.pk, "merge"]), **HX))
    assert f'<option value="{master.pk}" selected>' in form
    response = do(client, "centre", duplicate, "merge", {"merge-master": master.pk}, kind="inbox",
                  row=f"row-inbox-{duplicate.pk}")
    assert response.status_code == 200
    duplicate.refresh_from_db()
    assert duplicate.status == Status.MERGED and duplicate.master == master


def test_a_second_click_is_answered_with_a_conflict(client, tiny_city, categories):
    case = report(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    assert do(client, "centre", case, "accept").status_code == 200
    again = do(client, "centre", case, "accept")
    assert again.status_code == 409 and "role=\"alert\"" in text(again)
    assert client.get(reverse("centre:form", args=[case.pk, "reject"]), **HX).status_code == 409


def test_decide_extension_in_place(client, tiny_city, categories):
    case = in_progress(tiny_city, categories)
    dispatch = lead_dispatch(case)
    before = dispatch.due_at
    extension = actions.request_extension(dispatch, actor=tiny_city.handler, amount=Decimal(1),
                                          unit=TimeUnit.WORKING_DAYS, reason="需协调环卫车辆")
    as_(client, tiny_city.t1_operator)
    data = {"decide_extension-extension": extension.pk, "decide_extension-approve": "no"}
    refused = do(client, "centre", case, "decide_extension", data, kind="extension",
                 row=f"row-extension-{extension.pk}")
    assert refused.status_code == 400 and "errorlist" in text(refused)  # refusing needs a note
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.PENDING

    approved = do(client, "centre", case, "decide_extension", {**data, "decide_extension-approve": "yes"},
                  kind="extension", row=f"row-extension-{extension.pk}")
    assert approved.status_code == 200 and approved["HX-Retarget"] == f"#row-extension-{extension.pk}"
    extension.refresh_from_db()
    dispatch.refresh_from_db()
    assert extension.status == ExtensionStatus.APPROVED and dispatch.due_at > before


def test_redispatch_of_a_returned_case(client, tiny_city, categories):
    case = dispatched(tiny_city, categories)
    actions.return_dispatch(lead_dispatch(case), actor=tiny_city.handler, reason="不属于本部门职责")
    as_(client, tiny_city.t1_operator)
    form = text(client.get(reverse("centre:form", args=[case.pk, "dispatch"]), **HX))
    assert f"due-{case.pk}" in form
    response = do(client, "centre", case, "dispatch", {"dispatch-lead": tiny_city.district_um.pk},
                  kind="returned", row=f"row-returned-{case.pk}")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and lead_dispatch(case).department == tiny_city.district_um


def test_assign_verification_and_close_in_place(client, tiny_city, categories):
    case = handled(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    form = text(client.get(reverse("centre:form", args=[case.pk, "assign_verification"]), **HX))
    assert f'<option value="{tiny_city.g1_worker.pk}" selected>' in form  # the reporter by default
    bad = do(client, "centre", case, "assign_verification", {"assign_verification-verifier": ""})
    assert bad.status_code == 400 and "errorlist" in text(bad)
    response = do(client, "centre", case, "assign_verification",
                  {"assign_verification-verifier": tiny_city.g1_worker.pk}, kind="verification",
                  row=f"row-verification-{case.pk}")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.verifier == tiny_city.g1_worker

    actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[photo()])
    response = do(client, "centre", case, "close", {"close-note": "办结"}, kind="closing", row=f"row-closing-{case.pk}")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_a_citizen_case_gets_the_follow_up_call_before_closing(client, tiny_city, categories):
    case = verified(tiny_city, categories, reporter=tiny_city.t1_operator)  # a hotline case
    assert case.channel == "hotline"
    as_(client, tiny_city.t1_operator)
    page = text(client.get(reverse("centre:approvals")))
    row = page[page.index(f'id="row-closing-{case.pk}"'):]
    assert "follow_up-satisfaction" in row[:row.index("</tbody>")]
    early = do(client, "centre", case, "close", kind="closing", row=f"row-closing-{case.pk}")
    assert early.status_code == 409
    response = do(client, "centre", case, "follow_up", {"follow_up-satisfaction": "satisfied"},
                  kind="closing", row=f"row-closing-{case.pk}")
    assert response.status_code == 200
    assert reverse("centre:do", args=[case.pk, "close"]) in text(response)  # the row now offers closing
    assert do(client, "centre", case, "close", kind="closing").status_code == 200
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.satisfaction == "satisfied"


def test_department_actions_in_place(client, tiny_city, categories):
    case = dispatched(tiny_city, categories)
    dispatch = lead_dispatch(case)
    row = f"row-dept-{dispatch.pk}"
    as_(client, tiny_city.handler)
    signed = do(client, "department", case, "sign", kind="dept", row=row)
    assert signed.status_code == 200 and f'id="{row}"' in text(signed)
    assert reverse("department:form", args=[case.pk, "feedback"]) in text(signed)
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SIGNED

    bad = do(client, "department", case, "return", {"return-reason": ""}, kind="dept", row=row)
    assert bad.status_code == 400 and "errorlist" in text(bad)
    asked = do(client, "department", case, "request_extension",
               {"request_extension-amount": "2", "request_extension-unit": TimeUnit.WORKING_HOURS,
                "request_extension-reason": "等待材料"}, kind="dept", row=row)
    assert asked.status_code == 200
    assert ExtensionRequest.objects.filter(dispatch=dispatch, status=ExtensionStatus.PENDING).exists()

    form = client.get(reverse("department:form", args=[case.pk, "feedback"]), {"kind": "dept", "row": row}, **HX)
    assert 'enctype="multipart/form-data"' in text(form) and 'type="file"' in text(form)
    fed_back = client.post(reverse("department:do", args=[case.pk, "feedback"]),
                           {"kind": "dept", "row": row, "feedback-note": "已清理完毕", "feedback-photos": photo()},
                           **HX)
    assert fed_back.status_code == 200 and "row-done" in text(fed_back)
    case.refresh_from_db()
    assert case.status == Status.HANDLED and case.attachments.filter(kind="feedback").count() == 1


def test_a_handler_cannot_act_for_another_department(client, tiny_city, categories):
    case = dispatched(tiny_city, categories, lead=tiny_city.district_um)
    response = do(as_(client, tiny_city.handler), "department", case, "sign")
    assert response.status_code == 404
    assert lead_dispatch(case).status == DispatchStatus.DISPATCHED


def test_without_htmx_an_action_redirects_back_to_the_page(client, tiny_city, categories):
    case = report(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    response = do(client, "centre", case, "accept", {"next": reverse("centre:inbox") + "?sort=reported"}, htmx=False)
    assert response.status_code == 302 and response["Location"] == reverse("centre:inbox") + "?sort=reported"
    elsewhere = do(client, "centre", accepted(tiny_city, categories), "dispatch",
                   {"dispatch-lead": tiny_city.town1_um.pk, "next": "https://evil.example/"}, htmx=False)
    assert elsewhere["Location"] == reverse("centre:inbox")


def test_supervision_escalation_and_hand_down_stay_on_the_case_page(client, tiny_city, categories):
    case = dispatched(tiny_city, categories)
    as_(client, tiny_city.city_official)
    page = text(client.get(reverse("cases:detail", args=[case.pk])))
    assert 'id="action-supervise"' in page and 'id="action-escalate"' not in page
    response = client.post(reverse("cases:action", args=[case.pk, "supervise"]),
                           {"supervise-level": "yellow", "supervise-note": "今日办结"}, **HX)
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("cases:detail", args=[case.pk])
    assert Case.objects.get(pk=case.pk).supervision == "yellow"

    as_(client, tiny_city.t1_operator)
    page = text(client.get(reverse("cases:detail", args=[case.pk])))
    assert 'id="action-escalate"' in page
    assert client.post(reverse("cases:action", args=[case.pk, "escalate"]), {"escalate-note": "需区协调"},
                       **HX).status_code == 204
    case.refresh_from_db()
    assert case.centre == tiny_city.centres[tiny_city.district.code]

    as_(client, tiny_city.district_lead)
    town_one = tiny_city.centres[tiny_city.town1.code]
    assert 'id="action-hand_down"' in text(client.get(reverse("cases:detail", args=[case.pk])))
    assert client.post(reverse("cases:action", args=[case.pk, "hand_down"]),
                       {"hand_down-centre": town_one.pk}, **HX).status_code == 204
    case.refresh_from_db()
    assert case.centre == town_one


def test_the_case_page_shows_system_events_and_reporterless_cases(client, tiny_city, categories):
    case = report(tiny_city, categories)
    jobs.triage_case(case.pk)  # an event without an actor
    Case.objects.filter(pk=case.pk).update(reporter=None)
    response = as_(client, tiny_city.t1_operator).get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200


def test_the_case_list_answers_an_unknown_area_code_with_a_message(client, tiny_city, categories):
    report(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    response = client.get(reverse("cases:list"), {"within": "nowhere"})
    assert response.status_code == 200 and "nowhere" in text(response)
    assert client.get(reverse("cases:cases_geojson"), {"within": "nowhere"}).json()["features"] == []


# --- who may come in -------------------------------------------------------------------------------

CENTRE_PAGES = ["centre:inbox", "centre:board", "centre:approvals"]


@pytest.mark.parametrize("name", CENTRE_PAGES)
def test_grid_workers_and_handlers_are_kept_out_of_centre_pages(client, tiny_city, name):
    assert as_(client, tiny_city.g1_worker).get(reverse(name)).status_code == 403
    assert as_(client, tiny_city.handler).get(reverse(name)).status_code == 403
    client.logout()
    assert client.get(reverse(name)).status_code == 302


def test_centre_endpoints_refuse_a_grid_worker(client, tiny_city, categories):
    case = report(tiny_city, categories)  # the worker's own report: visible to them
    as_(client, tiny_city.g1_worker)
    assert do(client, "centre", case, "accept").status_code == 403
    assert client.get(reverse("centre:form", args=[case.pk, "dispatch"])).status_code == 403
    assert client.get(reverse("centre:due_preview", args=[case.pk])).status_code == 403
    case.refresh_from_db()
    assert case.status == Status.REPORTED


def test_another_towns_case_is_not_found(client, tiny_city, categories):
    case = report(tiny_city, categories, where=G3)
    as_(client, tiny_city.t1_operator)
    assert do(client, "centre", case, "accept").status_code == 404
    assert client.get(reverse("centre:form", args=[case.pk, "accept"])).status_code == 404
    assert client.get(reverse("centre:due_preview", args=[case.pk])).status_code == 404


def test_department_inbox_is_for_handlers(client, tiny_city, categories):
    assert as_(client, tiny_city.t1_operator).get(reverse("department:inbox")).status_code == 403
    assert as_(client, tiny_city.g1_worker).get(reverse("department:inbox")).status_code == 403
    case = dispatched(tiny_city, categories)
    assert do(as_(client, tiny_city.t1_operator), "department", case, "sign").status_code == 403


def test_an_action_of_the_other_page_is_not_there(client, tiny_city, categories):
    case = dispatched(tiny_city, categories)
    assert do(as_(client, tiny_city.t1_operator), "centre", case, "sign").status_code == 404
    assert do(as_(client, tiny_city.handler), "department", case, "close").status_code == 404


# --- query counts ------------------------------------------------------------------------------------


def _fill(city, categories, n: int) -> None:
    """n cases at every step of the pipeline (so every list and section has rows), triaged so that rows
    carry suggestions and duplicates, and an extension request on every case in progress."""
    for maker in (report, accepted, dispatched, in_progress, handled, verified):
        for _ in range(n):
            case = maker(city, categories)
            jobs.triage_case(case.pk)
            if maker is in_progress:
                actions.request_extension(lead_dispatch(case), actor=city.handler, amount=1,
                                          unit=TimeUnit.WORKING_DAYS, reason="延期")


PAGES = [("centre:inbox", "t1_operator"), ("centre:board", "t1_operator"), ("centre:approvals", "t1_operator"),
         ("department:inbox", "handler")]


def test_list_queries_do_not_grow_with_the_cases(client, tiny_city, categories, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _fill(tiny_city, categories, 3)
    with_three = {}
    for name, persona in PAGES:
        as_(client, getattr(tiny_city, persona))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name)).status_code == 200
        with_three[name] = len(queries)
        # A ceiling, constant in the number of cases: the inbox's header counts each figure on its own
        # (capped, off an index: 8 short statements rather than one scan) and the banner reads emergency mode.
        assert len(queries) <= 24, (name, [q["sql"] for q in queries])
    _fill(tiny_city, categories, 9)
    for name, persona in PAGES:
        as_(client, getattr(tiny_city, persona))
        with django_assert_max_num_queries(with_three[name]):
            response = client.get(reverse(name))
        assert response.status_code == 200


def test_an_action_never_redirects_to_another_site(client, tiny_city, categories):
    from cases import actions

    case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.005,
                                  lat=23.005, description="路边垃圾")
    client.force_login(tiny_city.t1_operator)
    response = client.post(f"/cases/{case.pk}/do/accept/", {"accept-note": "", "next": "//evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"


def test_header_figures_stop_at_their_cap_and_the_list_still_holds_every_report(client, tiny_city, categories,
                                                                                monkeypatch):
    """Past the cap a header figure reads "N+" (a city centre beside a million cases reads no further);
    the list under it is counted on its own and still holds every report."""
    monkeypatch.setattr("cases.pages.centre.TALLY_CAP", 2)
    cases = [report(tiny_city, categories, text=f"垃圾 {n}") for n in range(3)]

    page = text(as_(client, tiny_city.t1_operator).get(reverse("centre:inbox")))
    assert '<span class="n">2+</span>' in page
    assert all(case.number in page for case in cases)

    monkeypatch.setattr("cases.pages.centre.TALLY_CAP", 999)
    page = text(client.get(reverse("centre:inbox")))
    assert '<span class="n">3</span>' in page
