"""The grid worker's phone pages (/m/) through the Django test client: home, report, case, tasks."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import actions, jobs
from cases.choices import AttachmentKind, ClosureKind, DispatchRole, Status
from cases.models import Case
from cases.tests.conftest import photo
from grids.choices import WorkerKind

INSIDE_G1 = {"lon": "113.005", "lat": "23.005"}
REPORT = "/m/report/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def worker(client, tiny_city):
    """The test client logged in as g1_worker, reading English so messages can be checked."""
    client.force_login(tiny_city.g1_worker)
    client.cookies["django_language"] = "en"
    return client


def report_data(categories, **extra) -> dict:
    data = {"category": categories.garbage.pk, "description": "路口东侧有一堆暴露垃圾", "mode": "normal",
            "client_uuid": str(uuid.uuid4()), **INSIDE_G1}
    data.update(extra)
    return data


def errors_for(response, field: str) -> str:
    """The text of the error list shown beside one field of the report form."""
    html = response.content.decode()
    match = re.search(rf'data-error-for="{field}">(.*?)</ul>', html, re.S)
    assert match, f"no error list for {field}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


def handled_case(city, cats, *, verifier=None) -> Case:
    case, _created = actions.report_case(reporter=city.g1_worker, category=cats.garbage, lon=113.005, lat=23.005,
                                         description="井边垃圾")
    actions.accept_case(case, actor=city.t1_operator)
    actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)
    lead = case.dispatches.get(role=DispatchRole.LEAD)
    actions.sign_dispatch(lead, actor=city.handler)
    case = actions.feedback_dispatch(lead, actor=city.handler, note="已清理")
    if verifier is not None:
        case = actions.assign_verification(case, actor=city.t1_operator, verifier=verifier)
    return case


# --- home ------------------------------------------------------------------------------------


def test_home_shows_my_grid_my_reports_and_not_others(worker, tiny_city, categories):
    mine, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.hazard, lon=113.005, lat=23.005,
                                  description="井盖缺失")
    theirs, _ = actions.report_case(reporter=tiny_city.g3_worker, category=categories.garbage, lon=113.025,
                                    lat=23.005, description="别的网格")
    html = worker.get("/m/").content.decode()
    assert "A-1" in html and "980101001001001" in html and "400" in html
    assert mine.number in html and "井盖缺失" in html and reverse("worker:case", args=[mine.pk]) in html
    assert theirs.number not in html
    assert html.index('href="/m/report/"') < html.index(mine.number)  # the report button comes first


def test_home_counts_verification_tasks_and_unread_notifications(worker, tiny_city, categories):
    assigned = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    reported_by_me = handled_case(tiny_city, categories)  # its reporter is its verifier by default
    elsewhere = handled_case(tiny_city, categories, verifier=tiny_city.g1_leader)
    response = worker.get("/m/")
    assert response.context["task_count"] == 2
    assert {c.pk for c in response.context["tasks"]} == {assigned.pk, reported_by_me.pk}
    assert elsewhere.pk not in {c.pk for c in response.context["tasks"]}
    assert response.context["unread"] == tiny_city.g1_worker.notifications.filter(read_at__isnull=True).count()
    tasks = worker.get("/m/tasks/").content.decode()
    assert assigned.number in tasks and reported_by_me.number in tasks and elsewhere.number not in tasks


def test_anonymous_is_sent_to_login(client, tiny_city):
    response = client.get("/m/report/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- the report form -------------------------------------------------------------------------


def test_report_form_has_camera_input_fresh_client_uuid_and_most_used_first(worker, tiny_city, categories):
    actions.report_case(reporter=tiny_city.g1_worker, category=categories.internal, lon=113.005, lat=23.005,
                        description="走访")
    first = worker.get(REPORT)
    html = first.content.decode()
    assert re.search(r'<input type="file" name="photos"[^>]*accept="image/\*"[^>]*capture="environment"[^>]*multiple',
                     html)
    uuids = {first.context["form"]["client_uuid"].value(), worker.get(REPORT).context["form"]["client_uuid"].value()}
    assert len(uuids) == 2 and all(uuid.UUID(str(u)) for u in uuids)
    assert f'name="client_uuid" value="{first.context["form"]["client_uuid"].value()}"' in html
    assert [c.pk for c in first.context["categories"]][:1] == [categories.internal.pk]
    assert categories.family.pk not in [c.pk for c in first.context["categories"]]  # families are not chosen
    assert 'name="category"' in html and "<optgroup" in html  # the plain <select> without JavaScript


def test_report_creates_a_case_with_its_photo_and_lands_on_the_case(worker, tiny_city, categories):
    response = worker.post(REPORT, report_data(categories, photos=[photo()]))
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("worker:case", args=[case.pk])
    assert (case.reporter, case.status, case.channel, case.grid) == (
        tiny_city.g1_worker, Status.REPORTED, "grid_worker", tiny_city.g1)
    assert list(case.attachments.values_list("kind", flat=True)) == [AttachmentKind.REPORT]
    page = worker.get(response["Location"]).content.decode()
    assert case.number in page and "路口东侧有一堆暴露垃圾" in page and "status-reported" in page


def test_resubmitting_the_same_client_uuid_creates_no_second_case(worker, tiny_city, categories):
    data = report_data(categories)
    first = worker.post(REPORT, {**data, "photos": [photo()]})
    again = worker.post(REPORT, {**data, "photos": [photo()]})
    assert Case.objects.count() == 1
    assert first["Location"] == again["Location"]
    assert Case.objects.get().attachments.count() == 1
    assert "already arrived" in worker.get(again["Location"]).content.decode()


def test_fetch_post_answers_json_and_a_repeat_answers_the_same_case(worker, tiny_city, categories):
    data = report_data(categories)
    first = worker.post(REPORT, data, HTTP_ACCEPT="application/json")
    assert first.status_code == 201
    body = first.json()
    assert body["ok"] and body["created"] and body["url"] == reverse("worker:case", args=[body["id"]])
    repeat = worker.post(REPORT, data, HTTP_ACCEPT="application/json")
    assert repeat.status_code == 200 and repeat.json()["id"] == body["id"] and not repeat.json()["created"]
    assert Case.objects.count() == 1


def test_fetch_post_with_errors_answers_them_by_field(worker, tiny_city, categories):
    response = worker.post(REPORT, report_data(categories, category="", description="", lon="", lat=""),
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"category", "location"}
    assert not Case.objects.exists()


def test_a_point_outside_every_grid_is_shown_beside_location_keeping_what_was_typed(worker, tiny_city, categories):
    data = report_data(categories, lon="114.5", lat="23.5", photos=[photo()])
    response = worker.post(REPORT, data)
    assert response.status_code == 400
    assert "outside every grid" in errors_for(response, "location")
    html = response.content.decode()
    assert "路口东侧有一堆暴露垃圾</textarea>" in html
    assert f'value="{data["client_uuid"]}"' in html  # the same request id, so a resend stays idempotent
    assert re.search(rf'<option value="{categories.garbage.pk}" selected', html)
    assert "choose the photos again" in html  # a plain post loses the file input
    assert not Case.objects.exists()


def test_a_missing_description_is_shown_beside_it(worker, tiny_city, categories):
    response = worker.post(REPORT, report_data(categories, description="  "))
    assert response.status_code == 400
    assert "Describe the problem" in errors_for(response, "description")
    assert not Case.objects.exists()


def test_no_location_says_to_place_the_pin(worker, tiny_city, categories):
    response = worker.post(REPORT, report_data(categories, lon="", lat=""))
    assert response.status_code == 400
    assert "tap the map" in errors_for(response, "location")
    assert not Case.objects.exists()


def test_a_file_that_is_not_a_photo_is_refused_with_a_message(worker, tiny_city, categories):
    fake = SimpleUploadedFile("photo.jpg", b"#!/bin/sh\necho not a photo\n", content_type="image/jpeg")
    response = worker.post(REPORT, report_data(categories, photos=[fake]))
    assert response.status_code == 400
    assert "is not a photo" in errors_for(response, "photos")
    assert not Case.objects.exists()


def test_resolved_on_the_spot(worker, tiny_city, categories):
    response = worker.post(REPORT, report_data(categories, mode="self_resolve", resolution_note="已清扫干净",
                                               photos=[photo()], after_photos=[photo("after.png")]))
    case = Case.objects.get()
    assert response.status_code == 302
    assert (case.status, case.closure_kind) == (Status.CLOSED, ClosureKind.SELF_RESOLVED)
    assert sorted(case.attachments.values_list("kind", flat=True)) == sorted(
        [AttachmentKind.REPORT, AttachmentKind.SELF_RESOLVE])


def test_resolved_on_the_spot_needs_the_note_and_an_after_photo(worker, tiny_city, categories):
    response = worker.post(REPORT, report_data(categories, mode="self_resolve", resolution_note="已清扫"))
    assert response.status_code == 400
    assert "photo" in errors_for(response, "after_photos")
    response = worker.post(REPORT, report_data(categories, mode="self_resolve", after_photos=[photo()]))
    assert "resolved on the spot" in errors_for(response, "resolution_note")
    bad = SimpleUploadedFile("after.png", b"not an image", content_type="image/png")
    response = worker.post(REPORT, report_data(categories, mode="self_resolve", resolution_note="已清扫",
                                               after_photos=[bad]))
    assert "is not a photo" in errors_for(response, "after_photos")
    assert not Case.objects.exists()


def test_report_only(worker, tiny_city, categories):
    response = worker.post(REPORT, report_data(categories, mode="report_only"))
    case = Case.objects.get()
    assert response.status_code == 302 and case.status == Status.FILED


def test_a_role_that_may_not_report_gets_the_reason(client, tiny_city, categories):
    client.force_login(tiny_city.city_official)
    client.cookies["django_language"] = "en"
    response = client.post(REPORT, report_data(categories))
    assert response.status_code == 403
    assert "may not report" in response.content.decode()
    assert not Case.objects.exists()


# --- a case ----------------------------------------------------------------------------------


def test_another_workers_case_is_404(worker, tiny_city, categories):
    theirs, _ = actions.report_case(reporter=tiny_city.g3_worker, category=categories.garbage, lon=113.025,
                                    lat=23.005, description="别的网格")
    assert worker.get(reverse("worker:case", args=[theirs.pk])).status_code == 404


def test_my_case_in_another_grid_is_still_mine(worker, tiny_city, categories):
    # Only a mobile grid worker (流动网格员) may report outside their own grids.
    tiny_city.g1_worker.memberships.update(worker_kind=WorkerKind.MOBILE)
    case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.025,
                                  lat=23.005, description="路过别的网格")
    assert case.grid == tiny_city.g3
    assert worker.get(reverse("worker:case", args=[case.pk])).status_code == 200


def test_verification_task_shows_the_form_and_verifying_returns_to_the_phone_page(worker, tiny_city, categories):
    case = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    page = worker.get(reverse("worker:case", args=[case.pk])).content.decode()
    action_url = reverse("cases:action", args=[case.pk, "verify"])
    assert f'action="{action_url}"' in page and 'capture="environment"' in page
    assert f'name="next" value="{reverse("worker:case", args=[case.pk])}"' in page
    response = worker.post(action_url, {"verify-passed": "pass", "verify-note": "现场已清理",
                                        "verify-photos": [photo()], "next": reverse("worker:case", args=[case.pk])})
    assert response.status_code == 302 and response["Location"] == reverse("worker:case", args=[case.pk])
    case.refresh_from_db()
    assert case.status == Status.VERIFIED


def test_case_page_shows_events_written_by_the_system(worker, tiny_city, categories, settings):
    # A failed lookup in a filter argument raises with template debug on, as on a dev server.
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"], "debug": True}}]
    case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.005,
                                  lat=23.005, description="路边垃圾")
    jobs.triage_case(case.pk)  # written by the system: no actor
    response = worker.get(reverse("worker:case", args=[case.pk]))
    assert response.status_code == 200 and "system" in response.content.decode()


def test_no_verify_form_on_someone_elses_task(worker, tiny_city, categories):
    case = handled_case(tiny_city, categories, verifier=tiny_city.g1_leader)
    page = worker.get(reverse("worker:case", args=[case.pk])).content.decode()
    assert reverse("cases:action", args=[case.pk, "verify"]) not in page
