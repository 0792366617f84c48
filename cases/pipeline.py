"""The pipeline table: who may take which action on which case in which state, and what it does.

This module is the one place that states the rules of DESIGN.md §5 (the other is the access module,
``cases.access``, which decides which objects a user may reach at all). Each :class:`Rule` says, for
one action:

- ``statuses``: the case statuses it is allowed from, ``dispatch_statuses``: for a department's action,
  the states its dispatch must be in;
- ``who``: the kinds of actor that may take it, each a scope test (:data:`ACTORS`): the staff of the
  centre that owns the case, an official over its area, a handler of the dispatched department, the
  assigned verifier, a reporter who may report at that place, the system (sweeps and tasks);
- ``to``: the status it moves to (``None``: it stays; ``"*"``: it depends, see the action);
- ``clocks``: its effect on each stage clock (start, stop, pause, resume, restart) and the unit that
  applies (:data:`STAGE_UNITS`);
- ``requires``: the inputs it needs (a reason, photos, a master case, a verifier …) and ``guards``:
  the further conditions on the case (:data:`GUARDS`), each with the refusal people read;
- ``counts``: the counters it adds one to on its day, whatever its outcome (reports.counters reads
  them; what depends on the outcome — a passed or failed verification, an approved extension, the
  case becoming handled, the deadline cohort — reports derives from the event), and ``notify``: who
  is told (cases.notifications reads them).

The actions (``cases.actions``) call :func:`check` before they change anything; the pages offer a
button exactly when :func:`permits` says yes; the API's action endpoints, their OpenAPI texts, the
counters and the notification routing all read the same rows. ``cases/tests/test_pipeline_table.py``
walks the table for every role and status and proves pages, API and actions agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.choices import (
    ACTIVE_DISPATCH_STATUSES,
    OPEN_STATUSES,
    Action,
    Channel,
    ClosureKind,
    DispatchStatus,
    ExtensionStatus,
    Satisfaction,
    Stage,
    Status,
)
from govgrid.errors import Conflict, Forbidden
from grids.choices import CENTRE_ROLES, GRID_ROLES, Role, WorkerKind
from grids.models import Centre
from grids.scope import Scope, scope_for

CITIZEN_CHANNELS = (Channel.CITIZEN, Channel.OPEN311, Channel.HOTLINE)


class Actor(StrEnum):
    """The kinds of actor a rule admits; :data:`ACTORS` says who is which for a given case."""

    CENTRE = "centre"  # staff of a centre whose subtree holds the owning centre
    OFFICIAL = "official"  # an official over the case's area (read and supervise)
    HANDLER = "handler"  # a handler of the department a dispatch of the case went to
    VERIFIER = "verifier"  # the verifier assigned to the case
    REPORTER = "reporter"  # the case's own reporter
    SYSTEM = "system"  # sweeps and tasks (actor None)
    MEDIATOR = "mediator"  # a mediator of the resolution centre mediating the dispute
    LEADER = "leader"  # the dispute's leader in charge (专诊, 包保领导)
    GRID = "grid"  # a grid worker or leader of the case's grid


class Clock(StrEnum):
    START = "start"
    STOP = "stop"
    PAUSE = "pause"  # all clocks (suspend)
    RESUME = "resume"  # all clocks, each in its own unit
    RESTART = "restart"  # a fresh limit from now (rework) or from the old deadline (extension)
    MOVE = "move"  # the deadline moves (extension approved), the clock keeps running
    REPLAN = "replan"  # emergency mode changed: what is left of the stage, under the new rules


# The unit each stage's clock runs in: the stage's configured limit (settings CASE_STAGE_LIMITS), or
# for handling the dispatch's own limit (the category's unless the centre set another).
STAGE_UNITS = {
    Stage.ACCEPT: "stage limit", Stage.SIGN: "stage limit", Stage.HANDLE: "the lead dispatch's limit",
    Stage.VERIFY: "stage limit",
}


@dataclass(frozen=True)
class Rule:
    name: str  # the action's name: the API path and the page's action
    label: Promise
    event: str  # the Action written to the timeline
    statuses: tuple[str, ...]
    who: tuple[Actor, ...]
    to: str | None = None
    dispatch_statuses: tuple[str, ...] = ()
    clocks: dict[str, Clock] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    running: bool = False  # refused while the case is suspended
    counts: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    style: str = ""  # how the page shows its button: primary, danger or plain
    system: bool = False  # a system job, not offered on a page or the API
    family: str = ""  # "dispute": a row of the dispute pages and API (cases.disputes), not the case page's

    @property
    def on_dispatch(self) -> bool:
        return bool(self.dispatch_statuses)

    def describe(self) -> str:
        """The rule in words, for the OpenAPI description of its endpoint (developers read it: English)."""
        parts = [f"Allowed from: {', '.join(self.statuses) or 'a new report'}.",
                 f"Who: {', '.join(ACTOR_LABELS[a] for a in self.who)}."]
        if self.dispatch_statuses:
            parts.append(f"Their dispatch must be: {', '.join(self.dispatch_statuses)}.")
        if self.to and self.to != "*":
            parts.append(f"Moves to: {self.to}.")
        if self.requires:
            parts.append(f"Requires: {', '.join(self.requires)}.")
        if self.guards:
            parts.append(f"Only when: {', '.join(self.guards)}.")
        if self.running:
            parts.append("Not while the case is suspended.")
        if self.clocks:
            effects = ", ".join(f"{stage or 'every'} clock: {effect}" for stage, effect in self.clocks.items())
            parts.append(f"Clocks: {effects}.")
        return " ".join(parts)


ACTOR_LABELS = {
    Actor.CENTRE: "centre staff of the owning centre (or above)", Actor.OFFICIAL: "an official over the area",
    Actor.HANDLER: "a handler of the dispatched department", Actor.VERIFIER: "the assigned verifier",
    Actor.REPORTER: "the reporter", Actor.SYSTEM: "the system",
    Actor.MEDIATOR: "a mediator of the dispute's resolution centre", Actor.LEADER: "the dispute's leader in charge",
    Actor.GRID: "a grid worker of the case's grid",
}

OPEN = tuple(OPEN_STATUSES)
ALL = "*"  # a clock effect on every stage


RULES: tuple[Rule, ...] = (
    # --- intake (who may report where is the REPORT_RULE below, not an actor of a case) ---------
    Rule("report", gettext_lazy("Report"), Action.REPORT, (), (Actor.REPORTER,), to=Status.REPORTED,
         clocks={Stage.ACCEPT: Clock.START}, requires=("category", "location", "description"),
         counts=("reported",), notify=("centre",), system=True),
    Rule("self_resolve", gettext_lazy("Resolve on the spot"), Action.SELF_RESOLVE, (), (Actor.REPORTER,),
         to=Status.CLOSED, requires=("category", "location", "description", "resolution_note", "after_photos"),
         counts=("reported", "self_resolved"), system=True),
    Rule("file", gettext_lazy("File as report-only"), Action.FILE, (), (Actor.REPORTER,), to=Status.FILED,
         requires=("category", "location", "description"), counts=("reported", "filed"), system=True),
    # A hotline call answered on the phone (12345 咨询件): kept and counted with the report-only records,
    # never in completion rates; its closure kind says it was answered.
    Rule("answer", gettext_lazy("Answer at once"), Action.ANSWER, (), (Actor.REPORTER,), to=Status.FILED,
         requires=("category", "location", "description", "resolution_note"), counts=("reported", "filed"),
         system=True),
    Rule("triage", gettext_lazy("Triage"), Action.TRIAGE, (Status.REPORTED, Status.ACCEPTED), (Actor.SYSTEM,),
         system=True),
    # --- the centre ---------------------------------------------------------------------------
    Rule("accept", gettext_lazy("Accept"), Action.ACCEPT, (Status.REPORTED,), (Actor.CENTRE,), to=Status.ACCEPTED,
         counts=("accepted",), style="primary"),
    Rule("reject", gettext_lazy("Do not accept"), Action.REJECT, (Status.REPORTED,), (Actor.CENTRE,),
         to=Status.REJECTED, clocks={ALL: Clock.STOP}, requires=("reason",), counts=("rejected",),
         notify=("reporter",), style="danger"),
    Rule("merge", gettext_lazy("Merge as duplicate"), Action.MERGE, (Status.REPORTED,), (Actor.CENTRE,),
         to=Status.MERGED, clocks={ALL: Clock.STOP}, requires=("master",), counts=("merged",),
         notify=("reporter",)),
    Rule("dispatch", gettext_lazy("Dispatch"), Action.DISPATCH, (Status.ACCEPTED,), (Actor.CENTRE,),
         to=Status.DISPATCHED, clocks={Stage.ACCEPT: Clock.STOP, Stage.SIGN: Clock.START}, requires=("lead",),
         running=True, counts=("dispatched_cases",), notify=("dispatched",), style="primary"),
    # --- departments (on their own dispatch) --------------------------------------------------
    Rule("sign", gettext_lazy("Sign for it"), Action.SIGN, (Status.DISPATCHED, Status.IN_PROGRESS),
         (Actor.HANDLER,), to="*", dispatch_statuses=(DispatchStatus.DISPATCHED,),
         clocks={Stage.SIGN: Clock.STOP, Stage.HANDLE: Clock.START}, style="primary"),
    Rule("feedback", gettext_lazy("Feed back handling"), Action.FEEDBACK, (Status.DISPATCHED, Status.IN_PROGRESS),
         (Actor.HANDLER,),
         to="*", dispatch_statuses=(DispatchStatus.SIGNED,),
         clocks={Stage.HANDLE: Clock.STOP, Stage.VERIFY: Clock.START}, requires=("note",),
         notify=("centre_when_handled",), style="primary"),
    Rule("request_extension", gettext_lazy("Ask for more time"), Action.REQUEST_EXTENSION,
         (Status.DISPATCHED, Status.IN_PROGRESS), (Actor.HANDLER,),
         dispatch_statuses=(DispatchStatus.DISPATCHED, DispatchStatus.SIGNED),
         requires=("amount", "unit", "reason"), guards=("before_dispatch_deadline", "no_pending_extension"),
         notify=("centre",)),
    Rule("return", gettext_lazy("Return (wrong dispatch)"), Action.RETURN, (Status.DISPATCHED, Status.IN_PROGRESS),
         (Actor.HANDLER,), to="*", dispatch_statuses=(DispatchStatus.DISPATCHED, DispatchStatus.SIGNED),
         clocks={Stage.SIGN: Clock.STOP, Stage.HANDLE: Clock.STOP, Stage.ACCEPT: Clock.START},
         requires=("reason",), counts=("returned",), notify=("centre",), style="danger"),
    Rule("decide_extension", gettext_lazy("Decide the extension"), Action.DECIDE_EXTENSION,
         (Status.DISPATCHED, Status.IN_PROGRESS), (Actor.CENTRE,), clocks={Stage.HANDLE: Clock.MOVE},
         requires=("extension", "approve"), guards=("pending_extension",),
         notify=("extension_department",), style="primary"),
    # --- verification, closure, follow-up ----------------------------------------------------
    Rule("assign_verification", gettext_lazy("Assign verification"), Action.ASSIGN_VERIFICATION, (Status.HANDLED,),
         (Actor.CENTRE,), requires=("verifier",), notify=("verifier",)),
    Rule("verify", gettext_lazy("Verify on site"), Action.VERIFY, (Status.HANDLED,), (Actor.VERIFIER,), to="*",
         clocks={Stage.VERIFY: Clock.STOP, Stage.HANDLE: Clock.RESTART}, requires=("passed", "photos"),
         notify=("verify_outcome",), style="primary"),
    # The system: the citizen's own answer on the public follow page (cases.pages.public), after the
    # appeal's number and the phone's last digits (or the private link) showed who asks.
    Rule("follow_up", gettext_lazy("Record the follow-up call"), Action.FOLLOW_UP, (Status.VERIFIED, Status.CLOSED),
         (Actor.CENTRE, Actor.SYSTEM), to="*", clocks={Stage.HANDLE: Clock.RESTART}, requires=("satisfaction",),
         guards=("not_self_resolved", "not_followed_up"), counts=("surveyed",), notify=("handlers_on_rework",)),
    Rule("close", gettext_lazy("Close"), Action.CLOSE, (Status.VERIFIED,), (Actor.CENTRE,), to=Status.CLOSED,
         guards=("followed_up_if_citizen",), running=True, counts=("closed",), notify=("reporter",),
         style="primary"),
    # --- clocks, escalation, supervision ------------------------------------------------------
    Rule("supervise", gettext_lazy("Supervise"), Action.SUPERVISE, OPEN, (Actor.CENTRE, Actor.OFFICIAL),
         requires=("level", "note"), counts=("supervised",), notify=("centre", "live_handlers")),
    Rule("suspend", gettext_lazy("Suspend"), Action.SUSPEND, OPEN, (Actor.CENTRE,), clocks={ALL: Clock.PAUSE},
         requires=("reason",), running=True),
    Rule("resume", gettext_lazy("Resume"), Action.RESUME, OPEN, (Actor.CENTRE,), clocks={ALL: Clock.RESUME},
         guards=("suspended",), style="primary"),
    Rule("escalate", gettext_lazy("Escalate to the centre above"), Action.ESCALATE, OPEN,
         (Actor.CENTRE, Actor.SYSTEM), clocks={Stage.ACCEPT: Clock.RESTART}, guards=("has_centre_above",),
         counts=("escalated",), notify=("centre",)),
    Rule("hand_down", gettext_lazy("Hand down"), Action.HAND_DOWN, OPEN, (Actor.CENTRE,),
         clocks={Stage.ACCEPT: Clock.RESTART}, requires=("centre",), guards=("has_centre_below",),
         notify=("centre",)),
    # --- photos added later: each kind by the one whose work it shows ------------------------
    Rule("attach_report", gettext_lazy("Add report photos"), Action.ATTACH, (Status.REPORTED, Status.ACCEPTED),
         (Actor.REPORTER, Actor.CENTRE), requires=("photos",)),
    Rule("attach_feedback", gettext_lazy("Add handling photos"), Action.ATTACH, (Status.IN_PROGRESS, Status.HANDLED),
         (Actor.HANDLER,), dispatch_statuses=(DispatchStatus.SIGNED, DispatchStatus.HANDLED), requires=("photos",)),
    Rule("attach_verification", gettext_lazy("Add verification photos"), Action.ATTACH,
         (Status.HANDLED, Status.VERIFIED), (Actor.VERIFIER,), requires=("photos",)),
    # --- the system ------------------------------------------------------------------------------
    Rule("light", gettext_lazy("Deadline light"), Action.LIGHT, OPEN, (Actor.SYSTEM,), notify=("stage_owner",),
         system=True),
    # --- emergency mode (cases.emergency) -------------------------------------------------------
    # Switching emergency mode on or off, or changing its level, re-plans the running clocks of the
    # subtree's open cases: the share of the stage used is kept, the rest runs under the new rules
    # (natural time × the level's factor, or the normal limits again). Suspended cases stay paused.
    Rule("replan", gettext_lazy("Re-plan deadlines (emergency mode)"), Action.REPLAN, OPEN, (Actor.SYSTEM,),
         clocks={ALL: Clock.REPLAN}, system=True),
    # An urgent category reported under emergency mode goes straight to the activation's command centre
    # (the centre of the activation's area, or the nearest above it), right after the report.
    Rule("emergency_escalate", gettext_lazy("Escalate to the emergency command centre"), Action.ESCALATE,
         (Status.REPORTED,), (Actor.SYSTEM,), clocks={Stage.ACCEPT: Clock.RESTART},
         guards=("urgent_under_emergency",), counts=("escalated",), notify=("centre",), system=True),


    # --- disputes and mediation (cases.disputes, cases.actions.disputes) -----------------------
    # A dispute is an accepted case of the 矛盾纠纷 family that a resolution centre mediates instead of a
    # department handling it. Success is the centre's verification of the outcome (→ verified), and the
    # case is then closed by the ordinary "close" row; a dispute referred outside is verified when the
    # outside channel's result is recorded.
    Rule("open_dispute", gettext_lazy("Register the dispute"), Action.OPEN_DISPUTE, (Status.ACCEPTED,),
         (Actor.CENTRE,), to=Status.IN_PROGRESS, clocks={Stage.ACCEPT: Clock.STOP, Stage.HANDLE: Clock.START},
         requires=("centre", "dispute_type", "source"), guards=("dispute_category", "no_dispute"), running=True,
         style="primary", family="dispute"),
    Rule("assess_risk", gettext_lazy("Assess the risk"), Action.ASSESS_RISK, OPEN, (Actor.CENTRE, Actor.MEDIATOR,
         Actor.LEADER), requires=("people_involved",), guards=("dispute",), notify=("dispute_leader_on_major",),
         family="dispute"),
    Rule("add_party", gettext_lazy("Add a party"), Action.ADD_PARTY, OPEN, (Actor.CENTRE, Actor.MEDIATOR),
         requires=("role", "resident or organisation"), guards=("dispute",), family="dispute"),
    Rule("hold_session", gettext_lazy("Record a mediation session"), Action.HOLD_SESSION, (Status.IN_PROGRESS,),
         (Actor.CENTRE, Actor.MEDIATOR, Actor.LEADER), requires=("held_at", "place", "method", "result"),
         guards=("mediating",), style="primary", family="dispute"),
    Rule("record_agreement", gettext_lazy("Record the agreement"), Action.RECORD_AGREEMENT, (Status.IN_PROGRESS,),
         (Actor.CENTRE, Actor.MEDIATOR), requires=("terms", "performance", "perform_by"),
         guards=("mediating", "no_agreement"), family="dispute"),
    Rule("request_confirmation", gettext_lazy("Request judicial confirmation"), Action.REQUEST_CONFIRMATION,
         (Status.IN_PROGRESS,), (Actor.CENTRE, Actor.MEDIATOR), requires=("court",),
         guards=("agreement", "confirmation_not_requested"), family="dispute"),
    Rule("grant_confirmation", gettext_lazy("Record judicial confirmation granted"), Action.GRANT_CONFIRMATION,
         (Status.IN_PROGRESS, Status.VERIFIED, Status.CLOSED), (Actor.CENTRE, Actor.MEDIATOR),
         requires=("granted_on",), guards=("confirmation_pending",), family="dispute"),
    Rule("record_follow_up", gettext_lazy("Record a follow-up on the agreement"), Action.RECORD_FOLLOW_UP,
         (Status.IN_PROGRESS,), (Actor.CENTRE, Actor.MEDIATOR, Actor.GRID), requires=("held",),
         guards=("follow_up_pending",), family="dispute"),
    Rule("mark_success", gettext_lazy("Mediation succeeded"), Action.MARK_SUCCESS, (Status.IN_PROGRESS,),
         (Actor.CENTRE, Actor.MEDIATOR), to=Status.VERIFIED, clocks={ALL: Clock.STOP},
         guards=("mediating", "agreement", "no_follow_up_pending"), running=True, notify=("centre",),
         style="primary", family="dispute"),
    Rule("mark_failure", gettext_lazy("Mediation failed"), Action.MARK_FAILURE, (Status.IN_PROGRESS,),
         (Actor.CENTRE, Actor.MEDIATOR), requires=("reason",), guards=("mediating",), notify=("centre",),
         style="danger", family="dispute"),
    # Referred out (litigation, arbitration, petition) every clock stops; to another centre they run on.
    Rule("refer_dispute", gettext_lazy("Refer the dispute"), Action.REFER_DISPUTE, (Status.IN_PROGRESS,),
         (Actor.CENTRE, Actor.MEDIATOR), clocks={ALL: Clock.STOP}, requires=("target", "reason"),
         guards=("mediating",),
         notify=("dispute_centre",), family="dispute"),
    Rule("referral_result", gettext_lazy("Record the referral's result"), Action.REFERRAL_RESULT,
         (Status.IN_PROGRESS,), (Actor.CENTRE, Actor.MEDIATOR), to=Status.VERIFIED, clocks={ALL: Clock.STOP},
         requires=("result",), guards=("referred_outside",), notify=("centre",), family="dispute"),
    Rule("record_visit", gettext_lazy("Record a visit"), Action.RECORD_VISIT, (*OPEN, Status.CLOSED),
         (Actor.CENTRE, Actor.MEDIATOR, Actor.LEADER, Actor.GRID), requires=("kind",), guards=("dispute",),
         family="dispute"),
    Rule("assign_leader", gettext_lazy("Assign the leader in charge (专诊)"), Action.ASSIGN_LEADER, OPEN,
         (Actor.CENTRE, Actor.OFFICIAL), requires=("leader",), guards=("dispute",), notify=("dispute_leader",),
         family="dispute"),
    Rule("dispute_reminder", gettext_lazy("Dispute reminder"), Action.DISPUTE_REMINDER, (*OPEN, Status.CLOSED),
         (Actor.SYSTEM,), guards=("dispute",), notify=("dispute_team",), system=True, family="dispute"),
)
# System rows that follow a report at once, in the report's transaction (cases.actions.emergency).
ON_REPORT = ("emergency_escalate",)
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
# The rule of each timeline action (attachments share one event action; the first row stands for it).
RULES_BY_EVENT: dict[str, Rule] = {}
for _rule in RULES:
    RULES_BY_EVENT.setdefault(_rule.event, _rule)
# Photo kind → the rule that may add it later (cases.choices.AttachmentKind values).
ATTACH_RULES = {"report": "attach_report", "feedback": "attach_feedback", "verification": "attach_verification"}
PAGE_RULES = tuple(rule for rule in RULES if not rule.system and not rule.family
                   and not rule.name.startswith("attach_"))
# The rows the dispute page and the dispute API offer (cases.pages.disputes, cases.api.disputes).
DISPUTE_RULES = tuple(rule for rule in RULES if rule.family == "dispute" and not rule.system)


# --- who is which, for one case ------------------------------------------------------------------


def _centre(scope: Scope, user, case, dispatch) -> bool:
    if scope.is_admin:
        return True
    if not scope.roles.intersection(CENTRE_ROLES):
        return False
    path = case.centre.area.path
    return any(path.startswith(prefix) for prefix in scope.centre_paths)


def centre_owned_q(user) -> Q:
    """The cases whose owning centre the user acts for as centre staff: :func:`_centre` as a filter."""
    scope = scope_for(user)
    if scope.is_admin:
        return Q()
    if not (scope.roles.intersection(CENTRE_ROLES) and scope.centre_paths):
        return Q(pk__in=[])
    # The centres by id (a city has a few dozen): the case index on (status, centre) answers the
    # centre pages without joining centres and areas over every case (bench/pages.py).
    cached = getattr(user, "_owned_centres", None)
    if cached is None or cached[0] is not scope:  # read once per scope (a request, unless it changes)
        under = Q()
        for prefix in scope.centre_paths:
            under |= Q(area__path__startswith=prefix)
        cached = (scope, list(Centre.objects.filter(under).values_list("pk", flat=True)))
        user._owned_centres = cached
    return Q(centre_id__in=cached[1])


def _official(scope: Scope, user, case, dispatch) -> bool:
    if Role.OFFICIAL not in scope.roles:
        return False
    return any(case.area_path.startswith(prefix) for prefix in scope.official_paths)


def _handler(scope: Scope, user, case, dispatch) -> bool:
    if dispatch is None:
        return False
    return scope.is_admin or dispatch.department_id in scope.department_ids


def _verifier(scope: Scope, user, case, dispatch) -> bool:
    return case.verifier_id is not None and (case.verifier_id == user.pk or scope.is_admin)


def _reporter(scope: Scope, user, case, dispatch) -> bool:
    return case.reporter_id is not None and case.reporter_id == user.pk


def dispute_of(case):
    """The case's DisputeDetails, or None (read once per case object)."""
    from cases.disputes import DisputeDetails

    try:
        return case.dispute
    except DisputeDetails.DoesNotExist:
        return None


