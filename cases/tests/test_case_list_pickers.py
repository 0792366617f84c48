"""The case list picks area and category from lists (the areas in scope by name, indented; the
categories grouped by family) instead of typed codes; the GET parameters stay the API's codes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cases.tests.test_centre_views import G1, G2, as_, report, text

pytestmark = pytest.mark.django_db


def options(page: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select id="f-{name}" name="{name}">(.*?)</select>', page, re.S)
    assert select, f"no {name} select"
    return [(v, re.sub(r"[ \t\n]+", " ", label).strip(" "))
            for v, label in re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', select.group(1), re.S)]


def test_the_case_list_offers_scope_areas_and_grouped_categories(client, tiny_city, categories):
    page = text(as_(client, tiny_city.t1_operator).get(reverse("cases:list")))
    assert 'name="within" value=' not in page and 'name="category" value=' not in page  # no typed codes
    areas = options(page, "within")
    assert areas == [("", "全部辖区"), ("980101001", "Town One"), ("980101001001", "\u3000Community A")]
    assert '<optgroup label="市容环境">' in page
    assert ("01", "市容环境（全部）") in options(page, "category")
    assert ("0101", "暴露垃圾") in options(page, "category")


def test_the_pickers_filter_with_the_api_codes(client, tiny_city, categories):
    garbage = report(tiny_city, categories, where=G1)
    hazard = report(tiny_city, categories, where=G2, category=categories.hazard)
    client = as_(client, tiny_city.t1_operator)
    page = text(client.get(reverse("cases:list"), {"category": "0102"}))
    assert hazard.number in page and garbage.number not in page
    assert re.search(r'<option value="0102" selected>', page)
    # A grid code typed into the address still filters, and stays chosen in the list.
    page = text(client.get(reverse("cases:list"), {"within": tiny_city.g1.code}))
    assert garbage.number in page and hazard.number not in page
    assert (tiny_city.g1.code, "A-1") in options(page, "within")
    assert f'<option value="{tiny_city.g1.code}" selected>' in page
