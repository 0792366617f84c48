"""Centre operator pages (desktop): the inbox of new reports, the board of open cases by stage, and the
approvals (extensions, returned dispatches, verification, closure).

Every list starts from cases.selectors.visible_cases, narrowed to the cases owned by a centre in the
user's centre scope. Actions run in place: a row's form posts to ``centre:do``, which runs the same
PageAction as the case page (cases.pages.common) and answers with the row in its new state (or a line
saying what was done), or with the form again and the refusal beside the field. The department pages
use the same machinery (InPlaceActions) under their own namespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page
from django.db import transaction
from django.db.models import Case as CaseWhen
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError

from cases import actions, deadlines, forms, pipeline
from cases.api.filters import CaseFilterSet
from cases.choices import DispatchRole, DispatchStatus, ExtensionStatus, Light, Stage, Status, Supervision
from cases.models import Case, Dispatch, ExtensionRequest
from cases.pages import pickers
from cases.pages.common import ACTIONS_BY_NAME, GRID_SHAPE, PageAction, case_for_page, run_page_action
from cases.pipeline import CITIZEN_CHANNELS
from cases.selectors import visible_cases
from govgrid import clock
from govgrid.paging import AtLeast, CappedPaginator, capped_count, capped_sum
from govgrid.replica import replica_reads
from govgrid.workcalendar import TimeUnit
from grids.choices import CENTRE_ROLES, Role
from grids.scope import Scope, scope_for

PER_PAGE = 20
LANE_CAP = 30


# --- who may use these pages, and which cases are theirs -------------------------------------------


def centre_scope(request: HttpRequest, *, officials: bool = False) -> Scope:
    """The user's scope if they are centre staff (or an admin; or, for read-only pages, an official)."""
    scope = scope_for(request.user)
    if scope.is_admin or scope.roles & set(CENTRE_ROLES) or (officials and Role.OFFICIAL in scope.roles):
        return scope
    raise PermissionDenied(_("These pages are for command centre staff."))


def centre_cases(user) -> QuerySet[Case]:
    """Cases the user sees that a centre within their centre scope owns (what they may act on)."""
    return visible_cases(user).filter(pipeline.centre_owned_q(user))


def board_cases(user, scope: Scope) -> QuerySet[Case]:
    """Centre staff: the cases their centres own; officials: every case under their areas."""
    if scope.is_admin or scope.roles & set(CENTRE_ROLES):
        return centre_cases(user)
    return visible_cases(user).filter(scope.area_q("area_"))


# --- filters shared by the three pages -------------------------------------------------------------


@dataclass
class PageFilters:
    """Area, category, supervision and text filters over a case queryset (the API's CaseFilterSet)."""

    request: HttpRequest
    fields: tuple[str, ...] = ("within", "category", "supervision", "q")
    errors: list[str] = field(default_factory=list)

    def apply(self, queryset: QuerySet[Case], prefix: str = "") -> QuerySet[Case]:
        if not self.active:
            return queryset
        data = QueryDict(mutable=True)
        for name in self.fields:
            data.setlist(name, [value for value in self.request.GET.getlist(name) if value])
        filterset = CaseFilterSet(data, queryset=queryset, request=self.request)
        if not filterset.is_valid():
            self.errors = [str(e) for errors in filterset.errors.values() for e in errors]
            return queryset.none()
        try:
            return filterset.qs
        except ValidationError as exc:  # an unknown area code: the API's filter answers in its own terms
            detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
            self.errors = [str(e) for errors in detail.values() for e in errors]
            return queryset.none()

    @property
    def active(self) -> bool:
        return any(self.request.GET.get(name) for name in self.fields)

    def context(self, user) -> dict[str, Any]:
        context: dict[str, Any] = {
            "supervision_choices": [c for c in Supervision.choices if c[0]],
            "filter_errors": self.errors, "filters_active": self.active, "GET": self.request.GET,
        }
        if "within" in self.fields:
            context["area_choices"] = pickers.area_choices(user, self.request.GET.get("within", ""))
        if "category" in self.fields:
            context["category_families"] = pickers.category_families()
        return context


