"""The access module: an id in a request body that does not exist and one outside the user's scope get
the same 404 and the same message (so an answer never tells an outsider that something exists), for
every related id an action takes: master case, lead and assisting departments, dispatch, extension,
verifier, centre. And the findings of #8 that leaked: no department name, no "belongs to another case".
"""

from __future__ import annotations

import pytest

from cases import actions
from cases.choices import DispatchRole
from cases.models import Case, Dispatch
from cases.tests.conftest import photo

G1 = {"lon": 113.005, "lat": 23.005}
G3 = {"lon": 113.025, "lat": 23.005}
MISSING = 987654321


def report(city, cats, where=G1, reporter=None):
    reporter = reporter or (city.g3_worker if where is G3 else city.g1_worker)
    return actions.report_case(reporter=reporter, category=cats.garbage, description="垃圾", **where)[0]


def post(api, user, case, name, body):
    return api.as_(user).post(f"/api/v1/cases/{case.pk}/{name}/", body, format="json")


def same_404(missing, outside, field):
    assert missing.status_code == outside.status_code == 404, (missing.content, outside.content)
    a, b = missing.json(), outside.json()
    assert a == b, (a, b)
    assert field in a["errors"]
    return a


def in_progress(city, cats, where=G1):
    operator = city.t2_operator if where is G3 else city.t1_operator
    department = city.town2_justice if where is G3 else city.town1_um
    case = actions.accept_case(report(city, cats, where), actor=operator)
    case = actions.dispatch_case(case, actor=operator, lead=department)
    handler = city.handler
    if where is G3:
        return case
    return actions.sign_dispatch(case.dispatches.get(role=DispatchRole.LEAD), actor=handler)


@pytest.mark.usefixtures("english")
def test_merge_into_a_case_of_another_town_reads_like_merging_into_none(tiny_city, categories, api):
    case, elsewhere = report(tiny_city, categories), report(tiny_city, categories, G3)
    op = tiny_city.t1_operator
    body = same_404(post(api, op, case, "merge", {"master": MISSING}),
                    post(api, op, case, "merge", {"master": elsewhere.pk}), "master")
    assert elsewhere.number not in str(body)
    assert Case.objects.get(pk=case.pk).status == "reported"


@pytest.mark.usefixtures("english")
def test_dispatch_to_another_towns_department_does_not_name_it(tiny_city, categories, api):
    case = actions.accept_case(report(tiny_city, categories), actor=tiny_city.t1_operator)
    op = tiny_city.t1_operator
    body = same_404(post(api, op, case, "dispatch", {"lead": MISSING}),
                    post(api, op, case, "dispatch", {"lead": tiny_city.town2_justice.pk}), "lead")
    assert "司法所" not in str(body)
    same_404(post(api, op, case, "dispatch", {"lead": tiny_city.town1_um.pk, "assists": [MISSING]}),
             post(api, op, case, "dispatch", {"lead": tiny_city.town1_um.pk,
                                              "assists": [tiny_city.town2_justice.pk]}), "assists")
    assert Case.objects.get(pk=case.pk).status == "accepted"


@pytest.mark.usefixtures("english")
def test_a_dispatch_of_another_case_reads_like_no_dispatch(tiny_city, categories, api):
    mine, other = in_progress(tiny_city, categories), in_progress(tiny_city, categories)
    other_dispatch = other.dispatches.get(role=DispatchRole.LEAD)
    body = same_404(post(api, tiny_city.handler, mine, "feedback", {"note": "x", "dispatch": MISSING}),
                    post(api, tiny_city.handler, mine, "feedback", {"note": "x", "dispatch": other_dispatch.pk}),
                    "dispatch")
    assert "another case" not in body["detail"]
    # Another town's dispatch (a department the handler does not belong to) reads the same.
    town2 = in_progress(tiny_city, categories, G3)
    same_404(post(api, tiny_city.handler, mine, "return", {"reason": "x", "dispatch": MISSING}),
             post(api, tiny_city.handler, mine, "return", {"reason": "x", "dispatch": town2.dispatches.get().pk}),
             "dispatch")


