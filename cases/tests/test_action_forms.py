"""The dispatch form's assisting departments are ticks in a short list, never the lead (the server
refuses the lead as an assistant with a 400 and a message); feedback and verification take photos
with the camera button and previews of the worker's report form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.choices import Status
from cases.tests.test_centre_views import HX, accepted, as_, do, handled, in_progress, text

pytestmark = pytest.mark.django_db


def test_the_dispatch_form_lists_assisting_departments_as_ticks(client, tiny_city, categories):
    case = accepted(tiny_city, categories)
    form = text(as_(client, tiny_city.t1_operator).get(
        reverse("centre:form", args=[case.pk, "dispatch"]), {"kind": "inbox", "row": f"row-inbox-{case.pk}"}, **HX))
    assert '<div id="id_dispatch-assists" class="assist-list">' in form
    assert f'type="checkbox" name="dispatch-assists" value="{tiny_city.district_um.pk}"' in form
    assert "<select name=\"dispatch-assists\"" not in form and "multiple" not in form


@pytest.mark.parametrize("htmx", [True, False])
def test_the_lead_as_an_assistant_is_refused_with_a_message(client, tiny_city, categories, htmx):
    case = accepted(tiny_city, categories)
    as_(client, tiny_city.t1_operator)
    response = do(client, "centre", case, "dispatch",
                  {"dispatch-lead": tiny_city.town1_um.pk,
                   "dispatch-assists": [tiny_city.town1_um.pk, tiny_city.district_um.pk]},
                  htmx=htmx, kind="inbox", row=f"row-inbox-{case.pk}")
    assert response.status_code == 400
    assert "主办部门不能同时作为协办部门。" in text(response)
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED and not case.dispatches.exists()


def test_the_api_refuses_the_lead_as_an_assistant(api, tiny_city, categories, english):
    case = accepted(tiny_city, categories)
    response = api.as_(tiny_city.t1_operator).post(
        f"/api/v1/cases/{case.pk}/dispatch/",
        {"lead": tiny_city.town1_um.pk, "assists": [tiny_city.town1_um.pk]}, format="json",
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "The lead department cannot also assist." in str(response.json())


def camera_button(page: str, input_id: str) -> bool:
    return (f'<label class="camera camera-light" for="{input_id}">' in page
            and 'class="file-input"' in page and f'data-preview-for="{input_id}"' in page)


def test_feedback_takes_photos_with_the_camera_button(client, tiny_city, categories):
    case = in_progress(tiny_city, categories)
    dispatch = case.dispatches.get(role="lead")
    form = text(as_(client, tiny_city.handler).get(
        reverse("department:form", args=[case.pk, "feedback"]),
        {"kind": "dept", "row": f"row-dept-{dispatch.pk}"}, **HX))
    assert camera_button(form, "id_feedback-photos"), form
    assert "拍照或选择照片" in form
    page = text(client.get(reverse("cases:detail", args=[case.pk])))
    assert camera_button(page, "id_feedback-photos")


def test_verification_takes_photos_with_the_camera_button(client, tiny_city, categories):
    case = handled(tiny_city, categories)
    if case.verifier_id is None:
        from cases import actions

        case = actions.assign_verification(case, actor=tiny_city.t1_operator, verifier=tiny_city.g1_worker)
    page = text(as_(client, tiny_city.g1_worker).get(reverse("worker:case", args=[case.pk])))
    assert camera_button(page, "id_verify-photos") and 'capture="environment"' in page
    page = text(client.get(reverse("cases:detail", args=[case.pk])))
    assert camera_button(page, "id_verify-photos")
