"""Pages every role shares: the case list, the case detail with its actions, notifications, the map.

Reads start from cases.selectors.visible_cases (outside scope → 404); every POST calls one action
from cases.actions through the form of that action, and a refusal is shown beside the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as DRFValidationError

from cases import actions, forms
from cases.actions import CITIZEN_CHANNELS
from cases.api.filters import CaseFilterSet
from cases.choices import OPEN_STATUSES, ClosureKind, Status
from cases.models import Case, Dispatch, Notification
from cases.selectors import visible_cases
from govgrid.errors import ActionError
from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.scope import scope_for, visible_grids


@dataclass(frozen=True)
class PageAction:
    """One action as the pages offer it: its form, who sees it when, and how it runs."""

    name: str
    label: str
    form: type[forms.CaseActionForm]
    allowed: Callable  # (user, case, scope) -> bool
    run: Callable  # (user, case, form) -> object
    style: str = ""
    multipart: bool = False


def _centre(user, case, scope) -> bool:
    return scope.is_admin or (
        bool(scope.roles & set(CENTRE_ROLES)) and any(case.centre.area.path.startswith(p) for p in scope.centre_paths)
    )


def _handler_dispatch(scope, case, *statuses) -> bool:
    dispatches = [d for d in case.dispatches.all() if d.status in statuses]
    return any(scope.is_admin or d.department_id in scope.department_ids for d in dispatches)


def _mine(form) -> Dispatch:
    dispatch = form.my_dispatch()
    if dispatch is None:
        raise ActionError(_("Your department has no live dispatch on this case."))
    return dispatch


def _verifier(user, case, scope) -> bool:
    if case.status != Status.HANDLED:
        return False
    if case.verifier_id:
        return case.verifier_id == user.pk
    return bool(scope.roles & set(GRID_ROLES)) and scope.covers_area(case.grid, act=True)


PAGE_ACTIONS: list[PageAction] = [
    PageAction("accept", gettext_lazy("Accept"), forms.NoteForm,
               lambda u, c, s: c.status == Status.REPORTED and _centre(u, c, s),
               lambda u, c, f: actions.accept_case(c, actor=u, note=f.cleaned_data["note"]), "primary"),
    PageAction("reject", gettext_lazy("Do not accept"), forms.ReasonForm,
               lambda u, c, s: c.status == Status.REPORTED and _centre(u, c, s),
               lambda u, c, f: actions.reject_case(c, actor=u, reason=f.cleaned_data["reason"]), "danger"),
    PageAction("merge", gettext_lazy("Merge as duplicate"), forms.MergeForm,
               lambda u, c, s: c.status == Status.REPORTED and _centre(u, c, s),
               lambda u, c, f: actions.merge_case(c, actor=u, master=f.cleaned_data["master"],
                                                  note=f.cleaned_data["note"])),
    PageAction("dispatch", gettext_lazy("Dispatch"), forms.DispatchForm,
               lambda u, c, s: c.status == Status.ACCEPTED and c.suspended_at is None and _centre(u, c, s),
               lambda u, c, f: actions.dispatch_case(c, actor=u, lead=f.cleaned_data["lead"],
                                                     assists=list(f.cleaned_data["assists"]),
                                                     note=f.cleaned_data["note"]), "primary"),
    PageAction("sign", gettext_lazy("Sign for it"), forms.SignForm,
               lambda u, c, s: _handler_dispatch(s, c, "dispatched"),
               lambda u, c, f: actions.sign_dispatch(_mine(f), actor=u, note=f.cleaned_data["note"]), "primary"),
    PageAction("feedback", gettext_lazy("Feed back handling"), forms.FeedbackForm,
               lambda u, c, s: _handler_dispatch(s, c, "signed"),
               lambda u, c, f: actions.feedback_dispatch(_mine(f), actor=u, note=f.cleaned_data["note"],
                                                         photos=f.cleaned_data["photos"]), "primary", True),
    PageAction("request_extension", gettext_lazy("Ask for more time"), forms.ExtensionRequestForm,
               lambda u, c, s: _handler_dispatch(s, c, "dispatched", "signed"),
               lambda u, c, f: actions.request_extension(_mine(f), actor=u, amount=f.cleaned_data["amount"],
                                                         unit=f.cleaned_data["unit"],
                                                         reason=f.cleaned_data["reason"])),
    PageAction("return", gettext_lazy("Return (wrong dispatch)"), forms.ReturnForm,
               lambda u, c, s: _handler_dispatch(s, c, "dispatched", "signed"),
               lambda u, c, f: actions.return_dispatch(_mine(f), actor=u, reason=f.cleaned_data["reason"]), "danger"),
    PageAction("decide_extension", gettext_lazy("Decide the extension"), forms.ExtensionDecisionForm,
               lambda u, c, s: _centre(u, c, s) and any(
                   e.status == "pending" for d in c.dispatches.all() for e in d.extensions.all()),
               lambda u, c, f: actions.decide_extension(f.cleaned_data["extension"], actor=u,
                                                        approve=f.cleaned_data["approve"],
                                                        note=f.cleaned_data["note"]), "primary"),
    PageAction("assign_verification", gettext_lazy("Assign verification"), forms.AssignVerificationForm,
               lambda u, c, s: c.status == Status.HANDLED and _centre(u, c, s),
               lambda u, c, f: actions.assign_verification(c, actor=u, verifier=f.cleaned_data["verifier"])),
    PageAction("verify", gettext_lazy("Verify on site"), forms.VerifyForm, _verifier,
               lambda u, c, f: actions.verify_case(c, actor=u, passed=f.cleaned_data["passed"],
                                                   note=f.cleaned_data["note"], photos=f.cleaned_data["photos"]),
               "primary", True),
    PageAction("follow_up", gettext_lazy("Record the follow-up call"), forms.FollowUpForm,
               lambda u, c, s: _centre(u, c, s) and c.closure_kind != ClosureKind.SELF_RESOLVED and (
                   c.status == Status.VERIFIED or (c.status == Status.CLOSED and not c.satisfaction)),
               lambda u, c, f: actions.follow_up(c, actor=u, satisfaction=f.cleaned_data["satisfaction"],
                                                 note=f.cleaned_data["note"])),
    PageAction("close", gettext_lazy("Close"), forms.NoteForm,
               lambda u, c, s: c.status == Status.VERIFIED and _centre(u, c, s) and (
                   c.channel not in CITIZEN_CHANNELS or bool(c.satisfaction)),
               lambda u, c, f: actions.close_case(c, actor=u, note=f.cleaned_data["note"]), "primary"),
    PageAction("supervise", gettext_lazy("Supervise"), forms.SuperviseForm,
               lambda u, c, s: c.status in OPEN_STATUSES and (_centre(u, c, s) or Role.OFFICIAL in s.roles),
               lambda u, c, f: actions.supervise_case(c, actor=u, level=f.cleaned_data["level"],
                                                      note=f.cleaned_data["note"])),
    PageAction("suspend", gettext_lazy("Suspend"), forms.ReasonForm,
               lambda u, c, s: c.status in OPEN_STATUSES and c.suspended_at is None and _centre(u, c, s),
               lambda u, c, f: actions.suspend_case(c, actor=u, reason=f.cleaned_data["reason"])),
    PageAction("resume", gettext_lazy("Resume"), forms.NoteForm,
               lambda u, c, s: c.suspended_at is not None and _centre(u, c, s),
               lambda u, c, f: actions.resume_case(c, actor=u, note=f.cleaned_data["note"]), "primary"),
    PageAction("escalate", gettext_lazy("Escalate to the centre above"), forms.NoteForm,
               lambda u, c, s: c.status in OPEN_STATUSES and c.centre.level > 1 and _centre(u, c, s),
               lambda u, c, f: actions.escalate_case(c, actor=u, note=f.cleaned_data["note"])),
    PageAction("hand_down", gettext_lazy("Hand down"), forms.HandDownForm,
               lambda u, c, s: c.status in OPEN_STATUSES and c.centre.level < 3 and _centre(u, c, s),
               lambda u, c, f: actions.hand_down_case(c, actor=u, centre=f.cleaned_data["centre"],
                                                      note=f.cleaned_data["note"])),
]
ACTIONS_BY_NAME = {action.name: action for action in PAGE_ACTIONS}


def available_actions(user, case: Case) -> list[PageAction]:
    scope = scope_for(user)
    return [action for action in PAGE_ACTIONS if action.allowed(user, case, scope)]


def run_page_action(request: HttpRequest, case: Case, action: PageAction) -> tuple[forms.CaseActionForm, int]:
    """Validate the action's form and run the action: (form, 200) when done; otherwise the form with the
    refusal beside its field (or above the form) and the 4xx status, nothing written."""
    form = action.form(request.POST, request.FILES, case=case, user=request.user, prefix=action.name)
    if not form.is_valid():
        return form, 400
    try:
        action.run(request.user, case, form)
    except ActionError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
        elif exc.field in ("photos", "after_photos") and "photos" in form.fields:
            form.add_error("photos", exc.message)
        else:
            form.add_error(None, exc.message)
        return form, exc.status_code
    return form, 200


def case_for_page(user, pk: int) -> Case:
    queryset = visible_cases(user).select_related(
        "category__parent", "grid__parent", "centre__area", "reporter", "verifier", "suggested_department", "master"
    ).prefetch_related(
        Prefetch("dispatches", queryset=Dispatch.objects.select_related("department").prefetch_related("extensions")),
        "attachments", "duplicate_candidates__category",
    )
    return get_object_or_404(queryset, pk=pk)


def filtered(filterset: CaseFilterSet, unfiltered):
    """The filter set's rows, or `unfiltered` when nothing (valid) is asked. An unknown area code, which
    the API's filter raises as a DRF ValidationError, becomes a filter error and no rows, not a 500."""
    if not (filterset.is_bound and filterset.is_valid()):
        return unfiltered
    try:
        return filterset.qs
    except DRFValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {None: exc.detail}
        for field, errors in detail.items():
            for error in errors if isinstance(errors, list) else [errors]:
                filterset.form.add_error(field if field in filterset.form.fields else None, str(error))
        return unfiltered.none()