def _mediator(scope: Scope, user, case, dispatch) -> bool:
    dispute = dispute_of(case)
    if dispute is None or user is None:
        return False
    if scope.is_admin:
        return True
    cached = getattr(user, "_mediator_centres", None)
    if cached is None:  # once per user object (a request)
        from cases.disputes import Mediator

        cached = set(Mediator.objects.filter(user=user, is_active=True).values_list("centre_id", flat=True))
        user._mediator_centres = cached
    return dispute.centre_id in cached


def _leader(scope: Scope, user, case, dispatch) -> bool:
    dispute = dispute_of(case)
    return dispute is not None and user is not None and dispute.leader_id == user.pk


def _grid(scope: Scope, user, case, dispatch) -> bool:
    if not scope.roles.intersection(GRID_ROLES):
        return False
    return any(case.area_path.startswith(prefix) for prefix in scope.act_paths)


ACTORS: dict[Actor, Callable[..., bool]] = {
    Actor.CENTRE: _centre, Actor.OFFICIAL: _official, Actor.HANDLER: _handler, Actor.VERIFIER: _verifier,
    Actor.REPORTER: _reporter, Actor.SYSTEM: lambda scope, user, case, dispatch: user is None,
    Actor.MEDIATOR: _mediator, Actor.LEADER: _leader, Actor.GRID: _grid,
}


