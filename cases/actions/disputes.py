"""Disputes and mediation (矛盾纠纷排查化解): one function per business action, each a row of the
pipeline table's "dispute" family (cases.pipeline), each writing one event on the case timeline.

A dispute is an accepted case of the 矛盾纠纷 family. Registering it hands it to a resolution centre
(调处化解中心) and starts its handling clock; sessions, the agreement, judicial confirmation and the
follow-ups on performance are recorded on it; success is the centre's verification of the outcome
(→ verified) and the ordinary ``close`` row closes it; a failed mediation is referred to another
level's centre or out to litigation, arbitration or petition, whose result concludes it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, deadlines, pipeline
from cases.actions._base import CLOCK_FIELDS, action, lock, now, record, require_text, save
from cases.actions.clocks import start_stage
from cases.choices import Action, Stage, Status
from cases.disputes import (
    MEDIATING_STAGES,
    TYPE_BY_CATEGORY,
    Agreement,
    DisputeDetails,
    DisputeParty,
    DisputeSource,
    DisputeStage,
    DisputeType,
    DisputeVisit,
    FollowUp,
    MediationSession,
    PartyRole,
    PerformanceMode,
    Referral,
    ReferralTarget,
    RiskLevel,
    ScreeningReport,
    SessionMethod,
    SessionResult,
    VisitDepartment,
    VisitKind,
    assess_risk,
)
from cases.models import Case
from govgrid.errors import ActionError, Conflict, NotFound
from grids.choices import CENTRE_ROLES, GRID_ROLES, Level
from grids.scope import scope_for


def _reach(actor, case: Case | int, rule: str) -> Case:
    """Scope (as a dispute: mediators and leaders reach theirs), lock, and the table's check."""
    pk = case.pk if isinstance(case, Case) else case
    if actor is not None:
        access.access_dispute_case_by_id(actor, pk)
    locked = lock(pk)
    pipeline.check(rule, actor, locked)
    return locked


def _choice(value, choices, field: str, message: str) -> str:
    if value not in choices.values:
        raise ActionError(message, field=field, code="invalid_choice")
    return value


