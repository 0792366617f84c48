"""Department handler pages (desktop): the inbox of the department's dispatches.

A handler sees the dispatches to their department(s): to sign, in progress (feed back, ask for more
time, return a wrong dispatch) and recently fed back, each with its own deadline and light. Actions run
in place through the same machinery as the centre pages (cases.pages.centre.InPlaceActions).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import deadlines
from cases.choices import DispatchStatus, ExtensionStatus, Light, Stage
from cases.models import Dispatch, ExtensionRequest
from cases.pages.centre import InPlaceActions, PageFilters, RowKind, paginate
from cases.pages.common import ACTIONS_BY_NAME
from cases.selectors import visible_cases
from govgrid import clock
from grids.choices import Role
from grids.models import Department
from grids.scope import Scope, scope_for

RECENT_DAYS = 30
LIVE = (DispatchStatus.DISPATCHED, DispatchStatus.SIGNED)


def handler_scope(request: HttpRequest) -> Scope:
    scope = scope_for(request.user)
    if scope.is_admin or Role.DEPT_HANDLER in scope.roles:
        return scope
    raise PermissionDenied(_("These pages are for department handlers."))


def department_dispatches(user) -> QuerySet[Dispatch]:
    """Dispatches to the user's departments, on cases they can see (an admin: every department's)."""
    scope = scope_for(user)
    queryset = Dispatch.objects.filter(case__in=visible_cases(user).values("pk"))
    if not scope.is_admin:
        queryset = queryset.filter(department_id__in=scope.department_ids)
    pending = ExtensionRequest.objects.filter(status=ExtensionStatus.PENDING)
    return queryset.select_related("case__category", "case__grid", "department").prefetch_related(
        Prefetch("extensions", queryset=pending, to_attr="pending_extensions"),
    )


def dispatch_clock(dispatch: Dispatch, now: datetime) -> tuple[datetime | None, str]:
    """The deadline this dispatch is working against and its light: signing while dispatched, then
    handling (dispatch.due_at, in the dispatch's own unit). The light turns yellow at the category's
    share of that stage's time."""
    case = dispatch.case
    if case.suspended_at is not None:
        return (dispatch.sign_due_at if dispatch.status == DispatchStatus.DISPATCHED else dispatch.due_at), Light.NONE
    if dispatch.status == DispatchStatus.DISPATCHED:
        stage, due = Stage.SIGN, dispatch.sign_due_at
        natural = deadlines.stage_limit(Stage.SIGN, case.clock_factor).natural
    elif dispatch.status == DispatchStatus.SIGNED:
        stage, due = Stage.HANDLE, dispatch.due_at
        natural = deadlines.dispatch_limit(dispatch, case.clock_factor).natural
    else:
        return dispatch.due_at, Light.NONE
    share = deadlines.yellow_share(case.category, stage)
    warn = deadlines.warn_moment(dispatch.dispatched_at, due, share, natural=natural)
    return due, deadlines.light_at(now, warn, due)


def _with_clock(dispatches, now: datetime):
    for dispatch in dispatches:
        dispatch.clock_due, dispatch.light = dispatch_clock(dispatch, now)
    return dispatches


def _load_row(user, case_pk: int) -> Dispatch | None:
    """The user's department's dispatch on the case (its live one, else the latest)."""
    rows = list(department_dispatches(user).filter(case_id=case_pk).order_by("-dispatched_at", "-id"))
    row = next((d for d in rows if d.status in LIVE), rows[0] if rows else None)
    if row is not None:
        _with_clock([row], clock.now())
    return row


DEPARTMENT_ROWS = {
    "dept": RowKind("department/_row.html", 8, _load_row, keep=lambda d: d.status in LIVE, name="dispatch"),
}
DEPARTMENT_ACTIONS = {name: ACTIONS_BY_NAME[name] for name in ("sign", "feedback", "request_extension", "return")}
in_place = InPlaceActions("department", DEPARTMENT_ACTIONS, DEPARTMENT_ROWS, home="department:inbox",
                          guard=handler_scope)

SORTS = {"due": ("due_at", "id"), "dispatched": ("dispatched_at", "id"), "-dispatched": ("-dispatched_at", "-id")}
SORT_CHOICES = [("due", gettext_lazy("deadline, soonest first")), ("dispatched", gettext_lazy("oldest dispatch first")),
                ("-dispatched", gettext_lazy("newest dispatch first"))]
SIGN_SORTS = {**SORTS, "due": ("sign_due_at", "id")}


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """To sign, in progress and recently fed back, for the handler's departments."""
    scope = handler_scope(request)
    now = clock.now()
    dispatches = department_dispatches(request.user)
    departments = Department.objects.filter(pk__in=scope.department_ids).order_by("name")
    department = request.GET.get("department", "")
    if department.isdigit():
        dispatches = dispatches.filter(department_id=int(department))
    filters = PageFilters(request, fields=("category", "q"))
    cases = filters.apply(visible_cases(request.user))
    if filters.active:
        dispatches = dispatches.filter(case__in=cases.values("pk"))
    sort = request.GET.get("sort", "due")
    order = SORTS.get(sort, SORTS["due"])
    to_sign = paginate(request, dispatches.filter(status=DispatchStatus.DISPATCHED).order_by(
        *SIGN_SORTS.get(sort, SIGN_SORTS["due"])), "spage")
    in_progress = paginate(request, dispatches.filter(status=DispatchStatus.SIGNED).order_by(*order), "ppage")
    recent = paginate(request, dispatches.filter(
        Q(status=DispatchStatus.HANDLED) & Q(handled_at__gte=now - timedelta(days=RECENT_DAYS))
    ).order_by("-handled_at", "-id"), "hpage")
    for page in (to_sign, in_progress):
        page.object_list = _with_clock(list(page.object_list), now)
    context = filters.context(request.user)
    return render(request, "department/inbox.html", {
        "to_sign": to_sign, "in_progress": in_progress, "recent": recent, "now": now, "sort": sort,
        "sort_choices": SORT_CHOICES, "departments": departments, "department": department,
        "next": request.get_full_path(), "recent_days": RECENT_DAYS, **context,
    })


app_name = "department"
urlpatterns = [path("", inbox, name="inbox"), *in_place.urls()]
