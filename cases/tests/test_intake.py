"""Reporting a case over the API: retries are idempotent, bad input is refused naming the field and
writes nothing (no case, no event, no file), and the timeline cannot be rewritten."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction

from cases import actions
from cases.models import Attachment, Case, CaseEvent
from cases.tests.conftest import PNG, photo
from govgrid.errors import ActionError

CASES = "/api/v1/cases/"
INSIDE_G1 = {"lon": 113.005, "lat": 23.005}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def report(client, *, multipart=False, language="en", **fields):
    data = {"category": "0101", **INSIDE_G1, "description": "路边有一堆暴露垃圾", **fields}
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(CASES, data, format="multipart" if multipart else "json", HTTP_ACCEPT_LANGUAGE=language)


def refused_on(response, field: str, code: int = 400) -> dict:
    assert response.status_code == code, response.content.decode()
    body = response.json()
    assert field in body["errors"], body
    return body


def nothing_written(media) -> bool:
    return not (Case.objects.exists() or CaseEvent.objects.exists() or Attachment.objects.exists()
                or any(media.rglob("*.*")))


# --- idempotent retries ------------------------------------------------------------------------------


def test_a_retried_report_returns_the_same_case(tiny_city, categories, api):
    client = api.as_(tiny_city.g1_worker)
    request_id = str(uuid.uuid4())
    first = report(client, client_uuid=request_id)
    again = report(client, client_uuid=request_id)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Case.objects.count() == 1
    assert list(CaseEvent.objects.values_list("action", flat=True)) == ["report"]


def test_the_same_request_id_from_another_reporter_is_another_case(tiny_city, categories, api):
    request_id = str(uuid.uuid4())
    first = report(api.as_(tiny_city.g1_worker), client_uuid=request_id)
    other = report(api.as_(tiny_city.g1_leader), client_uuid=request_id)

    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["id"] != other.json()["id"]
    assert Case.objects.count() == 2


def test_reports_without_a_request_id_are_separate_cases(tiny_city, categories, api):
    client = api.as_(tiny_city.g1_worker)
    assert report(client).status_code == report(client).status_code == 201
    assert Case.objects.count() == 2


# --- refusals naming the field, writing nothing ----------------------------------------------------


def test_a_point_outside_every_grid_is_refused_naming_location(tiny_city, categories, api, media):
    body = refused_on(report(api.as_(tiny_city.g1_worker), lon=114.5, lat=23.005), "location")
    assert "outside every grid" in body["detail"]
    assert nothing_written(media)


def test_an_unknown_category_is_refused_naming_category(tiny_city, categories, api, media):
    refused_on(report(api.as_(tiny_city.g1_worker), category="9999"), "category")
    assert nothing_written(media)


def test_a_category_family_is_refused(tiny_city, categories, api, media):
    refused_on(report(api.as_(tiny_city.g1_worker), category="01"), "category")
    with pytest.raises(ActionError) as refusal:
        actions.report_case(reporter=tiny_city.g1_worker, category=categories.family, **INSIDE_G1,
                            description="市容问题")
    assert refusal.value.field == "category"
    assert nothing_written(media)


@pytest.mark.parametrize("channel", ["citizen", "open311"])
def test_a_citizen_channel_may_not_use_an_internal_category(tiny_city, categories, api, media, channel):
    body = refused_on(report(api.as_(tiny_city.g1_worker), category="0103", channel=channel), "category")
    assert "Citizens" in body["detail"]
    assert nothing_written(media)


def test_a_grid_worker_may_use_an_internal_category(tiny_city, categories, api):
    assert report(api.as_(tiny_city.g1_worker), category="0103").status_code == 201


@pytest.mark.parametrize("description", [None, "", "   "])
def test_a_report_needs_a_description(tiny_city, categories, api, media, description):
    refused_on(report(api.as_(tiny_city.g1_worker), description=description), "description")
    assert nothing_written(media)


@pytest.mark.parametrize("field", ["channel", "urgency"])
def test_an_unknown_channel_or_urgency_is_refused_naming_it(tiny_city, categories, api, media, field):
    refused_on(report(api.as_(tiny_city.g1_worker), **{field: "carrier_pigeon"}), field)
    assert nothing_written(media)


def test_an_upload_that_is_not_an_image_is_refused_and_nothing_is_written(tiny_city, categories, api, media):
    # Named and declared as a PNG: the bytes decide.
    fake = SimpleUploadedFile("photo.png", b"%PDF-1.4\n%...", content_type="image/png")
    body = refused_on(report(api.as_(tiny_city.g1_worker), multipart=True, photos=[photo(), fake]), "photos")
    assert body["code"] == "wrong_type"
    assert nothing_written(media)


def test_an_oversize_photo_is_refused_and_nothing_is_written(tiny_city, categories, api, media, settings):
    settings.MAX_UPLOAD_BYTES = 100
    big = SimpleUploadedFile("big.png", PNG + b"\0" * 200, content_type="image/png")
    body = refused_on(report(api.as_(tiny_city.g1_worker), multipart=True, photos=[big]), "photos")
    assert body["code"] == "too_large"
    assert nothing_written(media)
    # A photo within the limit goes through.
    assert len(PNG) <= 100
    assert report(api.as_(tiny_city.g1_worker), multipart=True, photos=[photo()]).status_code == 201


def test_self_resolving_without_an_after_photo_is_refused_and_nothing_is_written(tiny_city, categories, api, media):
    response = report(api.as_(tiny_city.g1_worker), multipart=True, self_resolve="true",
                      resolution_note="已当场清理", photos=[photo()])
    refused_on(response, "after_photos")
    assert nothing_written(media)


def test_a_report_with_photos_keeps_them(tiny_city, categories, api, media):
    answer = report(api.as_(tiny_city.g1_worker), multipart=True, photos=[photo("a.png"), photo("b.png")])
    assert answer.status_code == 201, answer.content.decode()
    case = Case.objects.get(pk=answer.json()["id"])
    event = case.events.get()
    assert list(case.attachments.values_list("kind", "content_type", "event")) == [
        ("report", "image/png", event.pk), ("report", "image/png", event.pk)]
    assert len(list(media.rglob("*.png"))) == 2


# --- language ---------------------------------------------------------------------------------------


def test_field_errors_come_in_chinese_for_a_chinese_client(tiny_city, categories, api):
    body = refused_on(report(api.as_(tiny_city.g1_worker), description=None, language="zh-hans"), "description")
    assert body["errors"]["description"] == ["该字段是必填项。"]
    assert body["detail"] == "description: 该字段是必填项。"


def test_field_errors_come_in_english_for_an_english_client(tiny_city, categories, api):
    body = refused_on(report(api.as_(tiny_city.g1_worker), description=None, language="en"), "description")
    assert body["errors"]["description"] == ["This field is required."]


# --- the timeline is append-only ----------------------------------------------------------------------


def test_case_events_cannot_be_changed(tiny_city, categories):
    case, _created = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, **INSIDE_G1,
                                         description="路边有一堆暴露垃圾")
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(case=case).update(note="x")
    assert CaseEvent.objects.get(case=case).note == ""


def test_case_events_cannot_be_deleted(tiny_city, categories):
    case, _created = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, **INSIDE_G1,
                                         description="路边有一堆暴露垃圾")
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(case=case).delete()
    assert CaseEvent.objects.filter(case=case).count() == 1
