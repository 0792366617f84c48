"""Pages every role shares: the case list, the case detail with its actions, notifications, the map.

Reads start from cases.selectors.visible_cases (outside scope → 404); every POST calls one action
from cases.actions through the form of that action, and a refusal is shown beside the field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
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
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as DRFValidationError

from cases import actions, forms, pipeline
from cases.api.filters import CaseFilterSet
from cases.choices import OPEN_STATUSES
from cases.models import Case, Dispatch, Notification
from cases.notifications import texts as notification_texts
from cases.pages import pickers
from cases.selectors import visible_cases
from govgrid.errors import ActionError
from govgrid.offline import form_errors, wants_json
from govgrid.paging import CappedPaginator
from govgrid.replica import replica_reads
from grids.scope import visible_grids


@dataclass(frozen=True)
class PageAction:
    """One action as the pages offer it: its row of the pipeline table, its form, and how it runs.
    Whether a user sees its button is the table's answer (cases.pipeline.permits), nothing else."""

    name: str
    form: type[forms.CaseActionForm]
    run: Callable  # (user, case, form) -> object
    multipart: bool = False
    rule_name: str = ""
    then: str = ""  # a second row run in the same transaction (立案并派遣: accept, then dispatch)
    title: Any = None  # the button's label when it is not the row's

    @property
    def rule(self) -> pipeline.Rule:
        return pipeline.RULES_BY_NAME[self.rule_name or self.name]

    @property
    def label(self):
        return self.title or self.rule.label

    @property
    def style(self) -> str:
        return self.rule.style

    def allowed(self, user, case, scope=None) -> bool:
        rule = self.rule
        if rule.on_dispatch:
            return any(pipeline.permits(rule, user, case, d) for d in pipeline.own_dispatches(user, case))
        if not pipeline.permits(rule, user, case):
            return False
        if self.then:  # the second row, on the case as the first leaves it
            after = copy.copy(case)
            after.status = rule.to
            return pipeline.permits(self.then, user, after)
        return True


def _mine(user, case, name: str) -> Dispatch:
    """The user's dispatch on the case that the action applies to (their live one in the right state)."""
    rule = pipeline.RULES_BY_NAME[name]
    mine = pipeline.own_dispatches(user, case)
    dispatch = next((d for d in mine if d.status in rule.dispatch_statuses), None)
    if dispatch is None:
        raise ActionError(_("Your department has no live dispatch on this case."))
    return dispatch


PAGE_ACTIONS: list[PageAction] = [
    PageAction("accept", forms.NoteForm, lambda u, c, f: actions.accept_case(c, actor=u, note=f.cleaned_data["note"])),
    PageAction("reject", forms.ReasonForm,
               lambda u, c, f: actions.reject_case(c, actor=u, reason=f.cleaned_data["reason"])),
    PageAction("merge", forms.MergeForm,
               lambda u, c, f: actions.merge_case(c, actor=u, master=f.cleaned_data["master"],
                                                  note=f.cleaned_data["note"])),
    PageAction("dispatch", forms.DispatchForm,
               lambda u, c, f: actions.dispatch_case(c, actor=u, lead=f.cleaned_data["lead"],
                                                     assists=list(f.cleaned_data["assists"]),
                                                     note=f.cleaned_data["note"])),
    PageAction("sign", forms.SignForm,
               lambda u, c, f: actions.sign_dispatch(_mine(u, c, "sign"), actor=u, note=f.cleaned_data["note"])),
    PageAction("feedback", forms.FeedbackForm,
               lambda u, c, f: actions.feedback_dispatch(_mine(u, c, "feedback"), actor=u,
                                                         note=f.cleaned_data["note"],
                                                         photos=f.cleaned_data["photos"]), True),
    PageAction("request_extension", forms.ExtensionRequestForm,
               lambda u, c, f: actions.request_extension(_mine(u, c, "request_extension"), actor=u,
                                                         amount=f.cleaned_data["amount"],
                                                         unit=f.cleaned_data["unit"],
                                                         reason=f.cleaned_data["reason"])),
    PageAction("return", forms.ReturnForm,
               lambda u, c, f: actions.return_dispatch(_mine(u, c, "return"), actor=u,
                                                       reason=f.cleaned_data["reason"])),
    PageAction("decide_extension", forms.ExtensionDecisionForm,
               lambda u, c, f: actions.decide_extension(f.cleaned_data["extension"], actor=u,
                                                        approve=f.cleaned_data["approve"],
                                                        note=f.cleaned_data["note"])),
    PageAction("assign_verification", forms.AssignVerificationForm,
               lambda u, c, f: actions.assign_verification(c, actor=u, verifier=f.cleaned_data["verifier"])),
    PageAction("verify", forms.VerifyForm,
               lambda u, c, f: actions.verify_case(c, actor=u, passed=f.cleaned_data["passed"],
                                                   note=f.cleaned_data["note"], photos=f.cleaned_data["photos"],
                                                   client_uuid=f.cleaned_data.get("client_uuid")),
               True),
    PageAction("follow_up", forms.FollowUpForm,
               lambda u, c, f: actions.follow_up(c, actor=u, satisfaction=f.cleaned_data["satisfaction"],
                                                 note=f.cleaned_data["note"])),
    PageAction("close", forms.NoteForm, lambda u, c, f: actions.close_case(c, actor=u, note=f.cleaned_data["note"])),
    PageAction("supervise", forms.SuperviseForm,
               lambda u, c, f: actions.supervise_case(c, actor=u, level=f.cleaned_data["level"],
                                                      note=f.cleaned_data["note"])),
    PageAction("suspend", forms.ReasonForm,
               lambda u, c, f: actions.suspend_case(c, actor=u, reason=f.cleaned_data["reason"])),
    PageAction("resume", forms.NoteForm, lambda u, c, f: actions.resume_case(c, actor=u, note=f.cleaned_data["note"])),
    PageAction("escalate", forms.NoteForm,
               lambda u, c, f: actions.escalate_case(c, actor=u, note=f.cleaned_data["note"])),
    PageAction("hand_down", forms.HandDownForm,
               lambda u, c, f: actions.hand_down_case(c, actor=u, centre=f.cleaned_data["centre"],
                                                      note=f.cleaned_data["note"])),
]
ACTIONS_BY_NAME = {action.name: action for action in PAGE_ACTIONS}
assert set(ACTIONS_BY_NAME) == {rule.name for rule in pipeline.PAGE_RULES}, "a page action per table row"


