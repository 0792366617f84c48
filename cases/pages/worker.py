"""Grid worker pages (phone first, mounted at /m/): home, report an incident, a case, verification tasks.

Reads start from cases.selectors.visible_cases and grids.scope (a case outside scope → 404). The
report form calls cases.actions.report_case and nothing else; the verify form posts to the shared
``cases:action`` endpoint. Reporting works as a plain multipart form, and report.js sends the same
form with fetch() so that a failed request on a weak network keeps what was typed and the photos;
the hidden ``client_uuid`` (made once, when the empty form is first rendered) makes any resend
return the case of the first one instead of a second case.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import actions, pipeline
from cases.choices import OPEN_STATUSES, Status
from cases.forms import MultipleFileField, MultipleFileInput
from cases.models import Case, Category, Notification
from cases.pages.common import ACTIONS_BY_NAME, GRID_SHAPE, case_for_page
from cases.patrols import Patrol, PatrolStatus
from cases.selectors import visible_cases
from cases.uploads import check_upload
from govgrid.errors import ActionError
from grids.choices import GRID_ROLES
from grids.models import Area
from grids.scope import scope_for, visible_grids
from grids.selectors import LocationError, locate_grid
from parties.addresses import suggest

RECENT_REPORTS = 10
MOST_USED = 8

MODE_NORMAL, MODE_SELF_RESOLVE, MODE_REPORT_ONLY = "normal", "self_resolve", "report_only"
MODES = [
    (MODE_NORMAL, gettext_lazy("Report")),
    (MODE_SELF_RESOLVE, gettext_lazy("Resolved on the spot")),
    (MODE_REPORT_ONLY, gettext_lazy("Report only")),
]

# Where each action refusal is shown on the report form (the action names its own fields).
ERROR_FIELDS = {
    "location": "location", "lon": "location", "lat": "location", "category": "category",
    "description": "description", "photos": "photos", "after_photos": "after_photos",
    "resolution_note": "resolution_note", "mode": "mode", "self_resolve": "mode", "report_only": "mode",
    "address": "address",
}
CAMERA = {"accept": "image/*", "capture": "environment"}


class ReportForm(forms.Form):
    """The report form's input. Rules about the case itself (a leaf category, a description, a point
    inside a grid, after-photos for 自处置) are the action's; the form only reads the request."""

    category = forms.ModelChoiceField(
        label=gettext_lazy("category"), queryset=Category.objects.none(),
        error_messages={"required": gettext_lazy("Choose the kind of problem."),
                        "invalid_choice": gettext_lazy("Choose the kind of problem from the list.")},
    )
    description = forms.CharField(
        label=gettext_lazy("description"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": gettext_lazy(
            "What is wrong, and where exactly (e.g. rubbish piled east of the crossing)")}),
    )
    photos = MultipleFileField(label=gettext_lazy("photos"), widget=MultipleFileInput(attrs=CAMERA))
    lon = forms.FloatField(label=gettext_lazy("longitude"), required=False, min_value=-180, max_value=180,
                           widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    lat = forms.FloatField(label=gettext_lazy("latitude"), required=False, min_value=-90, max_value=90,
                           widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    # Blank: intake files the nearest standard address; address.js fills in that suggestion as the pin moves.
    address = forms.CharField(label=gettext_lazy("address"), required=False, max_length=200)
    mode = forms.ChoiceField(choices=MODES, initial=MODE_NORMAL, widget=forms.RadioSelect)
    resolution_note = forms.CharField(
        label=gettext_lazy("how it was resolved"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    after_photos = MultipleFileField(label=gettext_lazy("photos after resolving"),
                                     widget=MultipleFileInput(attrs=CAMERA))
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # A finding of the worker's patrol (巡查): the case is linked to it (cases.actions.report_finding).
    patrol = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, categories: QuerySet[Category], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories

    def _clean_photos(self, name: str) -> list:
        # The same check the action makes, here only so that a wrong after-photo is named beside
        # its own field rather than beside the report photos.
        files = self.cleaned_data.get(name) or []
        for upload in files:
            try:
                check_upload(upload, field=name)
            except ActionError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
        return files

    def clean_photos(self) -> list:
        return self._clean_photos("photos")

    def clean_after_photos(self) -> list:
        return self._clean_photos("after_photos")


# --- reads -----------------------------------------------------------------------------------


def my_grids(user) -> QuerySet[Area]:
    """The grids the user works in (grid worker or grid leader memberships), within their scope."""
    return visible_grids(user, act=True).filter(
        memberships__user=user, memberships__role__in=GRID_ROLES
    ).select_related("profile", "parent").distinct().order_by("code")


def verification_tasks(user) -> QuerySet[Case]:
    """Handled cases waiting for this user's on-site check: those assigned to them (one verifier per
    case: the reporter by default, or whoever the centre assigned; cases.pipeline's VERIFIER)."""
    return visible_cases(user).filter(status=Status.HANDLED, verifier=user)


def leaf_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True).select_related(
        "parent"
    )


def ordered_categories(user, leaves: QuerySet[Category]) -> tuple[list[Category], set[int]]:
    """Leaves in the order a worker picks them: their own most used first, then by sort order."""
    used = list(
        Case.objects.filter(reporter=user, category__in=leaves).values("category").annotate(n=Count("id"))
        .order_by("-n", "category").values_list("category", flat=True)[:MOST_USED]
    )
    rank = {pk: index for index, pk in enumerate(used)}
    ordered = sorted(leaves.order_by("sort_order", "code"), key=lambda c: rank.get(c.pk, len(rank)))
    return ordered, set(used)


def category_groups(ordered: list[Category], used: set[int]) -> list[tuple[str, list[Category]]]:
    """The plain <select>'s option groups: the worker's most used, then each family."""
    groups: list[tuple[str, list[Category]]] = []
    if used:
        groups.append((_("Most used"), [c for c in ordered if c.pk in used]))
    families: dict[Category, list[Category]] = {}
    for leaf in sorted(ordered, key=lambda c: (c.parent.sort_order, c.parent.code, c.sort_order, c.code)):
        families.setdefault(leaf.parent, []).append(leaf)
    groups.extend((family.name, family_leaves) for family, family_leaves in families.items())
    return groups


# --- pages -----------------------------------------------------------------------------------


def open_sweep_count(user) -> int:
    from cases.pages.sweeps import open_sweep_count as count  # sweeps' pages import this module's helpers

    return count(user)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    tasks = verification_tasks(user).select_related("category").order_by("verify_due_at", "id")
    recent = visible_cases(user).filter(reporter=user).select_related("category").order_by(
        "-reported_at", "-id")[:RECENT_REPORTS]
    return render(request, "worker/home.html", {
        "grids": my_grids(user)[:20],
        "tasks": tasks[:5],
        "task_count": tasks.count(),
        "unread": Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
        "recent": recent,
        "open_count": visible_cases(user).filter(reporter=user, status__in=OPEN_STATUSES).count(),
        "sweep_count": open_sweep_count(user),
        "patrol": Patrol.objects.filter(worker=user, status=PatrolStatus.ACTIVE).only("started_at").first(),
    })


@login_required
def tasks(request: HttpRequest) -> HttpResponse:
    rows = verification_tasks(request.user).select_related("category", "grid").defer(*GRID_SHAPE).order_by(
        "verify_due_at", "id")
    return render(request, "worker/tasks.html", {"tasks": rows[:100]})


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _error_key(field: str | None) -> str:
    """Where a message goes on the report form; "form" for the ones about the whole report."""
    return ERROR_FIELDS.get(field or "", "form")


def _location_error() -> str:
    return _("Set the location: allow location access, or drag the pin / tap the map where the problem is.")


@login_required
def report(request: HttpRequest) -> HttpResponse:
    """Report an incident. GET: the empty form with a fresh client_uuid. POST (plain or from
    report.js with ``Accept: application/json``): report_case, then the case page; refusals go
    beside their field, with everything typed kept."""
    user = request.user
    leaves = leaf_categories()
    status = 200
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = ReportForm(request.POST, request.FILES, categories=leaves)
        form.is_valid()
        errors = {_error_key(name): list(found) for name, found in form.errors.items()}
        data = form.cleaned_data
        if "location" not in errors and (data.get("lon") is None or data.get("lat") is None):
            errors["location"] = [_location_error()]
        status = 400
        if not errors:
            resolved = data["mode"] == MODE_SELF_RESOLVE
            report = {
                "category": data["category"], "lon": data["lon"], "lat": data["lat"],
                "description": data["description"], "address": data["address"], "client_uuid": data["client_uuid"],
                "photos": data["photos"], "self_resolve": resolved, "report_only": data["mode"] == MODE_REPORT_ONLY,
                "resolution_note": data["resolution_note"] if resolved else "",
                "after_photos": data["after_photos"] if resolved else (),
            }
            try:
                if data["patrol"]:  # a finding of the worker's patrol (the patrol page's link)
                    case, created = actions.report_finding(data["patrol"], actor=user, **report)
                else:
                    case, created = actions.report_case(reporter=user, **report)
            except ActionError as exc:
                status = exc.status_code
                errors[_error_key(exc.field)] = [exc.message]
            else:
                return _reported(request, case, created, patrol=bool(data["patrol"]))
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": errors}, status=status)
    else:
        form = ReportForm(initial={"client_uuid": uuid.uuid4(), "mode": MODE_NORMAL, **_prefill(request)},
                          categories=leaves)
    ordered, used = ordered_categories(user, leaves)
    grids = list(my_grids(user)[:1])
    centre = grids[0].centroid if grids and grids[0].centroid else None
    chosen = str(form["category"].value() or "")
    return render(request, "worker/report.html", {
        "form": form, "errors": errors, "categories": ordered, "used": used, "chosen": chosen,
        "category_groups": category_groups(ordered, used),
        "mode": form["mode"].value() or MODE_NORMAL, "modes": MODES, "centre": centre,
        "photos_dropped": request.method == "POST" and bool(request.FILES),
    }, status=status)


def _prefill(request: HttpRequest) -> dict:
    """What a link may fill in (``?description=&lon=&lat=&address=``): a visit's finding becomes a case
    in one more tap (parties.pages.finding_report_url). Nothing is sent until the worker sends it."""
    initial = {name: request.GET[name][:limit] for name, limit in (("description", 2000), ("address", 200))
               if request.GET.get(name)}
    if request.GET.get("patrol", "").isdigit() and len(request.GET["patrol"]) < 19:  # from the patrol page
        initial["patrol"] = int(request.GET["patrol"])
    try:
        lon, lat = float(request.GET["lon"]), float(request.GET["lat"])
    except (KeyError, ValueError):
        return initial
    if -180 <= lon <= 180 and -90 <= lat <= 90:
        initial.update(lon=lon, lat=lat)
    return initial


def _reported(request: HttpRequest, case: Case, created: bool, *, patrol: bool = False) -> HttpResponse:
    if not created:
        text = _("This report had already arrived: case %(number)s.")
    elif case.status == Status.CLOSED:
        text = _("Recorded as resolved on the spot: case %(number)s.")
    elif case.status == Status.FILED:
        text = _("Filed as report-only: case %(number)s.")
    else:
        text = _("Reported: case %(number)s. The centre will take it from here.")
    messages.success(request, text % {"number": case.number})
    url = reverse("patrol:phone") if patrol else reverse("worker:case", args=[case.pk])  # a finding: walk on
    if _wants_json(request):
        return JsonResponse({"ok": True, "url": url, "id": case.pk, "number": case.number, "created": created},
                            status=201 if created else 200)
    return redirect(url)


@login_required
def case_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One case on the phone: where it stands, its photos, a compact timeline, and the on-site
    verification form when that is this worker's task."""
    case = case_for_page(request.user, pk)
    verify = ACTIONS_BY_NAME["verify"]
    verify_form = None
    if verify.allowed(request.user, case, scope_for(request.user)):
        verify_form = verify.form(case=case, user=request.user, prefix=verify.name)
    events = case.events.select_related("actor").order_by("-at", "-id")
    return render(request, "worker/case.html", {
        "case": case, "events": events, "action": verify, "form": verify_form, "open": True,
        "next": reverse("worker:case", args=[case.pk]),
        "mine": case.reporter_id == request.user.pk,
    })


@login_required
def address_for_point(request: HttpRequest) -> JsonResponse:
    """The address a report at ``?lon=&lat=`` would be filed under (the nearest standard address within
    50 m, else the community and grid), for the report form to show before sending. Only for a point in
    a grid the user may report in: elsewhere the answer is empty, as the report would be refused."""
    try:
        lon, lat = float(request.GET.get("lon", "")), float(request.GET.get("lat", ""))
        grid = locate_grid(lon, lat)
    except (LocationError, ValueError):
        return JsonResponse({"address": "", "source": "", "distance_m": None})
    if not pipeline.may_report_in(request.user, grid):
        return JsonResponse({"address": "", "source": "", "distance_m": None})
    suggestion = suggest(Point(lon, lat, srid=4326), grid)
    return JsonResponse({"address": suggestion.address, "source": suggestion.source,
                         "distance_m": suggestion.distance_m})


app_name = "worker"
urlpatterns = [
    path("", home, name="home"),
    path("report/", report, name="report"),
    path("tasks/", tasks, name="tasks"),
    path("address/", address_for_point, name="address"),
    path("cases/<int:pk>/", case_page, name="case"),
]
