"""Patrol pages 巡查: the grid worker's phone page (/m/patrol/) and the centre's "who is patrolling now"
(/patrols/), with the day's tracks for the case map's patrol layer.

The phone page records positions with static/js/patrol.js, which puts them in batches into the offline
queue (static/js/offline.js): the batches, the check-ins and the end are posted here by the queue with
``Accept: application/json`` and answered ``{"ok": true, "url": …}`` or ``{"ok": false, "errors": …}``
with the 4xx (govgrid.offline). Patrols are found through the access module and changed only by
cases.actions.patrols.
"""

from __future__ import annotations

import json
import uuid

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError

from cases import access
from cases.actions import patrols as patrol_actions
from cases.api.patrols import PointsInputSerializer, parse_day
from cases.patrol_selectors import day_bounds, patrolling_now, tracks_geojson
from cases.patrols import Patrol, PatrolStatus
from govgrid import clock
from govgrid.errors import ActionError
from govgrid.offline import form_errors, wants_json
from grids.scope import scope_for
from parties.models import Building

# How often the phone keeps a position, and how often it sends what it kept (settings may change both).
POINT_SECONDS = 15
BATCH_SECONDS = 60
CHECKIN_BUILDINGS = 300


class StartForm(forms.Form):
    grid = forms.ModelChoiceField(label=gettext_lazy("grid"), queryset=None, required=False, empty_label=None)
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = access.patrol_grids_for(user).order_by("code")


class PointsForm(forms.Form):
    """A batch from the queue: ``points`` is the JSON list the REST endpoint takes."""

    points = forms.CharField(max_length=200_000)
    client_uuid = forms.UUIDField(required=False)

    def fixes(self) -> list[patrol_actions.Fix]:
        try:
            points = json.loads(self.cleaned_data["points"])
        except ValueError:
            raise ActionError(_("The positions are not readable (malformed JSON)."), field="points") from None
        serializer = PointsInputSerializer(data={"points": points})
        if not serializer.is_valid():
            message = _first(serializer.errors.get("points")) or _("The positions are not valid.")
            raise ActionError(message, field="points")
        return serializer.fixes()