SORTS = {
    "due": ("due_at", "id"), "-due": ("-due_at", "-id"), "reported": ("reported_at", "id"),
    "-reported": ("-reported_at", "-id"), "status": ("status", "-id"), "category": ("category__code", "-id"),
}


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    """All cases in scope: filter (the API's filter set), sort, page."""
    base = visible_cases(request.user).select_related("category", "grid", "centre")
    filterset = CaseFilterSet(request.GET or None, queryset=base, request=request)
    queryset = filtered(filterset, base)
    sort = request.GET.get("sort", "-reported")
    queryset = queryset.order_by(*SORTS.get(sort, SORTS["-reported"]))
    page = Paginator(queryset, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return render(request, "cases/list.html", {
        "filter": filterset, "page": page, "sort": sort, "query": query.urlencode(),
        "sort_query": sort_query.urlencode(),
    })


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_page(request.user, pk)
    page_actions = [
        (action, action.form(case=case, user=request.user, prefix=action.name)) for action in
        available_actions(request.user, case)
    ]
    events = case.events.select_related("actor").order_by("at", "id")
    return render(request, "cases/detail.html", {
        "case": case, "page_actions": page_actions, "events": events,
        "pending_extensions": [e for d in case.dispatches.all() for e in d.extensions.all() if e.status == "pending"],
    })


@login_required
@require_POST
def case_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one action from its form. Success: back to the case (or `next`); refusal: the form again,
    with the message beside the field, and nothing written."""
    case = case_for_page(request.user, pk)
    action = ACTIONS_BY_NAME.get(name)
    if action is None:
        return HttpResponse(status=404)
    form, status = run_page_action(request, case, action)
    if status == 200:
        messages.success(request, _("%(action)s: done.") % {"action": action.label})
        target = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            target = reverse("cases:detail", args=[case.pk])
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
    context = {"case": case, "action": action, "form": form, "open": True, "next": request.POST.get("next", "")}
    if request.headers.get("HX-Request"):
        return render(request, "cases/_action_form.html", context, status=status)
    return render(request, "cases/action_page.html", context, status=status)


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        actions.mark_notifications_read(request.user)
        return redirect("cases:notifications")
    rows = Notification.objects.filter(recipient=request.user).select_related("case").order_by("-created_at", "-id")
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    return render(request, "cases/notifications.html", {"page": page})


@login_required
def notification_badge(request: HttpRequest) -> HttpResponse:
    count = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    return render(request, "cases/_badge.html", {"count": count})


@login_required
def case_map(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/map.html", {})


@login_required
def grids_geojson(request: HttpRequest) -> JsonResponse:
    """The boundaries of the grids in scope, simplified for drawing (a town's grids are a few hundred)."""
    grids = visible_grids(request.user).annotate(geojson=AsGeoJSON("boundary", precision=5)).values(
        "code", "name", "geojson"
    )[:6000]
    features = [
        {"type": "Feature", "geometry": json.loads(g["geojson"]), "properties": {"code": g["code"], "name": g["name"]}}
        for g in grids if g["geojson"]
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


@login_required
def cases_geojson(request: HttpRequest) -> JsonResponse:
    """Open cases in scope (or as filtered) as points coloured by light, for the clustered map."""
    base = visible_cases(request.user)
    filterset = CaseFilterSet(request.GET or None, queryset=base, request=request)
    queryset = filtered(filterset, base.filter(status__in=OPEN_STATUSES))
    rows = queryset.select_related("category").only(
        "id", "location", "light", "status", "category__name", "reported_at"
    ).order_by("-id")[:5000]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(c.location.x, 6), round(c.location.y, 6)]},
            "properties": {"id": c.pk, "number": c.number, "light": c.light, "status": c.get_status_display(),
                           "category": c.category.name, "url": reverse("cases:detail", args=[c.pk])},
        }
        for c in rows
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})