def available_actions(user, case: Case) -> list[PageAction]:
    """The buttons of the case for the user: the table's permitted rows, in the table's order."""
    return [ACTIONS_BY_NAME[rule.name] for rule in pipeline.permitted_rules(user, case)]


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
        "attachments",
        # Duplicate suggestions only among cases the user can see (merging is for the owning centre).
        Prefetch("duplicate_candidates", queryset=visible_cases(user).select_related("category")),
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


# A case row names its grid; the grid's outline (a polygon of hundreds of points) stays in the database.
GRID_SHAPE = ("grid__boundary",)

SORTS = {
    "due": ("due_at", "id"), "-due": ("-due_at", "-id"), "reported": ("reported_at", "id"),
    "-reported": ("-reported_at", "-id"), "status": ("status", "-id"), "category": ("category__code", "-id"),
}


@login_required
@replica_reads
def case_list(request: HttpRequest) -> HttpResponse:
    """All cases in scope: filter (the API's filter set), sort, page."""
    base = visible_cases(request.user).select_related("category", "grid", "centre").defer(*GRID_SHAPE)
    filterset = CaseFilterSet(request.GET or None, queryset=base, request=request)
    queryset = filtered(filterset, base)
    sort = request.GET.get("sort", "-reported")
    queryset = queryset.order_by(*SORTS.get(sort, SORTS["-reported"]))
    # Counted exactly up to 10,000; past that the planner's estimate ("about"): a city's whole table.
    page = CappedPaginator(queryset, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return render(request, "cases/list.html", {
        "filter": filterset, "page": page, "sort": sort, "query": query.urlencode(),
        "sort_query": sort_query.urlencode(),
        "filters_active": any(value for name, value in request.GET.items() if name not in ("sort", "page")),
        "area_choices": pickers.area_choices(request.user, request.GET.get("within", "")),
        "category_families": pickers.category_families(),
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
        "may_merge": bool(pipeline.actor_kinds(pipeline.RULES_BY_NAME["merge"], request.user, case)),
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
        if wants_json(request):  # the phone's offline queue (static/js/offline.js)
            return JsonResponse({"ok": True, "url": target})
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
    if wants_json(request):
        return JsonResponse({"ok": False, "errors": form_errors(form)}, status=status)
    context = {"case": case, "action": action, "form": form, "open": True, "next": request.POST.get("next", "")}
    if request.headers.get("HX-Request"):
        return render(request, "cases/_action_form.html", context, status=status)
    return render(request, "cases/action_page.html", context, status=status)


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        actions.mark_notifications_read(request.user)
        return redirect("cases:notifications")
    rows = (Notification.objects.filter(recipient=request.user).select_related("event__case__category")
            .order_by("-created_at", "-id"))
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    page.object_list = notification_texts(list(page.object_list))  # in the reader's language (and link)
    return render(request, "cases/notifications.html", {"page": page})


@login_required
def notification_badge(request: HttpRequest) -> HttpResponse:
    count = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    return render(request, "cases/_badge.html", {"count": count})


def _tile_url(name: str) -> str:
    return reverse(name, args=[0, 0, 0]).replace("0/0/0.mvt", "{z}/{x}/{y}.mvt")


@login_required
def case_map(request: HttpRequest) -> HttpResponse:
    """The map of grids and open cases. At city scale (more open cases, or grids, in scope than the
    MAP_TILES_FROM_* settings) they come as vector tiles (cases.tiles, grids.tiles), else as GeoJSON
    once; a filtered map (?status=…) keeps the GeoJSON, which the filters apply to."""
    context = {}
    if not request.GET:
        cases_from, grids_from = settings.MAP_TILES_FROM_CASES, settings.MAP_TILES_FROM_GRIDS
        open_cases = visible_cases(request.user).filter(status__in=OPEN_STATUSES).order_by()
        if open_cases[: cases_from + 1].count() > cases_from:  # reads no further than the threshold
            context["case_tiles"] = _tile_url("tiles_cases")
        if visible_grids(request.user).order_by()[: grids_from + 1].count() > grids_from:
            context["grid_tiles"] = _tile_url("tiles_grids")
    return render(request, "cases/map.html", context)


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
        "id", "location", "light", "status", "category__name", "category__name_en", "reported_at"
    ).order_by("-id")[:5000]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(c.location.x, 6), round(c.location.y, 6)]},
            "properties": {"id": c.pk, "number": c.number, "light": c.light, "status": c.get_status_display(),
                           "category": c.category.display_name, "url": reverse("cases:detail", args=[c.pk])},
        }
        for c in rows
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})
