"""Disputes and mediation (issue #13): a dispute from a grid screening to success, a failed mediation
referred to litigation, the leader's list, the risk rule, reminders, screening coverage and the
resolution rate by hand, all through the real actions with the clock frozen (govgrid.clock.at)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from cases import actions, pipeline
from cases.actions import disputes as d
from cases.choices import Action, Status
from cases.dispute_selectors import led_by, resolution_rates, screening_coverage, visible_disputes
from cases.disputes import (
    DisputeStage,
    FollowUp,
    RiskLevel,
    ScreeningReport,
)
from cases.models import Case, Notification
from cases.notifications import notify, recipients
from cases.tests.dispute_helpers import G1, G3, MONDAY, registered
from govgrid import clock
from govgrid.errors import ActionError, Conflict, Forbidden, NotFound
from grids.choices import Level


def actions_on(case: Case) -> list[str]:
    return list(case.events.order_by("at", "id").values_list("action", flat=True))


def test_a_screened_dispute_through_two_sessions_an_agreement_confirmed_and_followed_up_to_success(tiny_city,
                                                                                                   mediation):
    city, m = tiny_city, mediation
    case = registered(city, m, people_involved=3, amount="8000")
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS and case.stage == "handle" and case.handle_due_at > MONDAY
    assert case.dispute.source == "screening" and case.dispute.dispute_type == "neighbour"
    assert case.dispute.risk_level == RiskLevel.LOW and case.dispute.risk_reasons == []
    with clock.at(MONDAY + dt.timedelta(hours=1)):
        report = d.report_screening(actor=city.g1_worker, grid=city.g1, month=MONDAY.date(), found=[case.pk])
    assert list(report.found.all()) == [case] and not report.is_zero

    # The stationed lawyer has no area of their own, yet reaches the dispute their centre mediates
    # (and only as a dispute: the ordinary case pages stay out of their reach).
    assert visible_disputes(m.lawyer).filter(pk=case.pk).exists()
    with clock.at(MONDAY + dt.timedelta(days=1)):
        first = d.hold_session(case.pk, actor=m.lawyer, held_at=MONDAY + dt.timedelta(hours=20), place="社区调解室",
                               method="at_centre", result="continue", attendance="双方到场")
    with clock.at(MONDAY + dt.timedelta(days=3)):
        second = d.hold_session(case.pk, actor=m.lawyer, held_at=MONDAY + dt.timedelta(days=3),
                                place="社区调解室", method="joint", result="agreed",
                                mediators=["lawyer", "mediator"])
        assert set(second.mediators.values_list("username", flat=True)) == {"lawyer", "mediator"}
        assert list(first.mediators.all()) == [m.lawyer]
        with pytest.raises(NotFound):  # a mediator of another centre cannot be named
            d.hold_session(case.pk, actor=m.lawyer, held_at=MONDAY, place="x", method="phone", result="continue",
                           mediators=["judge"])
        agreement = d.record_agreement(case.pk, actor=m.lawyer, terms="楼上住户修复管道并赔偿 3000 元",
                                       performance="by_date", perform_by=dt.date(2026, 3, 25))
        # Follow-ups at the set intervals while it is performed, and once after the date.
        assert list(FollowUp.objects.filter(case=case).values_list("due_on", flat=True)) == [
            dt.date(2026, 3, 12), dt.date(2026, 3, 26)]
        with pytest.raises(Conflict):  # one agreement per dispute
            d.record_agreement(case.pk, actor=m.lawyer, terms="x", performance="by_date", perform_by="2026-04-01")
        d.request_confirmation(case.pk, actor=m.lawyer, court="东区人民法院")
        with pytest.raises(Conflict):  # the follow-ups come first
            d.mark_success(case.pk, actor=m.lawyer)
    with clock.at(MONDAY + dt.timedelta(days=8)):
        agreement = d.grant_confirmation(case.pk, actor=m.lawyer, granted_on="2026-03-09")
        assert agreement.confirmation_requested_on == dt.date(2026, 3, 5)
        assert agreement.confirmation_granted_on == dt.date(2026, 3, 9)
    with clock.at(MONDAY + dt.timedelta(days=10)):
        d.record_follow_up(case.pk, actor=m.mediator, held=True, note="已修复管道")
    with clock.at(MONDAY + dt.timedelta(days=24)):
        d.record_follow_up(case.pk, actor=city.g1_worker, held=True, note="赔偿已付")  # the grid worker calls by
        with pytest.raises(Conflict):
            d.record_follow_up(case.pk, actor=m.mediator, held=True)
        d.mark_success(case.pk, actor=m.lawyer, note="协议履行完毕")
        case.refresh_from_db()
        assert case.status == Status.VERIFIED and case.stage == "" and case.dispute.stage == DisputeStage.RESOLVED
        # Success verified the outcome; the case closes by the ordinary close row, as the table allows it.
        with pytest.raises(NotFound):  # the ordinary case actions are outside a lawyer's reach
            actions.close_case(case, actor=m.lawyer)
        case = actions.close_case(case, actor=city.t1_operator)
    assert case.status == Status.CLOSED
    assert actions_on(case) == [
        "report", "accept", "open_dispute", "hold_session", "hold_session", "record_agreement",
        "request_confirmation", "grant_confirmation", "record_follow_up", "record_follow_up", "mark_success",
        "close",
    ]


def test_a_failed_mediation_referred_up_and_then_to_litigation(tiny_city, mediation):
    city, m = tiny_city, mediation
    case = registered(city, m, category=m.labour, people_involved=4)
    with clock.at(MONDAY + dt.timedelta(days=1)):
        d.hold_session(case.pk, actor=m.mediator, held_at=MONDAY + dt.timedelta(days=1), place="镇矛调中心",
                       method="at_centre", result="failed")
        d.mark_failure(case.pk, actor=m.mediator, reason="用人单位拒绝支付")
        # Referred up to the district's centre: its mediators take it on, the town's lose their reach.
        d.refer_dispute(case.pk, actor=m.mediator, target="centre", to_centre=m.district_rc.pk, reason="涉及金额大")
        case.refresh_from_db()
        assert case.dispute.centre == m.district_rc and case.dispute.stage == DisputeStage.MEDIATING
        assert visible_disputes(m.judge).filter(pk=case.pk).exists()
        assert not visible_disputes(m.mediator).filter(pk=case.pk).exists()
        with pytest.raises(NotFound):
            d.hold_session(case.pk, actor=m.mediator, held_at=MONDAY, place="x", method="phone", result="failed")
        d.hold_session(case.pk, actor=m.judge, held_at=MONDAY + dt.timedelta(days=1), place="区矛调中心",
                       method="at_centre", result="failed")
        d.mark_failure(case.pk, actor=m.judge, reason="双方分歧大")
        with pytest.raises(ActionError) as error:
            d.refer_dispute(case.pk, actor=m.judge, target="court-of-heaven", reason="x")
        assert error.value.field == "target"
        referral = d.refer_dispute(case.pk, actor=m.judge, target="litigation", reason="引导当事人诉讼")
    case.refresh_from_db()
    assert case.dispute.stage == DisputeStage.REFERRED and case.status == Status.IN_PROGRESS
    assert case.stage == "" and case.due_at is None  # the clock stopped while the court has it
    with pytest.raises(Conflict):  # no more sessions while referred outside
        d.hold_session(case.pk, actor=m.judge, held_at=MONDAY, place="x", method="phone", result="failed")
    with clock.at(MONDAY + dt.timedelta(days=40)):
        d.record_referral_result(case.pk, actor=m.judge, result="法院判决支付工资 5 万元")
    case.refresh_from_db()
    referral.refresh_from_db()
    assert referral.result_at is not None and case.status == Status.VERIFIED
    assert case.dispute.stage == DisputeStage.CONCLUDED and case.dispute.resolved_at is None
    assert [r.target for r in case.dispute_referrals.all()] == ["centre", "litigation"]


def test_the_leaders_list_and_the_visits(tiny_city, mediation):
    city, m = tiny_city, mediation
    mine = registered(city, m, people_involved=30)
    other = registered(city, m)
    with clock.at(MONDAY + dt.timedelta(hours=2)):
        with pytest.raises(NotFound):  # a leader is an official or centre lead over the area
            d.assign_leader(mine.pk, actor=city.t1_operator, leader="g1_worker")
        with pytest.raises(Forbidden):  # a mediator does not name leaders
            d.assign_leader(mine.pk, actor=m.lawyer, leader="district_official")
        d.assign_leader(mine.pk, actor=city.t1_operator, leader="district_official")
        assert [row.case_id for row in led_by(m.district_official)] == [mine.pk]
        assert not led_by(city.city_official).exists()
        # 专诊 by the leader, 会诊 with two departments each with its part, 复诊 scheduled.
        d.record_visit(mine.pk, actor=m.district_official, kind="leader", note="现场协调")
        with pytest.raises(ActionError):
            d.record_visit(other.pk, actor=city.t1_operator, kind="leader")
        with pytest.raises(ActionError):
            d.record_visit(mine.pk, actor=city.t1_operator, kind="joint", departments=[(city.town1_um.pk, "拆违")])
        joint = d.record_visit(mine.pk, actor=city.t1_operator, kind="joint", departments=[
            (city.town1_um.pk, "清理违建"), (city.district_um.pk, "执法监督")])
        assert sorted(joint.departments.values_list("part", flat=True)) == ["执法监督", "清理违建"]
        d.record_visit(mine.pk, actor=city.g1_worker, kind="patrol")
        d.record_visit(mine.pk, actor=city.g1_worker, kind="follow_up", next_due_on="2026-03-20")
    assert sorted(mine.dispute_visits.values_list("kind", flat=True)) == [
        "follow_up", "joint", "leader", "patrol"]
    with pytest.raises(NotFound):  # another grid's worker cannot reach it at all
        d.record_visit(mine.pk, actor=city.g3_worker, kind="patrol")


def test_the_risk_rule_raises_the_level_and_says_why(tiny_city, mediation, settings):
    city, m = tiny_city, mediation
    settings.DISPUTE_RISK_PEOPLE = 10
    case = registered(city, m, people_involved=9)
    assert case.dispute.risk_level == RiskLevel.LOW
    with clock.at(MONDAY):
        details = d.assess_dispute_risk(case.pk, actor=m.lawyer, people_involved=10)
        assert (details.risk_level, details.risk_reasons) == (RiskLevel.HIGH, ["many_people"])
        details = d.assess_dispute_risk(case.pk, actor=m.lawyer, people_involved=3, petitions=2,
                                        assessed_risk="medium")
        assert (details.risk_level, details.risk_reasons) == (RiskLevel.HIGH, ["repeated_petitions"])
        details = d.assess_dispute_risk(case.pk, actor=m.lawyer, people_involved=12, petitions=3,
                                        violence_threatened=True)
        assert details.risk_level == RiskLevel.MAJOR
        assert details.risk_reasons == ["many_people", "repeated_petitions", "violence"]
        details = d.assess_dispute_risk(case.pk, actor=m.lawyer, people_involved=2, assessed_risk="major")
        assert (details.risk_level, details.risk_reasons) == (RiskLevel.MAJOR, [])  # never lowered by the rule
        with pytest.raises(ActionError):
            d.assess_dispute_risk(case.pk, actor=m.lawyer, people_involved=0)


def test_reminders_for_follow_ups_and_follow_up_visits_due(tiny_city, mediation, client):
    city, m = tiny_city, mediation
    case = registered(city, m)
    with clock.at(MONDAY + dt.timedelta(hours=1)):
        d.assign_leader(case.pk, actor=city.t1_operator, leader="district_official")
        d.hold_session(case.pk, actor=m.lawyer, held_at=MONDAY, place="调解室", method="at_centre", result="agreed")
        d.record_agreement(case.pk, actor=m.lawyer, terms="赔偿", performance="on_the_spot", perform_by="2026-03-02")
        d.record_visit(case.pk, actor=city.g1_worker, kind="follow_up", next_due_on="2026-03-05")
    assert d.remind_disputes_due(dt.date(2026, 3, 4)) == 0
    with clock.at(MONDAY + dt.timedelta(days=9)):
        assert d.remind_disputes_due() == 1
        assert d.remind_disputes_due() == 0  # once per follow-up and visit
    # The handling clock's light goes to the dispute's mediators too (no department handles a dispute).
    from cases import jobs

    jobs.sweep_deadlines(now=MONDAY + dt.timedelta(days=9))
    light = case.events.filter(action=Action.LIGHT).last()
    assert light is not None and {"lawyer", "mediator"} <= {
        get_user_model().objects.get(pk=pk).username for pk in recipients(light)}
    event = case.events.get(action=Action.DISPUTE_REMINDER)
    assert event.payload == {"follow_ups": ["2026-03-09"], "visits": ["2026-03-05"]}
    notify(event.pk)
    told = set(Notification.objects.filter(event=event).values_list("recipient__username", flat=True))
    assert told == {"district_official", "lawyer", "mediator"}
    client.force_login(m.lawyer)  # the notice opens the dispute page, which the lawyer reaches
    html = client.get(reverse("cases:notifications")).content.decode()
    assert reverse("disputes:detail", args=[case.pk]) in html
    assert client.get(reverse("disputes:detail", args=[case.pk])).status_code == 200


def test_screening_coverage_and_the_resolution_rate_by_hand(tiny_city, mediation):
    city, m = tiny_city, mediation
    # Town One has grids, Town Two has B-1. A-1 found two disputes, A-2 sends a zero report,
    # B-1 sends nothing: Town One 2/2, Town Two 0/1.
    one = registered(city, m)
    two = registered(city, m, category=m.labour)
    registered(city, m, where=G3, reporter=city.g3_worker, operator=city.t2_operator, centre=m.town2_rc)
    with clock.at(MONDAY + dt.timedelta(days=1)):
        d.report_screening(actor=city.g1_worker, grid=city.g1, month=MONDAY.date(), found=[one.pk, two.pk])
        with pytest.raises(ActionError):
            d.report_screening(actor=city.g1_leader, grid=city.g2, month=MONDAY.date(), found=[one.pk])
        with pytest.raises(ActionError):
            d.report_screening(actor=city.t1_operator, grid=city.g2, month=MONDAY.date())
        with pytest.raises(NotFound):  # not their grid
            d.report_screening(actor=city.g3_worker, grid=city.g2, month=MONDAY.date(), zero=True)
        with pytest.raises(ActionError):  # not a month one may still report
            d.report_screening(actor=city.t1_operator, grid=city.g2, month=dt.date(2025, 12, 1), zero=True)
        d.report_screening(actor=city.t1_operator, grid=city.g2, month=MONDAY.date(), zero=True)
        # Resolve one of the three by mediation (neighbour, town level).
        d.hold_session(one.pk, actor=m.lawyer, held_at=MONDAY, place="调解室", method="at_centre", result="agreed")
        d.record_agreement(one.pk, actor=m.lawyer, terms="道歉", performance="on_the_spot", perform_by="2026-03-03")
    with clock.at(MONDAY + dt.timedelta(days=9)):
        d.record_follow_up(one.pk, actor=m.lawyer, held=True)
        d.mark_success(one.pk, actor=m.lawyer)
    coverage = {c.area.code: (c.grids, c.reported, c.zero) for c in screening_coverage(city.admin, MONDAY.date())}
    assert coverage == {"980101001": (2, 2, 1), "980101002": (1, 0, 0)}
    assert [(c.area.code, c.rate) for c in screening_coverage(city.t2_operator, MONDAY.date())] == [
        ("980101002", 0.0)]
    month = (MONDAY.replace(day=1), MONDAY.replace(month=4, day=1))
    rates = resolution_rates(city.admin, *month)
    assert [(r.key, r.accepted, r.resolved) for r in rates["by_type"]] == [("labour", 1, 0), ("neighbour", 2, 1)]
    assert [(r.key, r.accepted, r.resolved, r.rate) for r in rates["by_level"]] == [(str(Level.TOWN), 3, 1, 1 / 3)]
    assert rates["total"][0].rate == 1 / 3
    # Scoped: Town Two's operator sees only its own dispute.
    assert [(r.key, r.accepted, r.resolved) for r in resolution_rates(city.t2_operator, *month)["by_type"]] == [
        ("neighbour", 1, 0)]
    assert ScreeningReport.objects.count() == 2


def test_only_dispute_cases_become_disputes_and_the_table_says_who(tiny_city, mediation):
    city, m = tiny_city, mediation
    with clock.at(MONDAY):
        garbage, _ = actions.report_case(reporter=city.g1_worker, category=m.garbage, description="垃圾", **G1)
        garbage = actions.accept_case(garbage, actor=city.t1_operator)
        with pytest.raises(Conflict):
            d.open_dispute(garbage, actor=city.t1_operator, centre=m.town_rc.pk, source="hotline")
        dispute, _ = actions.report_case(reporter=city.g1_worker, category=m.neighbour, description="争执", **G1)
        with pytest.raises(Conflict):  # accepted first
            d.open_dispute(dispute, actor=city.t1_operator, centre=m.town_rc.pk, source="hotline")
        dispute = actions.accept_case(dispute, actor=city.t1_operator)
        with pytest.raises(NotFound):  # Town Two's centre does not serve grid A-1
            d.open_dispute(dispute, actor=city.t1_operator, centre=m.town2_rc.pk, source="hotline")
        with pytest.raises(Forbidden):
            d.open_dispute(dispute, actor=city.g1_worker, centre=m.town_rc.pk, source="hotline")
        dispute = d.open_dispute(dispute, actor=city.t1_operator, centre=m.town_rc.pk, source="hotline")
    page_rules = {rule.name for rule in pipeline.permitted_rules(city.t1_operator, Case.objects.get(pk=dispute.pk))}
    assert not page_rules & {rule.name for rule in pipeline.DISPUTE_RULES}  # the case page offers none of them
    assert "dispatch" not in page_rules