# --- guards: further conditions on the case, with the refusal people read ------------------------


def _pending_extension(case, dispatch) -> bool:
    return any(
        e.status == ExtensionStatus.PENDING for d in case.dispatches.all() for e in d.extensions.all()
    )


GUARDS: dict[str, tuple[Callable[[Any, Any], bool], Promise]] = {
    "pending_extension": (_pending_extension, gettext_lazy("There is no extension request waiting.")),
    "no_pending_extension": (
        lambda case, d: d is None or not any(e.status == ExtensionStatus.PENDING for e in d.extensions.all()),
        gettext_lazy("This dispatch already has an extension request waiting."),
    ),
    "before_dispatch_deadline": (
        lambda case, d: d is None or _now() < d.due_at,
        gettext_lazy("The deadline has passed; an extension must be asked for before it expires."),
    ),
    "not_self_resolved": (
        lambda case, d: case.closure_kind != ClosureKind.SELF_RESOLVED,
        gettext_lazy("A self-resolved case has no follow-up call."),
    ),
    "not_followed_up": (
        lambda case, d: not (case.status == Status.CLOSED and case.satisfaction
                             and case.satisfaction != Satisfaction.DISSATISFIED),
        gettext_lazy("The follow-up call for this case is already recorded."),
    ),
    "followed_up_if_citizen": (
        lambda case, d: case.channel not in CITIZEN_CHANNELS or bool(case.satisfaction),
        gettext_lazy("A citizen's case gets a follow-up call before it is closed."),
    ),
    "suspended": (lambda case, d: case.suspended_at is not None, gettext_lazy("The case is not suspended.")),
    "has_centre_above": (
        lambda case, d: case.centre.level > 1 and case.centre.area.parent_id is not None,
        gettext_lazy("The case is already at the top centre."),
    ),
    "urgent_under_emergency": (
        lambda case, d: _emergency_command_centre(case) is not None,
        gettext_lazy("Only an urgent case reported under emergency mode goes to the command centre."),
    ),
    "has_centre_below": (
        lambda case, d: case.centre.level < 3,
        gettext_lazy("There is no centre below this one to hand the case to."),
    ),
    # --- disputes ---
    "dispute_category": (
        lambda case, d: _in_dispute_family(case),
        gettext_lazy("Only a case of the dispute family (矛盾纠纷) can be registered as a dispute."),
    ),
    "no_dispute": (lambda case, d: dispute_of(case) is None, gettext_lazy("The dispute is already registered.")),
    "dispute": (lambda case, d: dispute_of(case) is not None, gettext_lazy("This case is not a registered dispute.")),
    "mediating": (
        lambda case, d: (dispute_of(case) is not None and dispute_of(case).is_mediating),
        gettext_lazy("The dispute is not being mediated (it is resolved, referred outside or not registered)."),
    ),
    "no_agreement": (lambda case, d: _agreement(case) is None, gettext_lazy("The agreement is already recorded.")),
    "agreement": (lambda case, d: _agreement(case) is not None, gettext_lazy("No agreement is recorded yet.")),
    "confirmation_not_requested": (
        lambda case, d: _agreement(case) is None or _agreement(case).confirmation_requested_on is None,
        gettext_lazy("Judicial confirmation has already been requested."),
    ),
    "confirmation_pending": (
        lambda case, d: (_agreement(case) is not None and _agreement(case).confirmation_requested_on is not None
                         and _agreement(case).confirmation_granted_on is None),
        gettext_lazy("No judicial confirmation is waiting to be granted."),
    ),
    "follow_up_pending": (
        lambda case, d: _pending_follow_ups(case) > 0, gettext_lazy("No follow-up on the agreement is waiting."),
    ),
    "no_follow_up_pending": (
        lambda case, d: _pending_follow_ups(case) == 0,
        gettext_lazy("Follow-ups on the agreement are still waiting; record them first."),
    ),
    "referred_outside": (
        lambda case, d: dispute_of(case) is not None and dispute_of(case).stage == "referred",
        gettext_lazy("The dispute is not waiting for an outside channel's result."),
    ),
}


