"""English pages name categories and departments in English (the seed gives both; a name without an
English one shows the Chinese), and notices name the lights (红灯 / red light), never the raw value.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import actions, notifications
from cases.categories_en import ENGLISH_NAMES
from cases.categories_seed import FAMILIES, load_categories
from cases.choices import Action
from cases.models import CaseEvent, Category
from grids.department_names import ENGLISH_SUFFIXES, english_name
from grids.seed import TOWN_CORE_DEPARTMENTS, TOWN_EXTRA_DEPARTMENTS, UPPER_DEPARTMENTS

pytestmark = pytest.mark.django_db
ENGLISH = {"django_language": "en"}


def test_every_seeded_category_has_an_english_name(db):
    load_categories()
    seeded = [family.code for family in FAMILIES] + [leaf.code for family in FAMILIES for leaf in family.leaves]
    assert set(ENGLISH_NAMES) == set(seeded)
    for row in Category.objects.filter(code__in=seeded):
        assert row.name_en == ENGLISH_NAMES[row.code]
        assert re.fullmatch(r"[A-Za-z][A-Za-z ,()'–-]+", row.name_en), row.name_en


def test_every_seeded_department_name_has_an_english_one():
    suffixes = {name for row in UPPER_DEPARTMENTS for name in row[1:]}
    suffixes |= {suffix for _kind, suffix in TOWN_CORE_DEPARTMENTS + TOWN_EXTRA_DEPARTMENTS} | {"卫生院"}
    assert suffixes <= set(ENGLISH_SUFFIXES)
    assert english_name("东湖街道", "东湖街道城管中队") == "东湖街道 Urban Management Squad"
    assert english_name("东湖街道", "东湖街道城管局") == "东湖街道 Urban Management Bureau"
    assert english_name("东湖街道", "自建的部门") == ""  # typed by someone: no English, the Chinese shows


@pytest.fixture
def named(tiny_city, categories):
    categories.family.name_en = "City appearance"
    categories.family.save()
    categories.garbage.name_en = "Exposed rubbish"
    categories.garbage.save()
    tiny_city.town1_um.name_en = "Town One Urban Management Squad"
    tiny_city.town1_um.save()
    case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.005,
                                  lat=23.005, description="路边垃圾")
    case = actions.accept_case(case, actor=tiny_city.t1_operator)
    return actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)


def test_pages_show_english_names_in_english_and_chinese_ones_in_chinese(client, tiny_city, named):
    client.force_login(tiny_city.t1_operator)
    pages = [reverse("cases:detail", args=[named.pk]), reverse("cases:list"), reverse("centre:board")]
    for url in pages:
        html = client.get(url).content.decode()
        assert "暴露垃圾" in html and "Exposed rubbish" not in html, url
    client.cookies.load(ENGLISH)
    for url in pages:
        html = client.get(url).content.decode()
        assert "Exposed rubbish" in html and "暴露垃圾" not in html, url
    detail = client.get(pages[0]).content.decode()
    assert "Town One Urban Management Squad" in detail and "Town One 城管中队" not in detail
    client.force_login(tiny_city.handler)
    assert "Exposed rubbish" in client.get(reverse("department:inbox")).content.decode()


def test_a_name_without_english_shows_the_chinese_one(tiny_city, english):
    assert tiny_city.district_um.name_en == ""
    assert tiny_city.district_um.display_name == str(tiny_city.district_um) == "East 城管局"


def test_the_api_gives_both_names(api, tiny_city, named):
    body = api.as_(tiny_city.t1_operator).get(f"/api/v1/cases/{named.pk}/").json()
    assert (body["category_name"], body["category_name_en"]) == ("暴露垃圾", "Exposed rubbish")


def test_a_light_notice_names_the_light_in_the_readers_language(client, tiny_city, named):
    event = CaseEvent.objects.create(case=named, at=timezone.now(), action=Action.LIGHT,
                                     payload={"stage": "handle", "from": "yellow", "to": "red"})
    assert notifications.notify(event.pk) >= 1
    stored = event.notifications.get(recipient=tiny_city.handler).message
    assert "红灯" in stored and "red" not in stored
    client.force_login(tiny_city.handler)
    html = client.get(reverse("cases:notifications")).content.decode()
    assert "处置时限亮红灯" in html and "red" not in html
    client.cookies.load(ENGLISH)
    html = client.get(reverse("cases:notifications")).content.decode()
    assert "Exposed rubbish: handling time limit shows a red light" in html and "红灯" not in html


def test_no_notice_shows_a_raw_value(client, tiny_city, named):
    # Every notifying event of the dispatched case (report, accept, dispatch) reads as words.
    for event in CaseEvent.objects.filter(case=named):
        notifications.notify(event.pk)
    client.force_login(tiny_city.handler)
    client.cookies.load(ENGLISH)
    html = client.get(reverse("cases:notifications")).content.decode()
    texts = re.findall(r'<span class="title">(.*?)</span>', html, re.S)
    assert texts
    for text in texts:
        assert not re.search(r"\b(dispatch|accept|red|yellow|green|handle|sign)\b", text), text