def paginate(request: HttpRequest, queryset, param: str, per_page: int = PER_PAGE, count: int | None = None) -> Page:
    """A page of the queryset; ``count``, when the caller already knows how many rows it holds, saves
    counting them again (a second or so over a city's million cases, bench/pages.py)."""
    paginator = CappedPaginator(queryset, per_page)
    if count is not None:
        paginator.count = count  # Paginator.count is a cached_property: this is its cached value
    page = paginator.get_page(request.GET.get(param))
    query = request.GET.copy()
    query.pop(param, None)
    page.param, page.query = param, query.urlencode()
    return page


def exact(count: int) -> int | None:
    """A header figure as a paginator's count: None (count again, capped) when it stopped at its cap."""
    return None if isinstance(count, AtLeast) else count


def _now() -> datetime:
    return clock.now()


def limit_text(amount, unit: str) -> str:
    """'4 working hours': a time limit as people say it (no trailing zeros, no exponent)."""
    number = format(amount.normalize(), "f") if amount is not None else "?"
    label = TimeUnit(unit).label if unit in TimeUnit.values else unit
    return f"{number} {label}"


def dispatch_preview(case: Case, now: datetime) -> dict[str, Any] | None:
    """What dispatching now would set: the category's handling limit and the due time it gives."""
    if case.category.time_limit is None or not case.category.time_unit:
        return None
    limit = deadlines.category_limit(case.category)
    due = deadlines.under_mode(limit, case.clock_factor).due_from(now)
    return {"limit": limit_text(limit.amount, limit.unit), "due": due}


# --- in-place actions (shared with the department pages) ---------------------------------------------


def _accept_and_dispatch(user, case: Case, form) -> Case:
    """立案并派遣: both actions in one transaction, so a refused dispatch leaves the report untouched."""
    with transaction.atomic():
        case = actions.accept_case(case, actor=user, note=form.cleaned_data["note"])
        return actions.dispatch_case(case, actor=user, lead=form.cleaned_data["lead"],
                                     assists=list(form.cleaned_data["assists"]), note=form.cleaned_data["note"])


ACCEPT_AND_DISPATCH = PageAction(
    "accept_dispatch", forms.DispatchForm, _accept_and_dispatch, rule_name="accept", then="dispatch",
    title=gettext_lazy("Accept and dispatch"),
)


@dataclass(frozen=True)
class RowKind:
    """One kind of list row: how to load it again after an action, and whether it stays on its list."""

    template: str
    columns: int
    load: Callable[[Any, int], Any]  # (user, case pk) -> the row's object, or None
    keep: Callable[[Any], bool] = lambda row: False
    name: str = "case"  # the row object's name in the template


ROW_ID = re.compile(r"^row-[a-z_]+-\d+$")