def _emergency_command_centre(case):
    """The activation's command centre, when the case is urgent, was reported under emergency mode and
    is not there yet; else None."""
    from cases.choices import Urgency
    from cases.emergency import command_centre

    if case.activation_id is None or case.category.urgency == Urgency.NORMAL:
        return None
    centre = command_centre(case.activation)
    return centre if centre is not None and centre.pk != case.centre_id else None


def _in_dispute_family(case) -> bool:
    from cases.disputes import DISPUTE_FAMILY_CODE

    return case.category.code.startswith(DISPUTE_FAMILY_CODE) and case.category.parent_id is not None


def _agreement(case):
    from cases.disputes import Agreement

    try:
        return case.agreement
    except Agreement.DoesNotExist:
        return None


def _pending_follow_ups(case) -> int:
    cached = getattr(case, "_pending_follow_ups", None)
    if cached is None:
        cached = case.dispute_follow_ups.filter(done_at__isnull=True).count() if case.pk else 0
        case._pending_follow_ups = cached
    return cached


# The error codes clients already know for two of the guards.
GUARD_CODES = {"before_dispatch_deadline": "deadline_passed", "followed_up_if_citizen": "follow_up_first"}


def _now():
    from govgrid import clock

    return clock.now()


# --- the answers ---------------------------------------------------------------------------------


