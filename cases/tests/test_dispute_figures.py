"""The dispute figures on the officials' dashboard and in the monthly safety report (平安报表), checked
against counts made by hand."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from cases.actions import disputes as d
from cases.dispute_selectors import area_figures
from cases.tests.dispute_helpers import G3, MONDAY, registered
from govgrid import clock
from reports import exports


def _month_of_disputes(city, m):
    """Town One: A-1 found two disputes (one resolved), A-2 zero report; Town Two: B-1 one, no report."""
    one = registered(city, m)
    two = registered(city, m, category=m.labour)
    registered(city, m, where=G3, reporter=city.g3_worker, operator=city.t2_operator, centre=m.town2_rc)
    with clock.at(MONDAY + dt.timedelta(days=1)):
        d.report_screening(actor=city.g1_worker, grid=city.g1, month=MONDAY.date(), found=[one.pk, two.pk])
        d.report_screening(actor=city.t1_operator, grid=city.g2, month=MONDAY.date(), zero=True)
        d.hold_session(one.pk, actor=m.lawyer, held_at=MONDAY, place="调解室", method="at_centre", result="agreed")
        d.record_agreement(one.pk, actor=m.lawyer, terms="道歉", performance="on_the_spot", perform_by="2026-03-03")
    with clock.at(MONDAY + dt.timedelta(days=9)):
        d.record_follow_up(one.pk, actor=m.lawyer, held=True)
        d.mark_success(one.pk, actor=m.lawyer)


def test_area_figures_by_hand(tiny_city, mediation):
    city = tiny_city
    _month_of_disputes(city, mediation)
    march = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    district = area_figures(city.district, *march)
    assert (district["coverage"].grids, district["coverage"].reported, district["coverage"].zero) == (3, 2, 1)
    assert [(c.area.code, c.grids, c.reported) for c in district["children"]] == [
        ("980101001", 2, 2), ("980101002", 1, 0)]
    assert (district["total"][0].accepted, district["total"][0].resolved) == (3, 1)
    town_two = area_figures(city.town2, *march)
    assert (town_two["coverage"].rate, town_two["total"][0].accepted, town_two["total"][0].resolved) == (0.0, 1, 0)
    assert area_figures(city.district, dt.date(2026, 4, 1), dt.date(2026, 4, 30))["total"][0].accepted == 0


def test_the_dashboard_card_and_the_monthly_safety_report(tiny_city, mediation, client):
    city = tiny_city
    _month_of_disputes(city, mediation)
    client.force_login(city.city_official)
    page = client.get(reverse("reports:dashboard"), {"area": city.district.code, "start": "2026-03-01",
                                                      "end": "2026-03-31"})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="dispute-figures"' in html
    assert "66.7%" in html and "33.3%" in html  # coverage 2 of 3 grids; 1 resolved of 3 accepted
    pdf = exports.monthly_pdf(city.district, 2026, 3)
    assert pdf.startswith(b"%PDF")
