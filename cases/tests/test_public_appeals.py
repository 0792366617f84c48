"""The citizens' public pages (/appeal/): an appeal reaches the centre's inbox, is handled, and is rated
from the follow page (a dissatisfied answer reopens it); the abuse limits, the CAPTCHA and the follow
page's proof (number + last four digits, or the private link)."""

from __future__ import annotations

import re

import pytest
from captcha.models import CaptchaStore
from django.core.cache import cache

from cases import actions
from cases.choices import ACTIVE_DISPATCH_STATUSES, DispatchRole, Status
from cases.models import Appeal, Case
from cases.tests.conftest import photo
from parties.pii import decrypt

NEW, FOLLOW = "/appeal/", "/appeal/follow/"


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.APPEAL_LIMITS = {"ip": (3, 3600), "phone": (2, 86400), "follow": (4, 3600)}
    cache.clear()  # the rate-limit counters of an earlier test (same addresses and phones)


def solved() -> dict:
    """A CAPTCHA as the page makes it (django-simple-captcha's store), answered right."""
    key = CaptchaStore.generate_key()
    return {"captcha_0": key, "captcha_1": CaptchaStore.objects.get(hashkey=key).response}


def appeal(client, categories, *, ip="203.0.113.7", **fields):
    data = {"category": categories.garbage.pk, "description": "小区门口垃圾三天没人清", "lon": "113.005",
            "lat": "23.005", "phone": "13912345678", "name": "李四", **solved(), **fields}
    return client.post(NEW, data, REMOTE_ADDR=ip)


def lead_of(case):
    return case.dispatches.get(role=DispatchRole.LEAD, status__in=ACTIVE_DISPATCH_STATUSES)


def test_an_appeal_reaches_the_inbox_is_handled_and_rated_from_the_follow_page(client, tiny_city, categories):
    page = client.get(NEW)
    assert page.status_code == 200 and "captcha" in page.content.decode()
    assert categories.internal.name not in page.content.decode()  # only categories open to citizens
    response = appeal(client, categories, photos=[photo()])
    assert response.status_code == 302, re.findall(r'<ul class="errorlist">(.+?)</ul>', response.content.decode())
    private = response["Location"]
    case = Case.objects.get()
    assert re.fullmatch(rf"/appeal/{case.number}/[\w-]+/", private)
    assert case.channel == "citizen" and case.reporter is None and case.status == Status.REPORTED
    assert case.attachments.count() == 1
    appeal_row = Appeal.objects.get(case=case)
    assert decrypt(appeal_row.phone_cipher) == "13912345678" and appeal_row.phone_masked == "139****5678"
    shown = client.get(private).content.decode()
    assert case.number in shown and private in shown  # the number and the private link, once

    operator = client.__class__()
    operator.force_login(tiny_city.t1_operator)
    inbox = operator.get("/centre/").content.decode()
    assert case.number in inbox or case.description in inbox

    case = actions.accept_case(case, actor=tiny_city.t1_operator)
    case = actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    actions.sign_dispatch(lead_of(case), actor=tiny_city.handler)
    case = actions.feedback_dispatch(lead_of(case), actor=tiny_city.handler, note="垃圾已清运")
    case = actions.assign_verification(case, actor=tiny_city.t1_operator, verifier=tiny_city.g1_worker)
    case = actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[photo()])

    # Someone else's browser: the number alone, or wrong digits, show nothing.
    stranger = client.__class__()
    assert stranger.get(f"/appeal/{case.number}/").status_code == 404
    assert stranger.post(FOLLOW, {"number": case.number, "last4": "0000"}).status_code == 404
    found = stranger.post(FOLLOW, {"number": case.number, "last4": "5678"})
    assert found.status_code == 302 and found["Location"] == f"/appeal/{case.number}/"
    page = stranger.get(found["Location"]).content.decode()
    assert "垃圾已清运" in page and 'name="satisfaction"' in page
    assert "13912345678" not in page and "李四" not in page

    answer = stranger.post(f"/appeal/{case.number}/rate/", {"satisfaction": "dissatisfied"})
    assert answer.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS and case.rework_count == 1  # reopened as the table says
    assert case.events.filter(action="follow_up", actor=None).exists()

    case = actions.feedback_dispatch(lead_of(case), actor=tiny_city.handler, note="已彻底清理并加装垃圾桶")
    if case.verifier_id is None:
        case = actions.assign_verification(case, actor=tiny_city.t1_operator, verifier=tiny_city.g1_worker)
    case = actions.verify_case(case, actor=tiny_city.g1_worker, passed=True, photos=[photo()])
    assert stranger.post(f"/appeal/{case.number}/rate/", {"satisfaction": "bogus"}).status_code == 400
    assert stranger.post(f"/appeal/{case.number}/rate/", {"satisfaction": "satisfied"}).status_code == 302
    case = actions.close_case(case, actor=tiny_city.t1_operator)
    assert case.status == Status.CLOSED and case.satisfaction == "satisfied"
    page = stranger.get(f"/appeal/{case.number}/").content.decode()
    assert 'name="satisfaction"' not in page  # rated once


def test_refusals_keep_nothing_and_say_why(client, tiny_city, categories, english):
    cases = [
        ({"captcha_1": "WRONG"}, "captcha"),
        ({"phone": "12345"}, "mobile"),
        ({"category": categories.internal.pk}, "category"),
        ({"lon": "", "lat": "", "address": "月球路1号"}, "standard address"),
        ({"lon": "116.0", "lat": "40.0"}, "grid"),
        ({"description": ""}, "Describe"),
    ]
    for fields, words in cases:
        data = {"category": categories.garbage.pk, "description": "垃圾", "lon": "113.005", "lat": "23.005",
                "phone": "13912345678", **solved(), **fields}
        client.cookies["django_language"] = "en"
        response = client.post(NEW, data)
        assert response.status_code == 400, (fields, response.status_code)
        assert words.lower() in response.content.decode().lower(), fields
    assert not Case.objects.exists() and not Appeal.objects.exists()


def test_abuse_limits_per_address_and_per_phone(client, tiny_city, categories):
    assert appeal(client, categories).status_code == 302
    assert appeal(client, categories).status_code == 302
    assert appeal(client, categories).status_code == 429  # the phone's 2 a day
    assert appeal(client, categories, phone="13700000001").status_code == 429  # the address's 3 an hour
    assert appeal(client, categories, phone="13700000002", ip="198.51.100.9").status_code == 302
    assert Case.objects.count() == 3


def test_follow_tries_are_limited(client, tiny_city, categories):
    appeal(client, categories)
    case = Case.objects.get()
    other = client.__class__(REMOTE_ADDR="192.0.2.1")
    for _ in range(4):
        assert other.post(FOLLOW, {"number": case.number, "last4": "1111"}).status_code == 404
    assert other.post(FOLLOW, {"number": case.number, "last4": "5678"}).status_code == 429