def actor_kinds(rule: Rule, user, case, dispatch=None) -> list[Actor]:
    """The kinds of actor in ``rule.who`` that ``user`` is for this case (and dispatch)."""
    scope = scope_for(user) if user is not None else Scope()
    return [kind for kind in rule.who if ACTORS[kind](scope, user, case, dispatch)]


def check(rule: Rule | str, user, case, dispatch=None) -> None:
    """Raise Forbidden when the user may not take the action on this case, Conflict when the case (or
    dispatch) is not in a state that allows it. The caller has already found the case in the user's
    scope (cases.access), so a refusal here says nothing about cases the user cannot see."""
    rule = RULES_BY_NAME[rule] if isinstance(rule, str) else rule
    if not actor_kinds(rule, user, case, dispatch):
        raise Forbidden(_("Your role may not do this on this case."), code="not_allowed")
    if rule.dispatch_statuses and (dispatch is None or dispatch.status not in rule.dispatch_statuses):
        raise Conflict(
            _("This dispatch is %(status)s; the action needs it to be %(allowed)s.")
            % {"status": dispatch.get_status_display() if dispatch else _("missing"),
               "allowed": _(" or ").join(str(DispatchStatus(s).label) for s in rule.dispatch_statuses)}
        )
    if rule.statuses and case.status not in rule.statuses:
        raise Conflict(
            _("The case is %(status)s; this action needs it to be %(allowed)s.")
            % {"status": case.get_status_display(),
               "allowed": _(" or ").join(str(Status(s).label) for s in rule.statuses)}
        )
    if rule.running and case.suspended_at is not None:
        raise Conflict(_("The case is suspended; resume it first."), code="suspended")
    for name in rule.guards:
        test, message = GUARDS[name]
        if not test(case, dispatch):
            raise Conflict(str(message), code=GUARD_CODES.get(name, name))


