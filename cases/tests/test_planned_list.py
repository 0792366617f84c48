"""The case list's rows through govgrid.fastlist's plan are exactly what DRF's own path gives: every kind of
field (ids of links, choices, dotted sources, a display method, dates and times in the active time zone,
the point, decimals, blanks and nulls), in Chinese and in English, in another time zone, and when a row
cannot be read by the plan."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from rest_framework import serializers

from cases import actions
from cases.api.serializers import CaseDetailSerializer, CaseSerializer
from cases.models import Case
from govgrid import fastlist


def drf_rows(queryset) -> list:
    """DRF's own representation, field by field (ListSerializer, not the plan)."""
    return json.loads(json.dumps(serializers.ListSerializer(child=CaseSerializer(), instance=list(queryset)).data))


def planned_rows(queryset) -> list:
    serializer = CaseSerializer(list(queryset), many=True)
    assert isinstance(serializer, fastlist.PlannedListSerializer)
    return json.loads(json.dumps(serializer.data))


@pytest.fixture
def varied_cases(tiny_city, categories):
    city = tiny_city
    plain, _ = actions.report_case(reporter=city.g1_worker, category=categories.garbage, lon=113.005, lat=23.005,
                                   description="路边有一堆暴露垃圾")
    accepted = actions.accept_case(
        actions.report_case(reporter=city.g1_worker, category=categories.garbage, lon=113.0051234567891,
                            lat=23.0059876543219, description="井盖缺失", address="")[0],
        actor=city.t1_operator)
    dispatched = actions.dispatch_case(
        actions.accept_case(actions.report_case(reporter=city.g1_worker, category=categories.garbage,
                                                lon=113.006, lat=23.004, description="占道经营")[0],
                            actor=city.t1_operator),
        actor=city.t1_operator, lead=city.town1_um)
    # Values the actions leave empty, set directly: a clock factor (decimal), a master link, no reporter.
    Case.objects.filter(pk=dispatched.pk).update(clock_factor=Decimal("0.500"))
    Case.objects.filter(pk=accepted.pk).update(reporter=None, supervision="yellow")
    return Case.objects.filter(pk__in=[plain.pk, accepted.pk, dispatched.pk]).select_related(
        "category", "grid", "centre").order_by("-id")


def test_the_plan_gives_drfs_json_for_every_field(varied_cases):
    assert fastlist.plan_for(CaseSerializer()) is not None
    expected = drf_rows(varied_cases)
    assert len(expected) == 3
    assert planned_rows(varied_cases) == expected
    # the fields the cases fill differ: nulls, blanks, a decimal, links
    by_id = {row["id"]: row for row in expected}
    assert any(row["reporter"] is None for row in by_id.values())
    assert any(row["due_at"] and row["due_at"].endswith("+08:00") for row in by_id.values())


def test_the_same_in_english_and_in_another_time_zone(varied_cases):
    with translation.override("en"), timezone.override("UTC"):
        expected = drf_rows(varied_cases)
        assert planned_rows(varied_cases) == expected
    assert any(row["reported_at"].endswith("Z") for row in expected)  # UTC written as DRF writes it
    assert all(row["status_display"].isascii() for row in expected)


def test_a_serializer_with_fields_the_plan_does_not_know_keeps_drfs_path():
    assert fastlist.plan_for(CaseSerializer()) is not None
    assert fastlist.plan_for(CaseDetailSerializer()) is None  # nested dispatches, a method field


def test_a_row_the_plan_cannot_read_falls_back_to_drf(varied_cases):
    rows = list(varied_cases)
    rows[0].category = None  # a dotted source through a missing link: DRF leaves the field out or fails alike
    serializer = CaseSerializer(rows, many=True)
    try:
        expected = serializers.ListSerializer(child=CaseSerializer(), instance=rows).data
    except AttributeError as error:
        with pytest.raises(type(error)):
            serializer.data  # noqa: B018
    else:
        assert json.loads(json.dumps(serializer.data)) == json.loads(json.dumps(expected))


def test_the_api_list_answers_the_planned_rows(varied_cases, tiny_city, api):
    client = api.as_(tiny_city.t1_operator)
    response = client.get("/api/v1/cases/", {"page_size": 10})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == drf_rows(varied_cases)