@pytest.mark.usefixtures("english")
def test_an_extension_of_another_case_reads_like_none(tiny_city, categories, api):
    mine, other = in_progress(tiny_city, categories), in_progress(tiny_city, categories)
    for case in (mine, other):
        actions.request_extension(case.dispatches.get(role=DispatchRole.LEAD), actor=tiny_city.handler, amount=1,
                                  unit="working_days", reason="材料")
    other_extension = Dispatch.objects.get(case=other, role=DispatchRole.LEAD).extensions.get()
    same_404(post(api, tiny_city.t1_operator, mine, "decide-extension", {"extension": MISSING, "approve": True}),
             post(api, tiny_city.t1_operator, mine, "decide-extension",
                  {"extension": other_extension.pk, "approve": True}), "extension")
    assert other_extension.__class__.objects.get(pk=other_extension.pk).status == "pending"


@pytest.mark.usefixtures("english")
def test_a_verifier_from_elsewhere_reads_like_no_such_user(tiny_city, categories, api):
    case = report(tiny_city, categories, reporter=tiny_city.t1_operator)
    case = actions.accept_case(case, actor=tiny_city.t1_operator)
    case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    lead = case.dispatches.get(role=DispatchRole.LEAD)
    actions.sign_dispatch(lead, actor=tiny_city.handler)
    case = actions.feedback_dispatch(lead, actor=tiny_city.handler, note="已清理")
    assert case.verifier_id is None
    op = tiny_city.t1_operator
    same_404(post(api, op, case, "assign-verification", {"verifier": "no-such-user"}),
             post(api, op, case, "assign-verification", {"verifier": tiny_city.g3_worker.username}), "verifier")
    assert post(api, op, case, "assign-verification", {"verifier": "g1_worker"}).status_code == 200
    assert actions.verify_case(Case.objects.get(pk=case.pk), actor=tiny_city.g1_worker, passed=True,
                               photos=[photo()]).status == "verified"


@pytest.mark.usefixtures("english")
def test_hand_down_to_a_centre_that_is_not_below_reads_like_none(tiny_city, categories, api):
    case = report(tiny_city, categories)
    case = actions.escalate_case(case, actor=tiny_city.t1_operator)
    lead = tiny_city.district_lead
    same_404(post(api, lead, case, "hand-down", {"centre": MISSING}),
             post(api, lead, case, "hand-down", {"centre": tiny_city.centres["980101002"].pk}), "centre")
    assert post(api, lead, case, "hand-down", {"centre": tiny_city.centres["980101001"].pk}).status_code == 200


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("path", ["accept", "timeline", "photos", "merge", "dispatch", "hand-down"])
def test_a_case_out_of_scope_and_a_missing_case_answer_alike(path, tiny_city, categories, api):
    elsewhere = report(tiny_city, categories, G3)
    client = api.as_(tiny_city.t1_operator)
    method = client.get if path == "timeline" else client.post
    outside = method(f"/api/v1/cases/{elsewhere.pk}/{path}/", {}, format="json")
    missing = method(f"/api/v1/cases/{MISSING}/{path}/", {}, format="json")
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()


def test_photos_are_added_only_by_whose_work_they_show(tiny_city, categories, api):
    """An official (read and supervise) and the reporting worker could add verification and feedback
    photos: now each kind follows its row of the table."""
    case = in_progress(tiny_city, categories)

    def add(user, kind):
        return api.as_(user).post(f"/api/v1/cases/{case.pk}/photos/", {"kind": kind, "photos": [photo()]},
                                  format="multipart")

    assert add(tiny_city.city_official, "feedback").status_code == 403
    assert add(tiny_city.city_official, "verification").status_code == 403
    assert add(tiny_city.g1_worker, "feedback").status_code == 403
    assert add(tiny_city.g1_worker, "verification").status_code in (403, 409)  # not handled, not verifier yet
    assert add(tiny_city.handler, "feedback").status_code == 201
    assert case.attachments.count() == 1
    assert case.events.filter(action="attach").count() == 1