def permits(rule: Rule | str, user, case, dispatch=None) -> bool:
    try:
        check(rule, user, case, dispatch)
    except (Forbidden, Conflict):
        return False
    return True


def own_dispatches(user, case) -> list:
    """The case's live dispatches of the user's departments (an admin: all live ones), lead first.
    Reads ``case.dispatches.all()`` so a prefetch serves it."""
    scope = scope_for(user)
    live = [d for d in case.dispatches.all() if d.status in ACTIVE_DISPATCH_STATUSES]
    mine = live if scope.is_admin else [d for d in live if d.department_id in scope.department_ids]
    return sorted(mine, key=lambda d: (d.role != "lead", d.pk))


def dispatch_for(rule: Rule, user, case):
    """The user's dispatch a department's row is checked against: their live one in a state the row
    allows, else their first (so the check names the state it is in), else None (not a handler)."""
    if not rule.on_dispatch or user is None:
        return None
    mine = own_dispatches(user, case)
    return next((d for d in mine if d.status in rule.dispatch_statuses), mine[0] if mine else None)


def permitted_rules(user, case) -> list[Rule]:
    """The page actions the user may take on the case now (what its buttons show)."""
    rules = []
    for rule in PAGE_RULES:
        if rule.on_dispatch:
            if any(permits(rule, user, case, d) for d in own_dispatches(user, case)):
                rules.append(rule)
        elif permits(rule, user, case):
            rules.append(rule)
    return rules