def _first(errors) -> str:
    """The first message of DRF's nested errors ({"0": {"lat": [...]}} or [...])."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            inner = _first(value)
            if inner:
                return f"{_('Position %(n)s') % {'n': int(key) + 1}}: {inner}" if str(key).isdigit() else inner
        return ""
    if isinstance(errors, list):
        for value in errors:
            inner = _first(value)
            if inner:
                return inner
        return ""
    return str(errors)


class CheckInForm(forms.Form):
    place = forms.CharField(label=pgettext_lazy("patrol", "place"), required=False, max_length=200,
                            widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. east gate of the market")}))
    building = forms.ModelChoiceField(label=gettext_lazy("or a building"), queryset=Building.objects.none(),
                                      required=False, empty_label=gettext_lazy("— no building —"))
    note = forms.CharField(label=gettext_lazy("note"), required=False, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 2}))
    photo = forms.FileField(label=gettext_lazy("photo"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}))
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, patrol: Patrol, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.filter(grid_id=patrol.grid_id).order_by("number")


class EndForm(forms.Form):
    at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)


def _answer(request: HttpRequest, *, ok: bool, url: str = "", errors: dict | None = None, status: int = 200,
            extra: dict | None = None) -> HttpResponse:
    if wants_json(request):
        body = {"ok": True, "url": url, **(extra or {})} if ok else {"ok": False, "errors": errors or {}}
        return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    if not ok:
        for problems in (errors or {}).values():
            for problem in problems:
                messages.error(request, problem)
    return redirect(url or reverse("patrol:phone"))


def _refused(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return _answer(request, ok=False, errors={exc.field or "form": [exc.message]}, status=exc.status_code,
                   url=reverse("patrol:phone"))


# --- the phone --------------------------------------------------------------------------------------


@login_required
@require_GET
def phone(request: HttpRequest) -> HttpResponse:
    """The patrol page: start one, or the running one with its time and distance, a check-in and the
    way to report a finding; the positions are recorded while the page is open."""
    user = request.user
    patrol = Patrol.objects.filter(worker=user, status=PatrolStatus.ACTIVE).select_related("grid").first()
    context = {"patrol": patrol, "point_seconds": _setting("PATROL_POINT_SECONDS", POINT_SECONDS),
               "batch_seconds": _setting("PATROL_BATCH_SECONDS", BATCH_SECONDS)}
    if patrol is None:
        context["start_form"] = StartForm(user=user, initial={"client_uuid": uuid.uuid4()})
        context["grids"] = list(context["start_form"].fields["grid"].queryset[:20])
    else:
        context["checkin_form"] = CheckInForm(patrol=patrol)
        context["end_form"] = EndForm()
        context["findings"] = patrol.findings.select_related("case__category").order_by("-case__reported_at")[:10]
        context["checkins"] = patrol.checkins.select_related("building").order_by("-at")[:10]
    context["recent"] = Patrol.objects.filter(worker=user, status=PatrolStatus.ENDED).select_related(
        "grid").defer("track", "grid__boundary", "grid__centroid").order_by("-started_at")[:5]
    return render(request, "worker/patrol.html", context)


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


@login_required
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    form = StartForm(request.POST, user=request.user)
    if not form.is_valid():
        return _answer(request, ok=False, errors=form_errors(form), status=400, url=reverse("patrol:phone"))
    try:
        patrol_actions.start_patrol(worker=request.user, grid=form.cleaned_data["grid"],
                                    client_uuid=form.cleaned_data["client_uuid"])
    except ActionError as exc:
        return _refused(request, exc)
    return _answer(request, ok=True, url=reverse("patrol:phone"))


@login_required
@require_POST
def points(request: HttpRequest, pk: int) -> HttpResponse:
    """A batch of positions from the queue (the same rules as the REST endpoint)."""
    form = PointsForm(request.POST)
    if not form.is_valid():
        return _answer(request, ok=False, errors=form_errors(form), status=400)
    try:
        added = patrol_actions.add_points(pk, actor=request.user, points=form.fixes())
    except ActionError as exc:
        return _refused(request, exc)
    patrol = Patrol.objects.only("distance_m", "point_count").get(pk=pk)
    return _answer(request, ok=True, url=reverse("patrol:phone"),
                   extra={"added": added, "distance_m": patrol.distance_m, "point_count": patrol.point_count})


@login_required
@require_POST
def check_in(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        patrol = access.access_own_patrol(request.user, pk)
    except ActionError as exc:
        return _refused(request, exc)
    form = CheckInForm(request.POST, request.FILES, patrol=patrol)
    if not form.is_valid():
        return _answer(request, ok=False, errors=form_errors(form), status=400)
    data = form.cleaned_data
    if data["lon"] is None or data["lat"] is None:
        return _answer(request, ok=False, status=400, errors={"location": [
            _("The phone has no position yet: allow location access and wait a moment.")]})
    try:
        patrol_actions.check_in(patrol, actor=request.user, lon=data["lon"], lat=data["lat"], at=data["at"],
                                building=data["building"], place=data["place"], note=data["note"],
                                photo=data["photo"], client_uuid=data["client_uuid"])
    except ActionError as exc:
        return _refused(request, exc)
    if not wants_json(request):
        messages.success(request, _("Checked in."))
    return _answer(request, ok=True, url=reverse("patrol:phone"))


@login_required
@require_POST
def end(request: HttpRequest, pk: int) -> HttpResponse:
    form = EndForm(request.POST)
    if not form.is_valid():
        return _answer(request, ok=False, errors=form_errors(form), status=400)
    try:
        patrol = patrol_actions.end_patrol(pk, actor=request.user, at=form.cleaned_data["at"])
    except ActionError as exc:
        return _refused(request, exc)
    if not wants_json(request):
        messages.success(request, _("Patrol ended: %(km).2f km in %(minutes)s minutes.")
                         % {"km": patrol.distance_m / 1000, "minutes": patrol.duration_s() // 60})
    return _answer(request, ok=True, url=reverse("patrol:phone"))


# --- the centre -------------------------------------------------------------------------------------


@login_required
@require_GET
def now(request: HttpRequest) -> HttpResponse:
    """Who is patrolling now, in the user's scope; and today's ended patrols below."""
    if scope_for(request.user).is_empty:
        raise Http404
    current = clock.now()
    rows = list(patrolling_now(request.user)[:500])
    for patrol in rows:
        seconds = patrol.duration_s(current)
        patrol.running = f"{seconds // 3600}:{seconds // 60 % 60:02d}"  # h:mm
        patrol.quiet_s = int((current - patrol.last_point_at).total_seconds()) if patrol.last_point_at else None
    since, _until = day_bounds(timezone.localdate(current))
    ended = (access.patrols_for(request.user).filter(status=PatrolStatus.ENDED, started_at__gte=since)
             .select_related("worker", "grid").defer("track", "grid__boundary", "grid__centroid")
             .order_by("-ended_at")[:100])
    return render(request, "cases/patrols_now.html", {"rows": rows, "ended": ended, "now": current})


@login_required
@require_GET
def tracks(request: HttpRequest) -> JsonResponse:
    """The day's tracks in scope as GeoJSON, for the case map's patrol layer (?date=YYYY-MM-DD)."""
    try:
        day = parse_day(request.GET.get("date"))
    except ValidationError:
        return JsonResponse({"detail": _("Give a day as YYYY-MM-DD.")}, status=400)
    return JsonResponse(tracks_geojson(request.user, day), json_dumps_params={"ensure_ascii": False})


phone_urls = [
    path("", phone, name="phone"),
    path("start/", start, name="start"),
    path("<int:pk>/points/", points, name="points"),
    path("<int:pk>/checkin/", check_in, name="checkin"),
    path("<int:pk>/end/", end, name="end"),
]
desk_urls = [
    path("", now, name="now"),
    path("tracks.geojson", tracks, name="tracks"),
]