class InPlaceActions:
    """The partial endpoints of one page namespace: a form for a row (GET) and its action (POST)."""

    def __init__(self, namespace: str, actions_: dict[str, PageAction], kinds: dict[str, RowKind], *,
                 home: str, guard: Callable[[HttpRequest], Any],
                 context: Callable[[HttpRequest], dict[str, Any]] | None = None) -> None:
        self.namespace, self.actions, self.kinds, self.home, self.guard = namespace, actions_, kinds, home, guard
        self.extra_context = context or (lambda request: {})

    def action(self, name: str) -> PageAction:
        if name not in self.actions:
            raise Http404(name)
        return self.actions[name]

    def form_context(self, request: HttpRequest, case: Case, action: PageAction, form, *, kind: str,
                     row_id: str, cancellable: bool = True) -> dict[str, Any]:
        if "note" in form.fields and not form.fields["note"].required:  # the choice first, a remark after it
            form.order_fields([name for name in form.fields if name != "note"] + ["note"])
        context = {
            "case": case, "action": action, "form": form, "kind": kind, "row_id": row_id,
            "cancellable": cancellable, "do_url": reverse(f"{self.namespace}:do", args=[case.pk, action.name]),
            "next": request.POST.get("next") or request.GET.get("next") or "",
        }
        if action.form is forms.DispatchForm:
            lead = form["lead"].value()
            context["preview_url"] = reverse("centre:due_preview", args=[case.pk])
            form.fields["lead"].widget.attrs.update({
                "hx-get": context["preview_url"], "hx-trigger": "change", "hx-target": f"#due-{case.pk}",
                "hx-swap": "outerHTML", "aria-describedby": f"due-{case.pk}",
            })
            context["preview"] = dispatch_preview(case, _now()) if lead else None
            context["lead_name"] = next((str(d) for d in form.fields["lead"].queryset if str(d.pk) == str(lead)),
                                        "") if lead else ""
        return context

    def _row_id(self, request: HttpRequest) -> str:
        row_id = request.POST.get("row") or request.GET.get("row") or ""
        return row_id if ROW_ID.match(row_id) else ""

    def form_view(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        self.guard(request)
        action = self.action(name)
        case = case_for_page(request.user, pk)
        kind, row_id = request.GET.get("kind", ""), self._row_id(request)
        if not action.allowed(request.user, case, scope_for(request.user)):
            return render(request, "centre/_unavailable.html", {"case": case, "action": action}, status=409)
        form = action.form(case=case, user=request.user, prefix=action.name)
        context = self.form_context(request, case, action, form, kind=kind, row_id=row_id)
        visible = [f for f in form.visible_fields() if f.name != "approve"]
        if visible:  # the panel opens with the keyboard in its first field
            visible[0].field.widget.attrs["autofocus"] = True
        return render(request, "centre/_inplace_form.html", context)

    def do_view(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        self.guard(request)
        action = self.action(name)
        case = case_for_page(request.user, pk)
        kind_name, row_id = request.POST.get("kind", ""), self._row_id(request)
        htmx = bool(request.headers.get("HX-Request"))
        if action.allowed(request.user, case, scope_for(request.user)):
            form, status = run_page_action(request, case, action)
        else:
            form = action.form(request.POST, request.FILES, case=case, user=request.user, prefix=action.name)
            form.is_valid()
            form.add_error(None, _("This cannot be done on the case now; someone may have done it already."))
            status = 409
        if status == 200:
            if not htmx:
                messages.success(request, _("%(action)s: done.") % {"action": action.label})
                target = request.POST.get("next", "")
                if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                    target = reverse(self.home)
                return redirect(target)
            response = HttpResponse(self.render_row(request, pk, action, kind_name, row_id))
            if row_id:
                response["HX-Retarget"] = f"#{row_id}"
                response["HX-Reswap"] = "outerHTML"
            response["HX-Trigger"] = "govgrid:changed"
            return response
        if not htmx:
            return render(request, "cases/action_page.html", {"case": case, "action": action, "form": form,
                                                              "open": True}, status=status)
        context = self.form_context(request, case, action, form, kind=kind_name, row_id=row_id,
                                    cancellable=request.POST.get("cancellable") == "1")
        context["compact"] = request.POST.get("compact") == "1"  # an inline form stays inline, with its error
        return render(request, "centre/_inplace_form.html", context, status=status)

    def render_row(self, request: HttpRequest, pk: int, action: PageAction, kind_name: str, row_id: str) -> str:
        kind = self.kinds.get(kind_name)
        row = kind.load(request.user, pk) if kind else None
        context = {"now": _now(), "next": request.POST.get("next", ""), **self.extra_context(request)}
        if kind is not None and row is not None and kind.keep(row):
            context.update({kind.name: row, "just_done": action.label})
            return render_to_string(kind.template, context, request=request)
        case = case_for_page(request.user, pk)
        context.update({"case": case, "action": action, "row_id": row_id,
                        "columns": kind.columns if kind else 1})
        return render_to_string("centre/_done_row.html", context, request=request)

    def urls(self) -> list:
        return [
            path("case/<int:pk>/form/<str:name>/", login_required(require_GET(self.form_view)), name="form"),
            path("case/<int:pk>/do/<str:name>/", login_required(require_POST(self.do_view)), name="do"),
        ]


# --- the rows the centre pages show ---------------------------------------------------------------


def _returned_leads() -> QuerySet[Dispatch]:
    """Lead dispatches a department returned, newest first (shown beside a case back at the centre)."""
    return Dispatch.objects.filter(role=DispatchRole.LEAD, status=DispatchStatus.RETURNED).select_related(
        "department").order_by("-returned_at")


def inbox_queryset(user) -> QuerySet[Case]:
    returned = _returned_leads()
    return centre_cases(user).select_related(
        "category", "grid", "reporter", "suggested_department", "centre"
    ).defer(*GRID_SHAPE).prefetch_related(
        # Only the candidates this user may see, oldest first: the report the others would be merged
        # into. The row shows three and counts the rest.
        Prefetch("duplicate_candidates", to_attr="duplicates",
                 queryset=visible_cases(user).select_related("category").order_by("reported_at", "id")),
        Prefetch("dispatches", queryset=returned, to_attr="returned_dispatches"),
    )


def approvals_queryset(user) -> QuerySet[Case]:
    returned = _returned_leads()
    return centre_cases(user).select_related(
        "category", "grid", "reporter", "verifier").defer(*GRID_SHAPE).prefetch_related(
        Prefetch("dispatches", queryset=returned, to_attr="returned_dispatches"),
        Prefetch("dispatches", queryset=Dispatch.objects.filter(
            role=DispatchRole.LEAD, status__in=[DispatchStatus.HANDLED]).select_related("department"),
            to_attr="lead_dispatches"),
    )


def with_age(cases, now: datetime):
    """How long ago each case was reported, in its largest unit ('2 hours'), for a narrow column."""
    for case in cases:
        case.age = timesince(case.reported_at, now, depth=1)
    return cases


def _load(queryset_fn) -> Callable[[Any, int], Case | None]:
    def load(user, pk: int) -> Case | None:
        case = queryset_fn(user).filter(pk=pk).first()
        return with_age([case], _now())[0] if case else None

    return load


CENTRE_ROWS = {
    "inbox": RowKind("centre/_inbox_row.html", 9, _load(inbox_queryset),
                     keep=lambda c: c.status in (Status.REPORTED, Status.ACCEPTED) and c.suspended_at is None),
    "returned": RowKind("centre/_returned_row.html", 6, _load(approvals_queryset)),
    "verification": RowKind("centre/_verification_row.html", 6, _load(approvals_queryset)),
    "closing": RowKind("centre/_closing_row.html", 6, _load(approvals_queryset),
                       keep=lambda c: c.status == Status.VERIFIED),
    "extension": RowKind("centre/_extension_row.html", 7, lambda user, pk: None),
}
CENTRE_ACTIONS = {
    name: ACTIONS_BY_NAME[name] for name in (
        "accept", "reject", "merge", "dispatch", "decide_extension", "assign_verification", "follow_up", "close",
    )
} | {ACCEPT_AND_DISPATCH.name: ACCEPT_AND_DISPATCH}
in_place = InPlaceActions("centre", CENTRE_ACTIONS, CENTRE_ROWS, home="centre:inbox", guard=centre_scope,
                          context=lambda request: {"citizen_channels": CITIZEN_CHANNELS})


# --- pages ----------------------------------------------------------------------------------------

INBOX_SORTS = {
    "due": ("due_at", "reported_at", "id"), "reported": ("reported_at", "id"), "-reported": ("-reported_at", "-id"),
}
INBOX_SORT_CHOICES = [
    ("due", gettext_lazy("deadline, soonest first")), ("reported", gettext_lazy("oldest report first")),
    ("-reported", gettext_lazy("newest report first")),
]


TALLY_CAP = 999


def _tallies(cases: QuerySet[Case], user) -> dict[str, int]:
    """The numbers in the page header, each counted no further than 999 ("999+", govgrid.paging): a
    city centre beside a million cases reads a few thousand index entries, not half the table."""
    open_statuses = [Status.REPORTED, Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.HANDLED]
    returned = Exists(Dispatch.objects.filter(
        case=OuterRef("pk"), role=DispatchRole.LEAD, status=DispatchStatus.RETURNED))
    figures = {
        "new": Q(status=Status.REPORTED),
        "new_red": Q(status=Status.REPORTED, is_red=True),  # is_red: light = red, with an index
        "accepted": Q(status=Status.ACCEPTED),
        "returned": Q(status=Status.ACCEPTED) & Q(returned),
        "to_verify": Q(status=Status.HANDLED, verifier__isnull=True),
        "to_close": Q(status=Status.VERIFIED),
        "overdue": Q(is_red=True, status__in=open_statuses),
    }
    tallies = {name: capped_count(cases.filter(condition), TALLY_CAP) for name, condition in figures.items()}
    tallies["extensions"] = capped_count(ExtensionRequest.objects.filter(
        status=ExtensionStatus.PENDING, dispatch__case__in=cases.values("pk")), TALLY_CAP)
    tallies["approvals"] = capped_sum(
        tallies["extensions"], tallies["returned"], tallies["to_verify"], tallies["to_close"])
    return tallies


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """New reports to accept, reject, merge or dispatch, and accepted cases waiting for dispatch."""
    centre_scope(request)
    filters = PageFilters(request)
    cases = filters.apply(inbox_queryset(request.user))
    sort = request.GET.get("sort", "due")
    order = INBOX_SORTS.get(sort, INBOX_SORTS["due"])
    now = _now()
    tallies = _tallies(centre_cases(request.user), request.user)
    # Unfiltered, the two lists hold what the header counted: no second count below its cap.
    new = paginate(request, cases.filter(status=Status.REPORTED).order_by(*order), "page",
                   count=None if filters.active else exact(tallies["new"]))
    accepted = paginate(request, cases.filter(status=Status.ACCEPTED).order_by(*order), "apage",
                        count=None if filters.active else exact(tallies["accepted"]))
    for page in (new, accepted):
        page.object_list = with_age(list(page.object_list), now)
    return render(request, "centre/inbox.html", {
        "new": new, "accepted": accepted, "sort": sort, "sort_choices": INBOX_SORT_CHOICES, "now": now,
        "tallies": tallies, "next": request.get_full_path(),
        **filters.context(request.user),
    })


LANES = [
    (Stage.ACCEPT, gettext_lazy("To accept and dispatch"), (Status.REPORTED, Status.ACCEPTED)),
    (Stage.SIGN, gettext_lazy("To sign"), (Status.DISPATCHED,)),
    (Stage.HANDLE, gettext_lazy("Handling"), (Status.IN_PROGRESS,)),
    (Stage.VERIFY, gettext_lazy("To verify"), (Status.HANDLED,)),
]
BOARD_STATUSES = [status for _stage, _label, statuses in LANES for status in statuses]
LIGHT_RANK = CaseWhen(
    When(light=Light.RED, then=Value(0)), When(light=Light.YELLOW, then=Value(1)),
    When(light=Light.GREEN, then=Value(2)), default=Value(3), output_field=IntegerField(),
)


@login_required
@replica_reads
def board(request: HttpRequest) -> HttpResponse:
    """Open cases by stage: a lane per stage with its lights counted, red first, then by due time."""
    scope = centre_scope(request, officials=True)
    filters = PageFilters(request, fields=("within", "category", "supervision"))
    cases = filters.apply(board_cases(request.user, scope))
    stages = [stage for stage, _label, _statuses in LANES]
    counts: dict[str, dict[str, int]] = {str(s): {"green": 0, "yellow": 0, "red": 0, "none": 0, "all": 0}
                                         for s in stages}
    for row in cases.filter(stage__in=stages, status__in=BOARD_STATUSES).values(
            "stage", "light").annotate(n=Count("pk")).order_by():
        lane = counts[row["stage"]]
        lane[row["light"] or "none"] += row["n"]
        lane["all"] += row["n"]
    leads = Dispatch.objects.filter(role=DispatchRole.LEAD, status__in=[
        DispatchStatus.DISPATCHED, DispatchStatus.SIGNED, DispatchStatus.HANDLED]).select_related("department")
    lanes = []
    query = {name: request.GET[name] for name in filters.fields if request.GET.get(name)}
    for stage, label, statuses in LANES:
        items = list(
            cases.filter(stage=stage, status__in=statuses).select_related("category", "grid").defer(*GRID_SHAPE)
            .prefetch_related(Prefetch("dispatches", queryset=leads, to_attr="leads"))
            .annotate(light_rank=LIGHT_RANK).order_by("light_rank", "due_at", "id")[:LANE_CAP]
        )
        more = {**query, "stage": stage, "open": "true", "sort": "due"}
        lanes.append({"stage": stage, "label": label, "items": items, "counts": counts[str(stage)],
                      "more": counts[str(stage)]["all"] > len(items), "more_query": more})
    totals = {key: sum(lane[key] for lane in counts.values()) for key in ("all", "red", "yellow", "green")}
    return render(request, "centre/board.html", {
        "lanes": lanes, "totals": totals, "now": _now(), **filters.context(request.user),
    })


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    """What waits for the centre's decision: extensions, returned dispatches, verification, closure."""
    centre_scope(request)
    filters = PageFilters(request, fields=("within", "category", "q"))
    cases = filters.apply(approvals_queryset(request.user))
    extensions = ExtensionRequest.objects.filter(
        status=ExtensionStatus.PENDING, dispatch__case__in=cases.values("pk"),
    ).select_related(
        "dispatch__department", "dispatch__case__category", "dispatch__case__grid", "requested_by",
    ).order_by("dispatch__due_at", "id")
    returned_lead = Dispatch.objects.filter(case=OuterRef("pk"), role=DispatchRole.LEAD,
                                            status=DispatchStatus.RETURNED)
    now = _now()
    extension_page = paginate(request, extensions, "epage")
    for extension in extension_page:
        extension.if_approved = deadlines.Limit(extension.amount, extension.unit).due_from(extension.dispatch.due_at)
        extension.amount_text = limit_text(extension.amount, extension.unit)
    return render(request, "centre/approvals.html", {
        "extensions": extension_page,
        "returned": paginate(request, cases.filter(Exists(returned_lead), status=Status.ACCEPTED)
                             .order_by("due_at", "id"), "rpage"),
        "to_verify": paginate(request, cases.filter(status=Status.HANDLED, verifier__isnull=True)
                              .order_by("due_at", "id"), "vpage"),
        "to_close": paginate(request, cases.filter(status=Status.VERIFIED).order_by("verified_at", "id"), "cpage"),
        "citizen_channels": CITIZEN_CHANNELS, "now": now, "next": request.get_full_path(),
        **filters.context(request.user),
    })


@login_required
@require_GET
def due_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The deadline a dispatch would set, shown as soon as a lead department is picked."""
    centre_scope(request)
    case = case_for_page(request.user, pk)
    lead_id = next((value for key, value in request.GET.items() if key.endswith("lead")), "")
    form = forms.DispatchForm(case=case, user=request.user)
    lead = form.fields["lead"].queryset.filter(pk=lead_id).first() if lead_id.isdigit() else None
    preview = dispatch_preview(case, _now()) if lead else None
    return render(request, "centre/_due_preview.html", {"case": case, "preview": preview, "lead_name": str(lead or "")})


app_name = "centre"
urlpatterns = [
    path("", inbox, name="inbox"),
    path("board/", board, name="board"),
    path("approvals/", approvals, name="approvals"),
    path("case/<int:pk>/due-preview/", due_preview, name="due_preview"),
    *in_place.urls(),
]
