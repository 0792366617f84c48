"""Three rules issue #8 made part of the pipeline table, each with a test that fails on the code before it:

- reporting outside one's own grids is refused, naming the grid the point lies in, unless the reporter
  is a mobile grid worker (流动网格员), centre staff or a leader over the area, or a handler whose
  department serves it;
- one owner per verification: a handled case is either its reporting grid worker's to verify, or (when
  the reporter does not work the case's grid) waits in the centre's "to assign" list, never both, and
  only the assigned verifier may verify;
- a department that returned a case as not its duty is not suggested again as its lead.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from cases import actions, jobs
from cases.choices import ACTIVE_DISPATCH_STATUSES, DispatchRole, Status
from cases.models import Case
from cases.tests.conftest import photo
from grids.choices import Role, WorkerKind
from grids.models import Membership

CASES = "/api/v1/cases/"
IN_A1 = {"lon": 113.005, "lat": 23.005}
IN_A2 = {"lon": 113.015, "lat": 23.005}
IN_B1 = {"lon": 113.025, "lat": 23.005}  # town two


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def report_over_api(client, where: dict):
    return client.post(CASES, {"category": "0101", **where, "description": "路边有一堆暴露垃圾"}, format="json",
                       HTTP_ACCEPT_LANGUAGE="en")


def lead_of(case: Case):
    return case.dispatches.get(role=DispatchRole.LEAD, status__in=ACTIVE_DISPATCH_STATUSES)


def handled(city, cats, *, reporter) -> Case:
    case, _created = actions.report_case(reporter=reporter, category=cats.garbage, **IN_A1,
                                         description="路边有一堆暴露垃圾")
    case = actions.accept_case(case, actor=city.t1_operator)
    case = actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)
    actions.sign_dispatch(lead_of(case), actor=city.handler)
    return actions.feedback_dispatch(lead_of(case), actor=city.handler, note="已清理")


def verify_over_api(client, case: Case):
    return client.post(f"{CASES}{case.pk}/verify/", {"passed": True, "photos": [photo()]}, format="multipart",
                       HTTP_ACCEPT_LANGUAGE="en")


def page(client, user, name: str) -> str:
    client.force_login(user)
    return client.get(reverse(name)).content.decode()


# --- reporting outside one's own grids ---------------------------------------------------------------


def test_a_grid_worker_reporting_in_another_grid_is_400_naming_that_grid(tiny_city, categories, api):
    worker = api.as_(tiny_city.g1_worker)
    for where, grid in ((IN_A2, tiny_city.g2), (IN_B1, tiny_city.g3)):
        response = report_over_api(worker, where)
        assert response.status_code == 400, response.content.decode()
        body = response.json()
        assert body["code"] == "outside_own_grids" and list(body["errors"]) == ["location"]
        assert grid.name in body["detail"] and grid.code in body["detail"]
    assert not Case.objects.exists()
    # In their own grid the same report is taken.
    assert report_over_api(worker, IN_A1).status_code == 201


def test_a_mobile_grid_worker_reports_anywhere(tiny_city, categories, api):
    courier = get_user_model().objects.create_user("courier")
    Membership.objects.create(user=courier, role=Role.GRID_WORKER, area=tiny_city.g1, worker_kind=WorkerKind.MOBILE)
    response = report_over_api(api.as_(courier), IN_B1)
    assert response.status_code == 201, response.content.decode()
    case = Case.objects.get(pk=response.json()["id"])
    assert case.grid == tiny_city.g3 and case.centre == tiny_city.centres["980101002"]


def test_centre_staff_and_handlers_report_in_the_area_they_serve(tiny_city, categories, api):
    response = report_over_api(api.as_(tiny_city.t1_operator), IN_A2)
    assert response.status_code == 201, response.content.decode()
    assert Case.objects.get(pk=response.json()["id"]).grid == tiny_city.g2

    handler = api.as_(tiny_city.handler)  # town one's 城管中队
    assert report_over_api(handler, IN_A2).status_code == 201
    outside = report_over_api(handler, IN_B1)
    assert outside.status_code == 400 and outside.json()["code"] == "outside_own_grids"
    assert tiny_city.g3.name in outside.json()["detail"]


# --- one owner per verification --------------------------------------------------------------------


def test_a_case_reported_by_the_grids_worker_is_only_that_workers_to_verify(client, tiny_city, categories, api):
    case = handled(tiny_city, categories, reporter=tiny_city.g1_worker)
    assert case.status == Status.HANDLED and case.verifier == tiny_city.g1_worker

    assert case.number in page(client, tiny_city.g1_worker, "worker:tasks")
    assert f'id="row-verification-{case.pk}"' not in page(client, tiny_city.t1_operator, "centre:approvals")
    # Another worker of the same grid is not its verifier.
    assert verify_over_api(api.as_(tiny_city.g1_leader), case).status_code == 403
    assert verify_over_api(api.as_(tiny_city.g1_worker), case).status_code == 200


def test_a_case_reported_by_the_centre_waits_only_in_the_centres_to_assign_list(client, tiny_city, categories, api):
    case = handled(tiny_city, categories, reporter=tiny_city.t1_operator)
    assert case.status == Status.HANDLED and case.verifier_id is None

    assert f'id="row-verification-{case.pk}"' in page(client, tiny_city.t1_operator, "centre:approvals")
    assert case.number not in page(client, tiny_city.g1_worker, "worker:tasks")
    refused = verify_over_api(api.as_(tiny_city.g1_worker), case)  # a worker of the grid, not assigned
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    assert Case.objects.get(pk=case.pk).status == Status.HANDLED and not case.attachments.exists()

    actions.assign_verification(case, actor=tiny_city.t1_operator, verifier=tiny_city.g1_worker)
    assert f'id="row-verification-{case.pk}"' not in page(client, tiny_city.t1_operator, "centre:approvals")
    assert case.number in page(client, tiny_city.g1_worker, "worker:tasks")
    assert verify_over_api(api.as_(tiny_city.g1_worker), case).status_code == 200


# --- a department that returned a case is not suggested again ----------------------------------------


def test_after_the_lead_returns_the_case_its_department_is_not_suggested_again(tiny_city, categories, api):
    city = tiny_city
    case, _created = actions.report_case(reporter=city.g1_worker, category=categories.garbage, **IN_A1,
                                         description="路边有一堆暴露垃圾")
    jobs.triage_case(case.pk)
    case.refresh_from_db()
    assert case.suggested_department == city.town1_um  # the town's 城管中队 leads garbage

    case = actions.dispatch_case(actions.accept_case(case, actor=city.t1_operator), actor=city.t1_operator,
                                 lead=case.suggested_department)
    actions.return_dispatch(lead_of(case), actor=city.handler, reason="不属于本中队职责")

    answer = api.as_(city.t1_operator).get(f"{CASES}{case.pk}/")
    assert answer.status_code == 200
    assert answer.json()["status"] == "accepted"
    assert answer.json()["suggested_department"] == city.district_um.pk  # the district's 城管局 next

    # When the district's 城管局 returns it too, no lead is left to suggest (not a returned one).
    district_handler = get_user_model().objects.create_user("district_handler")
    Membership.objects.create(user=district_handler, role=Role.DEPT_HANDLER, department=city.district_um)
    case = actions.dispatch_case(case, actor=city.t1_operator, lead=city.district_um)
    actions.return_dispatch(lead_of(case), actor=district_handler, reason="应由镇街处理")
    assert Case.objects.get(pk=case.pk).suggested_department is None
