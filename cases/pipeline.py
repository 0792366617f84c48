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


class Clock(StrEnum):
    START = "start"
    STOP = "stop"
    PAUSE = "pause"  # all clocks (suspend)
    RESUME = "resume"  # all clocks, each in its own unit
    RESTART = "restart"  # a fresh limit from now (rework) or from the old deadline (extension)
    MOVE = "move"  # the deadline moves (extension approved), the clock keeps running


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
)
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
# The rule of each timeline action (attachments share one event action; the first row stands for it).
RULES_BY_EVENT: dict[str, Rule] = {}
for _rule in RULES:
    RULES_BY_EVENT.setdefault(_rule.event, _rule)
# Photo kind → the rule that may add it later (cases.choices.AttachmentKind values).
ATTACH_RULES = {"report": "attach_report", "feedback": "attach_feedback", "verification": "attach_verification"}
PAGE_RULES = tuple(rule for rule in RULES if not rule.system and not rule.name.startswith("attach_"))


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


ACTORS: dict[Actor, Callable[..., bool]] = {
    Actor.CENTRE: _centre, Actor.OFFICIAL: _official, Actor.HANDLER: _handler, Actor.VERIFIER: _verifier,
    Actor.REPORTER: _reporter, Actor.SYSTEM: lambda scope, user, case, dispatch: user is None,
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
    "has_centre_below": (
        lambda case, d: case.centre.level < 3,
        gettext_lazy("There is no centre below this one to hand the case to."),
    ),
}


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
