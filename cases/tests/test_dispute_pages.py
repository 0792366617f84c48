"""The dispute pages: forms exactly where the table permits their rows, scope (404), masked parties, the
leader's list, the phone screening form (zero report in one tap), the ledger XLSX, in both languages."""

from __future__ import annotations

import datetime as dt
import io

from django.urls import reverse

from cases import pipeline
from cases.actions import disputes as d
from cases.disputes import ScreeningReport
from cases.pages.disputes import available
from cases.tests.dispute_helpers import MONDAY, registered
from govgrid import clock
from parties import actions as party_actions


def test_the_dispute_page_offers_the_permitted_rows_and_masks_parties(tiny_city, mediation, client):
    city, m = tiny_city, mediation
    case = registered(city, m)
    alice = party_actions.create_resident(actor=None, name="Alice", grid=city.g1, phone="13812345678")
    with clock.at(MONDAY + dt.timedelta(hours=1)):
        d.add_party(case.pk, actor=city.t1_operator, role="applicant", resident=alice.pk)
    url = reverse("disputes:detail", args=[case.pk])
    for user, visible in ((city.t1_operator, True), (m.lawyer, True), (city.g1_worker, True),
                          (city.t2_operator, False), (m.judge, False), (city.nobody, False)):
        client.force_login(user)
        page = client.get(url)
        if not visible:
            assert page.status_code == 404, user
            assert client.post(reverse("disputes:action", args=[case.pk, "mark_failure"]),
                               {"mark_failure-reason": "x"}).status_code == 404
            continue
        assert page.status_code == 200, user
        html = page.content.decode()
        assert "138****5678" in html and "13812345678" not in html
        shown = {rule.name for rule in pipeline.DISPUTE_RULES if f'id="action-{rule.name}"' in html}
        assert shown == {rule.name for rule in pipeline.DISPUTE_RULES if pipeline.permits(rule, user, case)}, user
    assert "hold_session" in {a.name for a in available(m.lawyer, case)}
    assert "hold_session" not in {a.name for a in available(city.g1_worker, case)}


def test_a_session_through_the_page_and_a_refusal_beside_the_field(tiny_city, mediation, client):
    city, m = tiny_city, mediation
    case = registered(city, m)
    client.force_login(m.lawyer)
    action = reverse("disputes:action", args=[case.pk, "hold_session"])
    with clock.at(MONDAY + dt.timedelta(days=1)):
        bad = client.post(action, {"hold_session-place": "调解室", "hold_session-method": "at_centre",
                                   "hold_session-result": "continue", "hold_session-held_at": "2026-03-09T10:00"})
        assert bad.status_code == 400 and "errorlist" in bad.content.decode()  # not held yet
        assert not case.mediation_sessions.exists()
        done = client.post(action, {"hold_session-place": "调解室", "hold_session-method": "at_centre",
                                    "hold_session-result": "continue", "hold_session-held_at": "2026-03-02T15:00"})
    assert done.status_code == 302 and case.mediation_sessions.count() == 1


def test_board_leaders_list_ledger_and_english(tiny_city, mediation, client):
    city, m = tiny_city, mediation
    case = registered(city, m, people_involved=20)
    with clock.at(MONDAY + dt.timedelta(hours=1)):
        d.assign_leader(case.pk, actor=city.t1_operator, leader="district_official")
    client.force_login(city.t1_operator)
    board = client.get(reverse("disputes:index"))
    assert board.status_code == 200 and case.number in board.content.decode()
    assert client.get(reverse("disputes:index"), {"stage": "mediating", "risk": "high"}).status_code == 200
    ledger = client.get(reverse("disputes:ledger"))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(ledger.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == case.number
    client.force_login(city.t2_operator)
    assert case.number not in client.get(reverse("disputes:index")).content.decode()
    assert len(list(load_workbook(io.BytesIO(client.get(reverse("disputes:ledger")).content)).active.rows)) == 1
    client.force_login(m.district_official)
    client.cookies["django_language"] = "en"
    mine = client.get(reverse("disputes:mine"))
    html = mine.content.decode()
    assert mine.status_code == 200 and reverse("disputes:detail", args=[case.pk]) in html
    assert "My disputes" in html
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(reverse("disputes:mine")).content.decode()
    assert "我的包案纠纷" in chinese and "My disputes" not in chinese
    client.force_login(city.city_official)
    assert reverse("disputes:detail", args=[case.pk]) not in client.get(reverse("disputes:mine")).content.decode()


def test_the_phone_screening_form_zero_report_in_one_tap(tiny_city, mediation, client):
    city, m = tiny_city, mediation
    case = registered(city, m)
    client.force_login(city.g1_worker)
    url = reverse("disputes:screening")
    with clock.at(MONDAY + dt.timedelta(days=2)):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200 and case.number in page.content.decode()
        assert "零报告：本月未发现纠纷" in page.content.decode()
        assert client.post(url, {"grid": city.g1.code}).status_code == 400  # nothing ticked, no zero report
        assert client.post(url, {"grid": city.g1.code, "zero": "1"}).status_code == 302
        assert ScreeningReport.objects.get(grid=city.g1).is_zero
        assert client.post(url, {"grid": city.g1.code, "found": [case.pk]}).status_code == 302
    report = ScreeningReport.objects.get(grid=city.g1)
    assert not report.is_zero and list(report.found.all()) == [case]
    assert client.get(url, {"grid": city.g3.code}).status_code == 404
    client.force_login(city.nobody)
    assert client.get(url).status_code == 404