# --- intake: who may report where ---------------------------------------------------------------

REPORTER_ROLES = (*GRID_ROLES, *CENTRE_ROLES, Role.DEPT_HANDLER, Role.ADMIN)


def may_report_in(user, grid) -> bool:
    """Reporting is for one's own grids; a mobile grid worker (流动网格员) reports anywhere, and grid
    leaders and centre staff anywhere in the area they hold. A department handler reports in the
    subtree of their department's area (its own town or district)."""
    scope = scope_for(user)
    if scope.is_admin:
        return True
    if scope.covers_area(grid, act=True):  # own grids, a leader's area, a centre's subtree
        return True
    if Role.DEPT_HANDLER in scope.roles:
        from grids.models import Department

        paths = Department.objects.filter(pk__in=scope.department_ids).values_list("area__path", flat=True)
        if any(grid.path.startswith(path) for path in paths):
            return True
    from grids.models import Membership

    return Membership.objects.filter(
        user=user, role__in=GRID_ROLES, worker_kind=WorkerKind.MOBILE
    ).exists()


def default_verifier_id(case) -> int | None:
    """Who verifies a case when it is handled: its reporter, when they work the case's grid (who found
    it checks it); otherwise nobody until the centre assigns someone. One owner per verification."""
    if case.reporter_id is None:
        return None
    from grids.models import Membership

    works_here = Membership.objects.filter(
        user_id=case.reporter_id, user__is_active=True, role__in=GRID_ROLES, area_id=case.grid_id
    ).exists()
    return case.reporter_id if works_here else None