def _count(value, field: str, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ActionError(_("Give a whole number."), field=field) from None
    if not minimum <= number <= maximum:
        raise ActionError(_("Give a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum},
                          field=field)
    return number


def _amount(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ActionError(_("The amount must be a number."), field="amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise ActionError(_("Give an amount of zero or more yuan."), field="amount")
    return amount.quantize(Decimal("0.01"))


def _date(value, field: str, *, required: bool = True) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise ActionError(_("Give a date."), field=field, code="required")
        return None
    if isinstance(value, dt.datetime):
        return timezone.localdate(value)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ActionError(_("Give a date as YYYY-MM-DD."), field=field) from None


def _today() -> dt.date:
    return timezone.localdate(now())


def _apply_risk(details: DisputeDetails) -> None:
    details.risk_level, details.risk_reasons = assess_risk(details)


# --- registering and assessing -------------------------------------------------------------------


@action
def open_dispute(case: Case | int, *, actor, centre, source: str, dispute_type: str = "", amount=None,
                 people_involved=2, petitions=0, violence_threatened: bool = False,
                 assessed_risk: str = RiskLevel.LOW, note: str = "") -> Case:
    """受理登记: an accepted case of the dispute family goes to a resolution centre; its acceptance clock
    stops and its handling clock starts on the category's time limit. The risk rule raises the level."""
    case = _reach(actor, case, "open_dispute")
    if centre is None:
        raise ActionError(_("Choose the resolution centre."), field="centre", code="required")
    centre = access.access_resolution_centre(actor, case, centre)
    dispute_type = dispute_type or TYPE_BY_CATEGORY.get(case.category.code, DisputeType.OTHER)
    _choice(dispute_type, DisputeType, "dispute_type", _("Choose the dispute type."))
    _choice(source, DisputeSource, "source", _("Choose where the dispute came from."))
    _choice(assessed_risk, RiskLevel, "assessed_risk", _("Choose a risk level."))
    at = now()
    details = DisputeDetails(
        case=case, centre=centre, dispute_type=dispute_type, source=source, amount=_amount(amount),
        people_involved=_count(people_involved, "people_involved", minimum=1),
        petitions=_count(petitions, "petitions", maximum=1000), violence_threatened=bool(violence_threatened),
        assessed_risk=assessed_risk, opened_at=at,
    )
    _apply_risk(details)
    details.save()
    limit = deadlines.category_limit(case.category)
    case.status, case.handle_due_at = Status.IN_PROGRESS, limit.due_from(at)
    start_stage(case, Stage.HANDLE, start=at, due=case.handle_due_at, natural=limit.natural, at=at)
    save(case, "status", "handle_due_at", *CLOCK_FIELDS)
    record(case, Action.OPEN_DISPUTE, actor, from_status=Status.ACCEPTED, to_status=Status.IN_PROGRESS, note=note,
           payload={"centre": centre.pk, "dispute_type": dispute_type, "source": source,
                    "risk_level": details.risk_level, "risk_reasons": details.risk_reasons,
                    "due_at": case.handle_due_at.isoformat()})
    return case


@action
def assess_dispute_risk(case: Case | int, *, actor, people_involved, petitions=0, violence_threatened=False,
                        assessed_risk: str = RiskLevel.LOW, note: str = "") -> DisputeDetails:
    """Record what the risk turns on (people involved, petitions, violence threatened, the assessment);
    the risk rule (cases.disputes.assess_risk) sets the level and says why it was raised."""
    case = _reach(actor, case, "assess_risk")
    details = case.dispute
    _choice(assessed_risk, RiskLevel, "assessed_risk", _("Choose a risk level."))
    before = details.risk_level
    details.people_involved = _count(people_involved, "people_involved", minimum=1)
    details.petitions = _count(petitions, "petitions", maximum=1000)
    details.violence_threatened = bool(violence_threatened)
    details.assessed_risk = assessed_risk
    _apply_risk(details)
    details.save()
    record(case, Action.ASSESS_RISK, actor, from_status=case.status, note=note,
           payload={"from": before, "risk_level": details.risk_level, "risk_reasons": details.risk_reasons,
                    "people_involved": details.people_involved, "petitions": details.petitions,
                    "violence_threatened": details.violence_threatened})
    return details


@action
def add_party(case: Case | int, *, actor, role: str, resident=None, organisation=None) -> DisputeParty:
    """当事人: a resident or an organisation of the parties register, found in the actor's scope."""
    from parties.access import access_organisation_by_id, access_resident_by_id

    case = _reach(actor, case, "add_party")
    _choice(role, PartyRole, "role", _("Choose applicant, respondent or other."))
    if (resident in (None, "")) == (organisation in (None, "")):
        raise ActionError(_("Name either a resident or an organisation."), field="resident", code="required")
    query = Q(case=case)
    if resident not in (None, ""):
        found = access_resident_by_id(actor, resident, field="resident") if actor else resident
        party = DisputeParty(case=case, resident=found, role=role)
        query &= Q(resident=found)
    else:
        found = access_organisation_by_id(actor, organisation, field="organisation") if actor else organisation
        party = DisputeParty(case=case, organisation=found, role=role)
        query &= Q(organisation=found)
    if DisputeParty.objects.filter(query).exists():
        raise Conflict(_("This party is already on the dispute."), code="duplicate")
    party.save()
    record(case, Action.ADD_PARTY, actor, from_status=case.status,
           payload={"party": party.pk, "role": role, "resident": party.resident_id,
                    "organisation": party.organisation_id})
    return party


# --- mediation -----------------------------------------------------------------------------------


@action
def hold_session(case: Case | int, *, actor, held_at: dt.datetime, place: str, method: str, result: str,
                 mediators: Sequence = (), attendance: str = "", note: str = "") -> MediationSession:
    """调解: a sitting with the parties; its mediators are the centre's (the recording mediator when
    none is named)."""
    case = _reach(actor, case, "hold_session")
    details = case.dispute
    place = require_text(place, "place", _("Say where the session was held."))
    _choice(method, SessionMethod, "method", _("Choose how the session was held."))
    _choice(result, SessionResult, "result", _("Choose the session's result."))
    if not isinstance(held_at, dt.datetime) or held_at.tzinfo is None:
        raise ActionError(_("Give the date and time of the session."), field="held_at", code="required")
    if held_at > now():
        raise ActionError(_("A session cannot be recorded before it is held."), field="held_at")
    chosen = []
    for mediator in mediators or ():
        user = mediator if hasattr(mediator, "pk") and not isinstance(mediator, str) else None
        username = user.get_username() if user is not None else mediator
        found = access.access_mediator(actor, details.centre, username)
        if found not in chosen:
            chosen.append(found)
    if not chosen:
        if actor is not None and access.mediators_for(details.centre).filter(pk=actor.pk).exists():
            chosen = [actor]
        else:
            raise ActionError(_("Name the mediators of the session."), field="mediators", code="required")
    session = MediationSession.objects.create(
        case=case, held_at=held_at, place=place, method=method, result=result, attendance=attendance.strip(),
        note=note.strip(), recorded_by=actor,
    )
    session.mediators.set(chosen)
    if details.stage == DisputeStage.FAILED:  # mediation resumed after a failed attempt
        details.stage = DisputeStage.MEDIATING
        details.save(update_fields=["stage"])
    record(case, Action.HOLD_SESSION, actor, from_status=case.status, note=note,
           payload={"session": session.pk, "result": result, "method": method,
                    "mediators": [m.pk for m in chosen], "number": case.mediation_sessions.count()})
    return session


def follow_up_dates(signed_on: dt.date, perform_by: dt.date, mode: str) -> list[dt.date]:
    """回访 at set intervals (DISPUTE_FOLLOW_UP_DAYS after signing, default 7 and 30 days) while the
    agreement is being performed, and once after the date it is to be performed by."""
    days = getattr(settings, "DISPUTE_FOLLOW_UP_DAYS", (7, 30))
    if mode == PerformanceMode.ON_THE_SPOT:
        return [signed_on + dt.timedelta(days=days[0])]
    dates = {signed_on + dt.timedelta(days=d) for d in days if signed_on + dt.timedelta(days=d) < perform_by}
    dates.add(perform_by + dt.timedelta(days=1))
    return sorted(dates)


@action
def record_agreement(case: Case | int, *, actor, terms: str, performance: str, perform_by, signed_on=None,
                     note: str = "") -> Agreement:
    """调解协议: its terms, how and by when they are performed; the follow-ups are scheduled from it."""
    case = _reach(actor, case, "record_agreement")
    terms = require_text(terms, "terms", _("Write down the terms agreed."))
    _choice(performance, PerformanceMode, "performance", _("Choose how the agreement is performed."))
    signed_on = _date(signed_on, "signed_on", required=False) or _today()
    perform_by = _date(perform_by, "perform_by")
    if signed_on > _today():
        raise ActionError(_("The agreement cannot be signed in the future."), field="signed_on")
    if not signed_on <= perform_by <= signed_on + dt.timedelta(days=3660):
        raise ActionError(_("The agreement is performed on or after the day it is signed, within ten years."),
                          field="perform_by")
    agreement = Agreement.objects.create(case=case, terms=terms, performance=performance, perform_by=perform_by,
                                         signed_on=signed_on)
    dues = follow_up_dates(signed_on, perform_by, performance)
    FollowUp.objects.bulk_create([FollowUp(case=case, due_on=due) for due in dues])
    details = case.dispute
    details.stage = DisputeStage.AGREED
    details.save(update_fields=["stage"])
    record(case, Action.RECORD_AGREEMENT, actor, from_status=case.status, note=note,
           payload={"performance": performance, "perform_by": perform_by.isoformat(),
                    "follow_ups": [d.isoformat() for d in dues]})
    return agreement


@action
def request_confirmation(case: Case | int, *, actor, court: str, requested_on=None, note: str = "") -> Agreement:
    """申请司法确认: the parties ask a court to confirm the agreement (it then binds like a judgment)."""
    case = _reach(actor, case, "request_confirmation")
    agreement = case.agreement
    agreement.court = require_text(court, "court", _("Name the court asked to confirm the agreement."))[:100]
    agreement.confirmation_requested_on = _date(requested_on, "requested_on", required=False) or _today()
    if agreement.confirmation_requested_on < agreement.signed_on:
        raise ActionError(_("Confirmation is requested after the agreement is signed."), field="requested_on")
    agreement.save(update_fields=["court", "confirmation_requested_on"])
    record(case, Action.REQUEST_CONFIRMATION, actor, from_status=case.status, note=note,
           payload={"court": agreement.court, "requested_on": agreement.confirmation_requested_on.isoformat()})
    return agreement


@action
def grant_confirmation(case: Case | int, *, actor, granted_on, note: str = "") -> Agreement:
    """司法确认: the court confirmed the agreement on this day."""
    case = _reach(actor, case, "grant_confirmation")
    agreement = case.agreement
    granted_on = _date(granted_on, "granted_on")
    if granted_on < agreement.confirmation_requested_on or granted_on > _today():
        raise ActionError(_("Give a day between the request and today."), field="granted_on")
    agreement.confirmation_granted_on = granted_on
    agreement.save(update_fields=["confirmation_granted_on"])
    record(case, Action.GRANT_CONFIRMATION, actor, from_status=case.status, note=note,
           payload={"granted_on": granted_on.isoformat()})
    return agreement


@action
def record_follow_up(case: Case | int, *, actor, held: bool, note: str = "") -> FollowUp:
    """回访: the next follow-up due: is the agreement being performed (held)? When it is not, the dispute
    goes back to mediation (a new session, or a referral)."""
    case = _reach(actor, case, "record_follow_up")
    if not isinstance(held, bool):
        raise ActionError(_("Say whether the agreement is being kept."), field="held", code="required")
    if not held:
        note = require_text(note, "note", _("Say how the agreement is not being kept."))
    follow_up = (FollowUp.objects.select_for_update().filter(case=case, done_at__isnull=True)
                 .order_by("due_on", "id").first())
    follow_up.done_at, follow_up.done_by, follow_up.held, follow_up.note = now(), actor, held, note
    follow_up.save(update_fields=["done_at", "done_by", "held", "note"])
    if not held:
        details = case.dispute
        details.stage = DisputeStage.MEDIATING
        details.save(update_fields=["stage"])
    record(case, Action.RECORD_FOLLOW_UP, actor, from_status=case.status, note=note,
           payload={"follow_up": follow_up.pk, "due_on": follow_up.due_on.isoformat(), "held": held})
    return follow_up


@action
def mark_success(case: Case | int, *, actor, note: str = "") -> Case:
    """调解成功: the agreement was reached and its follow-ups are done; the centre's word on the outcome is
    the case's verification (→ verified), and the case is closed by the ordinary close row."""
    case = _reach(actor, case, "mark_success")
    at = now()
    details = case.dispute
    details.stage, details.resolved_at, details.concluded_at = DisputeStage.RESOLVED, at, at
    details.save(update_fields=["stage", "resolved_at", "concluded_at"])
    deadlines.stop_clock(case)
    case.status, case.handled_at, case.verified_at = Status.VERIFIED, at, at
    save(case, "status", "handled_at", "verified_at", *CLOCK_FIELDS)
    record(case, Action.MARK_SUCCESS, actor, from_status=Status.IN_PROGRESS, to_status=Status.VERIFIED, note=note,
           payload={"sessions": case.mediation_sessions.count()})
    return case


@action
def mark_failure(case: Case | int, *, actor, reason: str) -> DisputeDetails:
    """调解不成: no agreement (or one not kept); the dispute is then mediated again or referred."""
    case = _reach(actor, case, "mark_failure")
    reason = require_text(reason, "reason", _("Say why the mediation failed."))
    details = case.dispute
    if details.stage == DisputeStage.FAILED:
        raise Conflict(_("The mediation is already recorded as failed."), code="already_failed")
    details.stage = DisputeStage.FAILED
    details.save(update_fields=["stage"])
    record(case, Action.MARK_FAILURE, actor, from_status=case.status, note=reason)
    return details


@action
def refer_dispute(case: Case | int, *, actor, target: str, reason: str, to_centre=None) -> Referral:
    """移交: to another level's resolution centre (it mediates from now on), or out to litigation,
    arbitration or petition (every clock stops until the outside channel's result is recorded)."""
    case = _reach(actor, case, "refer_dispute")
    _choice(target, ReferralTarget, "target", _("Choose where the dispute is referred to."))
    reason = require_text(reason, "reason", _("Say why the dispute is referred."))
    details = case.dispute
    centre = None
    if target == ReferralTarget.CENTRE:
        if to_centre in (None, ""):
            raise ActionError(_("Choose the centre to refer the dispute to."), field="to_centre", code="required")
        centre = access.access_resolution_centre(actor, case, to_centre, field="to_centre")
        if centre.pk == details.centre_id:
            raise ActionError(_("The dispute is already at this centre."), field="to_centre")
    at = now()
    referral = Referral.objects.create(case=case, target=target, from_centre_id=details.centre_id, to_centre=centre,
                                       reason=reason, referred_at=at, referred_by=actor)
    if centre is not None:
        details.centre, details.stage = centre, DisputeStage.MEDIATING
        details.save(update_fields=["centre", "stage"])
    else:
        details.stage = DisputeStage.REFERRED
        details.save(update_fields=["stage"])
        deadlines.stop_clock(case)
        save(case, *CLOCK_FIELDS)
    record(case, Action.REFER_DISPUTE, actor, from_status=case.status, note=reason,
           payload={"referral": referral.pk, "target": target, "to_centre": centre.pk if centre else None,
                    "from_centre": referral.from_centre_id})
    return referral


@action
def record_referral_result(case: Case | int, *, actor, result: str) -> Case:
    """The outside channel's result (a judgment, an award, a petition reply) concludes the dispute."""
    case = _reach(actor, case, "referral_result")
    result = require_text(result, "result", _("Write down the result."))
    referral = (Referral.objects.select_for_update().filter(case=case, result_at__isnull=True)
                .exclude(target=ReferralTarget.CENTRE).order_by("-referred_at", "-id").first())
    if referral is None:
        raise Conflict(_("The dispute is not waiting for an outside channel's result."), code="referred_outside")
    at = now()
    referral.result, referral.result_at = result, at
    referral.save(update_fields=["result", "result_at"])
    details = case.dispute
    details.stage, details.concluded_at = DisputeStage.CONCLUDED, at
    details.save(update_fields=["stage", "concluded_at"])
    case.status, case.handled_at, case.verified_at = Status.VERIFIED, at, at
    save(case, "status", "handled_at", "verified_at")
    record(case, Action.REFERRAL_RESULT, actor, from_status=Status.IN_PROGRESS, to_status=Status.VERIFIED,
           note=result, payload={"referral": referral.pk, "target": referral.target})
    return case


# --- visits and the leader in charge --------------------------------------------------------------


@action
def record_visit(case: Case | int, *, actor, kind: str, note: str = "", visited_at: dt.datetime | None = None,
                 departments: Iterable[tuple] = (), next_due_on=None) -> DisputeVisit:
    """五诊: 巡诊 and 问诊 by the grid, 会诊 by several departments each with its part, 专诊 by the leader in
    charge, 复诊 of a legacy issue with the date the next one is due (a beat reminder then)."""
    case = _reach(actor, case, "record_visit")
    details = case.dispute
    _choice(kind, VisitKind, "kind", _("Choose the kind of visit."))
    visited_at = visited_at or now()
    if visited_at > now():
        raise ActionError(_("A visit cannot be recorded before it happens."), field="visited_at")
    parts = []
    for department, part in departments or ():
        found = access.access_joint_department(actor, case, department)
        part = require_text(part, "departments", _("Say what part each department takes."))
        if any(found.pk == d.pk for d, _p in parts):
            raise ActionError(_("A department is named twice."), field="departments")
        parts.append((found, part[:200]))
    if kind == VisitKind.JOINT and len(parts) < 2:
        raise ActionError(_("A joint consultation names at least two departments, each with its part."),
                          field="departments", code="required")
    if kind != VisitKind.JOINT and parts:
        raise ActionError(_("Only a joint consultation names departments."), field="departments")
    if kind == VisitKind.LEADER and (actor is None or details.leader_id != actor.pk):
        raise ActionError(_("A leader's visit is recorded by the dispute's leader in charge."), field="kind")
    next_due = _date(next_due_on, "next_due_on", required=False)
    if next_due is not None and (kind != VisitKind.FOLLOW_UP or not _today() < next_due
                                 <= _today() + dt.timedelta(days=3660)):
        raise ActionError(_("Only a follow-up visit sets when the next is due, after today."), field="next_due_on")
    if kind == VisitKind.FOLLOW_UP:  # the new schedule replaces the one before
        DisputeVisit.objects.filter(case=case, next_due_on__isnull=False).update(next_due_on=None)
    visit = DisputeVisit.objects.create(case=case, kind=kind, visited_at=visited_at, visitor=actor, note=note.strip(),
                                        next_due_on=next_due)
    VisitDepartment.objects.bulk_create([VisitDepartment(visit=visit, department=d, part=p) for d, p in parts])
    record(case, Action.RECORD_VISIT, actor, from_status=case.status, note=note,
           payload={"visit": visit.pk, "kind": kind, "departments": [d.pk for d, _p in parts],
                    "next_due_on": next_due.isoformat() if next_due else None})
    return visit


@action
def assign_leader(case: Case | int, *, actor, leader) -> DisputeDetails:
    """专诊 (包保领导): a named official or centre lead owns the dispute; it is on their list from now."""
    case = _reach(actor, case, "assign_leader")
    if leader in (None, ""):
        raise ActionError(_("Choose the leader in charge."), field="leader", code="required")
    username = leader.get_username() if hasattr(leader, "get_username") else leader
    leader = access.access_leader(actor, case, username)
    details = case.dispute
    previous = details.leader_id
    details.leader = leader
    details.save(update_fields=["leader"])
    record(case, Action.ASSIGN_LEADER, actor, from_status=case.status,
           payload={"leader": leader.pk, "previous": previous})
    return details


# --- reminders (beat) ------------------------------------------------------------------------------


@action
def remind_disputes_due(today: dt.date | None = None) -> int:
    """The daily reminder (beat): each dispute with a follow-up on its agreement or a 复诊 visit due by
    today gets one reminder event, which tells its leader and its centre's mediators (in-app). Each
    follow-up and visit is reminded of once (``reminded_on``), so a second run the same day adds nothing."""
    today = today or _today()
    follow_ups = list(FollowUp.objects.select_for_update(skip_locked=True)
                      .filter(done_at__isnull=True, due_on__lte=today, reminded_on__isnull=True))
    visits = list(DisputeVisit.objects.select_for_update(skip_locked=True)
                  .filter(next_due_on__lte=today, reminded_on__isnull=True))
    due = defaultdict(lambda: {"follow_ups": [], "visits": []})
    for follow_up in follow_ups:
        due[follow_up.case_id]["follow_ups"].append(follow_up)
    for visit in visits:
        due[visit.case_id]["visits"].append(visit)
    reminded = 0
    for case_id, items in sorted(due.items()):
        case = lock(case_id)
        if not pipeline.permits("dispute_reminder", None, case):
            continue
        record(case, Action.DISPUTE_REMINDER, None, from_status=case.status,
               payload={"follow_ups": [f.due_on.isoformat() for f in items["follow_ups"]],
                        "visits": [v.next_due_on.isoformat() for v in items["visits"]]})
        FollowUp.objects.filter(pk__in=[f.pk for f in items["follow_ups"]]).update(reminded_on=today)
        DisputeVisit.objects.filter(pk__in=[v.pk for v in items["visits"]]).update(reminded_on=today)
        reminded += 1
    return reminded


# --- monthly screening -----------------------------------------------------------------------------


def screening_cases_for(user, grid) -> list[Case]:
    """The dispute-family cases of the grid the user may list on its screening report (its cases of
    this month and the one before, newest first)."""
    from cases.disputes import DISPUTE_FAMILY_CODE
    from cases.selectors import visible_cases

    since = now() - dt.timedelta(days=62)
    return list(visible_cases(user).filter(grid=grid, category__code__startswith=DISPUTE_FAMILY_CODE,
                                           reported_at__gte=since).select_related("category")
                .order_by("-reported_at")[:50])


def may_screen(user, grid) -> bool:
    """A grid's screening is reported by its grid workers and leaders, or centre staff over it."""
    scope = scope_for(user)
    if scope.is_admin:
        return True
    return bool(scope.roles.intersection((*GRID_ROLES, *CENTRE_ROLES))) and scope.covers_area(grid, act=True)


@action
def report_screening(*, actor, grid, month: dt.date, found: Sequence = (), zero: bool = False,
                     note: str = "") -> ScreeningReport:
    """排查报告: the grid's screening of this month (or the last): the disputes found, or a zero report
    (零报告). Reporting again in the same month replaces the grid's report (it found one more)."""
    from grids.models import Area

    if grid is None or not isinstance(grid, Area) or grid.level != Level.GRID or not may_screen(actor, grid):
        raise NotFound(_("No such grid."), field="grid")
    month = _date(month, "month").replace(day=1)
    this_month = _today().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    if month not in (this_month, last_month):
        raise ActionError(_("Report this month's screening or last month's."), field="month")
    allowed = {case.pk: case for case in screening_cases_for(actor, grid)}
    chosen = []
    for value in found or ():
        pk = access._pk(value)
        if pk not in allowed:
            raise NotFound(_("No such dispute of this grid."), field="found")
        if allowed[pk] not in chosen:
            chosen.append(allowed[pk])
    if zero and chosen:
        raise ActionError(_("A zero report lists no disputes."), field="found")
    if not zero and not chosen:
        raise ActionError(_("List the disputes found, or send a zero report."), field="found", code="required")
    report, _created = ScreeningReport.objects.select_for_update().get_or_create(
        grid=grid, month=month,
        defaults={"area_path": grid.path, "reported_by": actor, "reported_at": now(), "is_zero": zero},
    )
    report.is_zero, report.note, report.reported_by, report.reported_at = zero, note.strip(), actor, now()
    report.save()
    report.found.set(chosen)
    return report


__all__ = [
    "MEDIATING_STAGES", "add_party", "assess_dispute_risk", "assign_leader", "follow_up_dates", "grant_confirmation",
    "hold_session", "mark_failure", "mark_success", "open_dispute", "record_agreement", "record_follow_up",
    "record_referral_result", "record_visit", "refer_dispute", "remind_disputes_due", "report_screening",
    "request_confirmation",
]
