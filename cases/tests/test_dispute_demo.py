"""The demo seeding's disputes: every stage, through the real actions, with screening reports."""

from __future__ import annotations

import datetime as dt

from cases import demo_disputes
from cases.choices import Status
from cases.disputes import DisputeDetails, DisputeParty, Mediator, ResolutionCentre, ScreeningReport
from cases.models import Case
from cases.tests.dispute_helpers import MONDAY


def test_the_demo_has_disputes_at_every_stage(tiny_city, mediation):
    from django.contrib.gis.geos import Point

    from parties import actions as party_actions

    building = party_actions.create_building(actor=None, grid=tiny_city.g1, number="1",
                                             point=Point(113.005, 23.005, srid=4326))
    for name in ("张三", "李四", "王五"):
        party_actions.create_resident(actor=None, name=name, grid=tiny_city.g1,
                                      house=party_actions.create_house(actor=None, building=building, room=name))
    now = MONDAY + dt.timedelta(days=27)
    targets = [target for target, _weight in demo_disputes.STAGES]
    stages = demo_disputes.generate(seed=7, now=now, targets=targets)
    assert stages == dict.fromkeys(targets, 1)
    found = set(DisputeDetails.objects.values_list("stage", flat=True))
    assert found >= {"mediating", "agreed", "resolved", "failed", "referred", "concluded"}, found
    assert Case.objects.filter(status=Status.ACCEPTED, category__code__startswith="07").exists()  # waiting
    assert Case.objects.filter(status=Status.CLOSED, dispute__stage="resolved").exists()
    assert DisputeDetails.objects.filter(leader__isnull=False).exists()
    assert ResolutionCentre.objects.count() == 3 and Mediator.objects.filter(user=tiny_city.t1_operator).exists()
    assert DisputeParty.objects.filter(case__grid=tiny_city.g1).exists()
    assert ScreeningReport.objects.filter(month=dt.date(2026, 3, 1)).exists()