# --- sweep tasks (排查任务): who may send, close and report -----------------------------------------
# A sweep is not a case, so it has no row of RULES; its rules are these, in words and as tests. Which
# task or target a user may name at all is the access module's (cases.access: access_sweep_*).
SWEEP_RULES = {
    "create_sweep": "centre staff of a centre whose subtree holds the area",
    "close_sweep": "centre staff of a centre whose subtree holds the task's area",
    "report_sweep": "a grid worker or grid leader of the target's grid, while the task is open",
    "zero_report_sweep": "a grid worker or grid leader of the grid, while the task is open",
}


def may_send_sweep(user, area) -> bool:
    """Centre staff (or an administrator) over ``area``: a town centre sends to its town, a district's
    to any of its towns, communities or grids."""
    scope = scope_for(user)
    return scope.is_admin or any(area.path.startswith(path) for path in scope.centre_paths)


def may_report_sweep(user, grid_id: int) -> bool:
    """A grid worker or leader of the grid (the people who walk it), or an administrator."""
    from grids.models import Membership

    if scope_for(user).is_admin:
        return True
    return Membership.objects.filter(user=user, role__in=GRID_ROLES, area_id=grid_id).exists()


def check_sweep(name: str, user, *, area=None, grid_id: int | None = None, task=None) -> None:
    """Forbidden unless ``user`` may take the sweep action; Conflict when the task is closed."""
    allowed = may_send_sweep(user, area) if name in ("create_sweep", "close_sweep") else \
        may_report_sweep(user, grid_id)
    if not allowed:
        raise Forbidden(_("Your role may not do this on this sweep task."), code="not_allowed")
    if task is not None and task.status != "open":
        raise Conflict(_("The sweep task is closed."), code="closed")


# --- emergency mode: who may switch it on, change it, switch it off ------------------------------

EMERGENCY_RULES: dict[str, Promise] = {
    "switch_on": gettext_lazy("Switch emergency mode on"),
    "change_level": gettext_lazy("Change the response level"),
    "change_task_force": gettext_lazy("Change the task force"),
    "switch_off": gettext_lazy("Switch emergency mode off"),
}
EMERGENCY_WHO = "an official whose area holds the activation's area, or an administrator"


def may_command(user, path: str) -> bool:
    """Emergency mode is switched, graded and ended by officials over the area (and administrators:
    the whole city's, or an area administrator's subtree). Centre staff, departments and grid workers
    see it and work under it."""
    scope = scope_for(user)
    if scope.is_admin:
        return True
    if Role.OFFICIAL in scope.roles and any(path.startswith(prefix) for prefix in scope.official_paths):
        return True
    return Role.ADMIN in scope.roles and any(path.startswith(prefix) for prefix in scope.centre_paths)


def check_command(name: str, user, path: str, *, active: bool | None = None) -> None:
    """Forbidden unless the user may take emergency action ``name`` over the area at ``path``; Conflict
    when the activation is already off (``active`` False) for any change but switching on."""
    if name not in EMERGENCY_RULES:
        raise KeyError(name)
    if not may_command(user, path):
        raise Forbidden(_("Only an official over this area may switch emergency mode."), code="not_allowed")
    if name != "switch_on" and active is False:
        raise Conflict(_("This activation is already switched off."), code="switched_off")
