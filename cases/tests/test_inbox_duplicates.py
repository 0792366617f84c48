"""The centre inbox shows a report's three oldest possible duplicates and counts the rest ("+2"),
among the cases the operator may see only."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cases import jobs
from cases.tests.test_centre_views import G1, G3, as_, report, text

pytestmark = pytest.mark.django_db


def row_of(page: str, case) -> str:
    row = page[page.index(f'id="row-inbox-{case.pk}"'):]
    return row[:row.index("</tr>")]


def test_a_row_shows_three_duplicates_and_counts_the_rest_in_scope(client, tiny_city, categories):
    earlier = [report(tiny_city, categories, where=G1, text=f"垃圾{i}") for i in range(5)]
    latest = report(tiny_city, categories, where=G1, text="又一堆垃圾")
    jobs.triage_case(latest.pk)
    assert latest.duplicate_candidates.count() == 5
    # A candidate the operator may not see (town two's) is neither shown nor counted.
    elsewhere = report(tiny_city, categories, where=G3, text="二镇的垃圾")
    latest.duplicate_candidates.add(elsewhere)

    row = row_of(text(as_(client, tiny_city.t1_operator).get(reverse("centre:inbox"))), latest)
    shown = [case for case in earlier if case.number in row]
    assert shown == earlier[:3]  # the oldest three: what the others would be merged into
    assert elsewhere.number not in row
    more = re.search(r'<a class="more" href="([^"]+)"[^>]*>\+(\d+)</a>', row)
    assert more and more.group(2) == "2"
    assert more.group(1) == reverse("cases:detail", args=[latest.pk]) + "#duplicates"


def test_three_or_fewer_duplicates_have_no_count(client, tiny_city, categories):
    first = report(tiny_city, categories, where=G1)
    second = report(tiny_city, categories, where=G1)
    jobs.triage_case(second.pk)
    row = row_of(text(as_(client, tiny_city.t1_operator).get(reverse("centre:inbox"))), second)
    assert first.number in row and 'class="more"' not in row
