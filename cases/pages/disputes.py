"""The dispute pages: the centre's board (by stage and risk), the dispute page with its parties (masked),
sessions, agreement, follow-ups, referrals and visits and the forms of the table's dispute rows, the
leader's "my disputes", and the grid worker's monthly screening form (a phone first).

Reads start from cases.dispute_selectors (outside scope → 404); a form is offered exactly when the
pipeline table permits its row; every POST calls one action of cases.actions.disputes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import access, dispute_forms, pipeline
from cases.actions import disputes as d
from cases.choices import Status
from cases.dispute_selectors import board, led_by, visible_dispute_details
from cases.disputes import (
    DISPUTE_FAMILY_CODE,
    DisputeDetails,
    DisputeParty,
    DisputeStage,
    DisputeVisit,
    RiskLevel,
    RiskReason,
    ScreeningReport,
)
from cases.models import Case
from cases.selectors import visible_cases
from govgrid import clock
from govgrid.errors import ActionError, NotFound
from grids.choices import Level
from grids.scope import visible_grids


@dataclass(frozen=True)
class DisputeAction:
    """A row of the dispute family as the page offers it: its form and how the action is called."""

    name: str
    form: type
    run: Callable  # (user, case, cleaned_data, form) -> object

    @property
    def rule(self) -> pipeline.Rule:
        return pipeline.RULES_BY_NAME[self.name]

    @property
    def label(self):
        return self.rule.label

    @property
    def style(self) -> str:
        return self.rule.style


def _pk(value):
    return value.pk if value is not None else None


F = dispute_forms
DISPUTE_ACTIONS = [
    DisputeAction("open_dispute", F.OpenDisputeForm, lambda u, c, v, f: d.open_dispute(
        c, actor=u, centre=_pk(v["centre"]), source=v["source"], dispute_type=v["dispute_type"], amount=v["amount"],
        people_involved=v["people_involved"], petitions=v["petitions"],
        violence_threatened=v["violence_threatened"], assessed_risk=v["assessed_risk"], note=v["note"])),
    DisputeAction("assess_risk", F.RiskForm, lambda u, c, v, f: d.assess_dispute_risk(
        c, actor=u, people_involved=v["people_involved"], petitions=v["petitions"],
        violence_threatened=v["violence_threatened"], assessed_risk=v["assessed_risk"], note=v["note"])),
    DisputeAction("add_party", F.PartyForm, lambda u, c, v, f: d.add_party(
        c, actor=u, role=v["role"], resident=v["resident"], organisation=v["organisation"])),
    DisputeAction("hold_session", F.SessionForm, lambda u, c, v, f: d.hold_session(
        c, actor=u, held_at=v["held_at"], place=v["place"], method=v["method"], result=v["result"],
        mediators=[m.username for m in v["mediators"]], attendance=v["attendance"], note=v["note"])),
    DisputeAction("record_agreement", F.AgreementForm, lambda u, c, v, f: d.record_agreement(
        c, actor=u, terms=v["terms"], performance=v["performance"], perform_by=v["perform_by"],
        signed_on=v["signed_on"], note=v["note"])),
    DisputeAction("request_confirmation", F.ConfirmationRequestForm, lambda u, c, v, f: d.request_confirmation(
        c, actor=u, court=v["court"], requested_on=v["requested_on"])),
    DisputeAction("grant_confirmation", F.ConfirmationGrantForm, lambda u, c, v, f: d.grant_confirmation(
        c, actor=u, granted_on=v["granted_on"])),
    DisputeAction("record_follow_up", F.FollowUpForm, lambda u, c, v, f: d.record_follow_up(
        c, actor=u, held=v["held"], note=v["note"])),
    DisputeAction("mark_success", F.NoteForm, lambda u, c, v, f: d.mark_success(c, actor=u, note=v["note"])),
    DisputeAction("mark_failure", F.ReasonForm, lambda u, c, v, f: d.mark_failure(c, actor=u, reason=v["reason"])),
    DisputeAction("refer_dispute", F.ReferForm, lambda u, c, v, f: d.refer_dispute(
        c, actor=u, target=v["target"], to_centre=_pk(v["to_centre"]), reason=v["reason"])),
    DisputeAction("referral_result", F.ResultForm, lambda u, c, v, f: d.record_referral_result(
        c, actor=u, result=v["result"])),
    DisputeAction("record_visit", F.VisitForm, lambda u, c, v, f: d.record_visit(
        c, actor=u, kind=v["kind"], note=v["note"], departments=f.departments(), next_due_on=v["next_due_on"])),
    DisputeAction("assign_leader", F.LeaderForm, lambda u, c, v, f: d.assign_leader(c, actor=u, leader=v["leader"])),
]
ACTIONS_BY_NAME = {action.name: action for action in DISPUTE_ACTIONS}
assert set(ACTIONS_BY_NAME) == {rule.name for rule in pipeline.DISPUTE_RULES}, "a form per dispute row"


def dispute_case(user, pk) -> Case:
    return access.access_dispute_case_by_id(user, pk)


def available(user, case: Case) -> list[DisputeAction]:
    return [ACTIONS_BY_NAME[rule.name] for rule in pipeline.DISPUTE_RULES if pipeline.permits(rule, user, case)]


def _case_or_404(user, pk) -> Case:
    try:
        return dispute_case(user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _dispute_context(case: Case) -> dict:
    details = (DisputeDetails.objects.filter(pk=case.pk).select_related("centre__area", "leader").first())
    reasons = dict(RiskReason.choices)
    return {
        "dispute": details,
        "risk_reasons": [reasons.get(r, r) for r in (details.risk_reasons if details else [])],
        "parties": DisputeParty.objects.filter(case=case).select_related("resident", "organisation"),
        "sessions": case.mediation_sessions.prefetch_related("mediators"),
        "agreement": getattr(case, "agreement", None),
        "follow_ups": case.dispute_follow_ups.all(),
        "referrals": case.dispute_referrals.select_related("from_centre", "to_centre"),
        "visits": DisputeVisit.objects.filter(case=case).select_related("visitor")
        .prefetch_related("departments__department"),
        "events": case.events.filter(action__in=[r.event for r in pipeline.RULES if r.family == "dispute"])
        .select_related("actor").order_by("at", "id"),
    }


@login_required
def dispute_page(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request.user, pk)
    forms = [(action, action.form(case=case, user=request.user, prefix=action.name))
             for action in available(request.user, case)]
    return render(request, "disputes/detail.html", {"case": case, "page_actions": forms,
                                                    **_dispute_context(case)})


@login_required
@require_POST
def dispute_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    case = _case_or_404(request.user, pk)
    action = ACTIONS_BY_NAME.get(name)
    if action is None:
        raise Http404(_("No such action."))
    form = action.form(request.POST, case=case, user=request.user, prefix=action.name)
    status = 400
    if form.is_valid():
        try:
            action.run(request.user, case, form.cleaned_data, form)
        except ActionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            status = exc.status_code
        else:
            messages.success(request, _("%(action)s: done.") % {"action": action.label})
            return redirect("disputes:detail", pk=case.pk)
    case = _case_or_404(request.user, pk)
    forms = [(a, form if a.name == name else a.form(case=case, user=request.user, prefix=a.name))
             for a in available(request.user, case)]
    if action.name not in [a.name for a, _f in forms]:
        forms.append((action, form))
    return render(request, "disputes/detail.html", {"case": case, "page_actions": forms, "open_action": name,
                                                    **_dispute_context(case)}, status=status)


STAGE_ORDER = [DisputeStage.MEDIATING, DisputeStage.AGREED, DisputeStage.FAILED, DisputeStage.REFERRED,
               DisputeStage.RESOLVED, DisputeStage.CONCLUDED]
RISK_ORDER = [RiskLevel.MAJOR, RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW]


@login_required
def dispute_board(request: HttpRequest) -> HttpResponse:
    """The centre's board: open disputes by stage and risk, the list (filtered by a cell), and the accepted
    dispute cases still waiting to be registered at a resolution centre."""
    figures = board(request.user)
    stage, risk = request.GET.get("stage", ""), request.GET.get("risk", "")
    rows = figures["disputes"]
    if stage in DisputeStage.values:
        rows = rows.filter(stage=stage)
    if risk in RiskLevel.values:
        rows = rows.filter(risk_level=risk)
    rows = rows.select_related("case__category", "case__grid", "centre", "leader").order_by("-opened_at")[:200]
    table = [{"stage": s, "cells": [(r, figures["counts"].get((s, r), 0)) for r in RISK_ORDER]}
             for s in STAGE_ORDER if any(figures["counts"].get((s, r)) for r in RISK_ORDER)]
    waiting = (visible_cases(request.user)
               .filter(status=Status.ACCEPTED, category__code__startswith=DISPUTE_FAMILY_CODE, dispute__isnull=True)
               .select_related("category", "grid").order_by("reported_at")[:50])
    return render(request, "disputes/board.html", {
        "table": table, "risks": RISK_ORDER, "rows": rows, "stage": stage, "risk": risk, "waiting": waiting,
        "stages": DisputeStage, "risk_levels": RiskLevel,
    })


@login_required
def my_disputes(request: HttpRequest) -> HttpResponse:
    """专诊: the disputes the user is the leader in charge of."""
    return render(request, "disputes/mine.html", {"rows": led_by(request.user)})


def _this_month() -> dt.date:
    return timezone.localdate(clock.now()).replace(day=1)


@login_required
def screening(request: HttpRequest) -> HttpResponse:
    """The grid worker's monthly screening report, on the phone: tick the disputes found, or send a zero
    report in one tap. A grid worker of several grids picks one (``?grid=code``)."""
    grids = list(visible_grids(request.user, act=True).filter(level=Level.GRID).order_by("code")[:50])
    grids = [g for g in grids if d.may_screen(request.user, g)]
    if not grids:
        raise Http404(_("No such grid."))
    code = request.POST.get("grid") or request.GET.get("grid") or grids[0].code
    grid = next((g for g in grids if g.code == code), None)
    if grid is None:
        raise Http404(_("No such grid."))
    month = _this_month()
    cases = d.screening_cases_for(request.user, grid)
    form = dispute_forms.ScreeningForm(request.POST or None, cases=cases)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            d.report_screening(actor=request.user, grid=grid, month=month, found=form.cleaned_data["found"],
                               zero="zero" in request.POST, note=form.cleaned_data["note"])
        except ActionError as exc:
            form.add_error("found" if exc.field == "found" else None, exc.message)
            status = exc.status_code
        else:
            messages.success(request, _("Screening report sent."))
            return redirect(f"{reverse('disputes:screening')}?grid={grid.code}")
    elif request.method == "POST":
        status = 400
    report = ScreeningReport.objects.filter(grid=grid, month=month).prefetch_related("found").first()
    return render(request, "disputes/screening.html", {
        "grids": grids, "grid": grid, "month": month, "form": form, "report": report, "cases": cases,
    }, status=status)


def _ledger_rows(user):
    return (visible_dispute_details(user).annotate(session_count=Count("case__mediation_sessions"))
            .select_related("case__category", "case__grid", "case__agreement", "centre__area", "leader")
            .prefetch_related(Prefetch("case__dispute_parties",
                                       queryset=DisputeParty.objects.select_related("resident", "organisation")))
            .order_by("-opened_at"))


@login_required
def ledger_xlsx(request: HttpRequest) -> HttpResponse:
    """矛盾纠纷台账: every dispute in scope, one row each (parties by name, numbers never), as XLSX."""
    from cases.dispute_exports import ledger_workbook

    content = ledger_workbook(_ledger_rows(request.user))
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="dispute-ledger-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


app_name = "disputes"
urlpatterns = [
    path("", dispute_board, name="index"),
    path("mine/", my_disputes, name="mine"),
    path("screening/", screening, name="screening"),
    path("ledger.xlsx", ledger_xlsx, name="ledger"),
    path("<int:pk>/", dispute_page, name="detail"),
    path("<int:pk>/do/<str:name>/", dispute_action, name="action"),
]
