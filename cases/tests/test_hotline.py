"""The hotline desk (/centre/hotline/): a call becomes a case in the inbox with the caller masked and
encrypted, or is answered at once and counted apart; only centre staff have the desk."""

from __future__ import annotations

import pytest

from cases.choices import ClosureKind, Status
from cases.models import Appeal, Case, CaseEvent
from parties.pii import decrypt

DESK = "/centre/hotline/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def call(client, categories, **fields):
    return client.post(DESK, {"caller_name": "王五", "phone": "13611112222", "category": categories.internal.pk,
                              "description": "来电反映：独居老人需要探访", "lon": "113.005", "lat": "23.005", **fields})


def test_a_call_becomes_a_case_or_is_answered_at_once(client, tiny_city, categories):
    client.force_login(tiny_city.t1_operator)
    assert client.get(DESK).status_code == 200
    response = call(client, categories)
    assert response.status_code == 302, response.content.decode()
    case = Case.objects.get()
    assert case.channel == "hotline" and case.reporter == tiny_city.t1_operator and case.status == Status.REPORTED
    appeal = Appeal.objects.get(case=case)
    assert appeal.operator == tiny_city.t1_operator and decrypt(appeal.phone_cipher) == "13611112222"
    page = client.get(DESK).content.decode()
    assert "136****2222" in page and "13611112222" not in page and case.number in page
    assert case.number in client.get("/centre/").content.decode()
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    assert "136****2222" in detail and "13611112222" not in detail

    assert call(client, categories, answered="on", answer="").status_code == 400  # what was said is required
    response = call(client, categories, category=categories.garbage.pk, answered="on",
                    answer="已告知垃圾清运时间为每天早上七点", phone="")
    assert response.status_code == 302
    answered = Case.objects.exclude(pk=case.pk).get()
    assert answered.status == Status.FILED and answered.closure_kind == ClosureKind.ANSWERED
    event = CaseEvent.objects.get(case=answered)
    assert event.action == "answer" and event.note == "已告知垃圾清运时间为每天早上七点"
    desk = client.get(DESK)
    assert (desk.context["answered_today"], desk.context["filed_today"]) == (1, 1)  # counted apart


def test_only_centre_staff_have_the_desk_and_refusals_keep_nothing(client, tiny_city, categories):
    client.force_login(tiny_city.g1_worker)
    assert client.get(DESK).status_code == 403
    client.force_login(tiny_city.t2_operator)  # Town Two's operator: the point lies in Town One
    assert call(client, categories).status_code == 400
    client.force_login(tiny_city.t1_operator)
    assert call(client, categories, lon="", lat="", address="不存在路1号").status_code == 400
    assert call(client, categories, phone="abc").status_code == 400
    assert not Case.objects.exists() and not Appeal.objects.exists()
