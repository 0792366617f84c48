"""Pages of people and places (issue #10, item 5).

- On the grid worker's phone (``/m/grid/…``): "my grid" (buildings, houses, people, organisations, key
  persons and the visits due, overdue first), a building with its houses, occupants and building heads,
  and a visit recorded in a few taps (note, photo, findings), after which a finding becomes a case in
  one more tap: the report form opens filled with it.
- For centres and officials (``/people/…``): registry lists with filters (residents, buildings, key
  persons) and the real-population figures per area.
- The building layer of the map (``/people/buildings.geojson``).

Reads start from parties.selectors (scoped like cases) and objects named in URLs come from
parties.access (outside scope → 404); the one write, a visit, goes through parties.actions.record_visit.
ID and phone numbers appear only as their stored masks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.uploads import prepare_upload
from govgrid import clock
from govgrid.errors import ActionError, NotFound
from govgrid.offline import form_errors, wants_json
from grids.choices import GRID_ROLES, Level
from grids.models import Area
from grids.scope import scope_for, visible_areas
from parties import access, actions, selectors
from parties.choices import AttentionLevel, KeyPersonCategory, ResidenceKind
from parties.models import Building, KeyPerson, Resident, Visit

PAGE_SIZE = 30
DUE_SOON_DAYS = 7
FIGURES_VISIT_DAYS = 90
MAP_BUILDINGS = 5000


# --- shared reads ----------------------------------------------------------------------------------


def my_grid_q(user, prefix: str = "") -> Q:
    """Rows in the grids the user works in (grid worker or leader memberships), whatever else they see."""
    grids = Area.objects.filter(memberships__user=user, memberships__role__in=GRID_ROLES).values_list(
        "path", flat=True)
    query = Q(pk__in=[])
    for path in grids:
        query |= Q(**{f"{prefix}area_path__startswith": path})
    return query


def _area_from(request: HttpRequest) -> Area | None:
    """The area named by ``?area=<code>`` if the user may see it (an unknown code is ignored)."""
    code = (request.GET.get("area") or "").strip()
    if not code:
        return None
    return visible_areas(request.user).filter(code=code).first()


def _in_area(queryset: QuerySet, area: Area | None) -> QuerySet:
    return queryset.filter(area_path__startswith=area.path) if area is not None else queryset


def _page(request: HttpRequest, rows: QuerySet):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _query(request: HttpRequest) -> str:
    """The filters of the current list without its page number, for the pager's links."""
    return urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])


def _resident_rows(queryset: QuerySet[Resident]) -> QuerySet[Resident]:
    return queryset.select_related("grid", "house__building").only(
        "id", "name", "sex", "birth_date", "residence_kind", "id_number_masked", "phone_masked", "moved_out_on",
        "grid__name", "grid__code", "house__room", "house__unit", "house__building__address",
    )


def _building(user, pk: int) -> Building:
    try:
        return access.access_building_by_id(user, pk)
    except NotFound:
        raise Http404 from None


def _key_person(user, pk: int, *, act: bool = False) -> KeyPerson:
    try:
        return access.access_key_person_by_id(user, pk, act=act)
    except NotFound:
        raise Http404 from None


def building_context(user, building: Building) -> dict:
    """A building as both the phone and the desk show it: houses with their occupants (masked),
    organisations, and its people structure (楼栋长, 单元长, 楼层长)."""
    houses = list(building.houses.order_by("unit", "floor", "room"))
    occupants: dict[int, list[Resident]] = defaultdict(list)
    residents = _resident_rows(selectors.visible_residents(user).filter(house__building=building,
                                                                          moved_out_on__isnull=True))
    for resident in residents.order_by("name"):
        occupants[resident.house_id].append(resident)
    for house in houses:
        house.people = occupants.get(house.pk, [])
    roles = selectors.visible_building_roles(user).filter(building=building).select_related("resident", "user")
    return {
        "building": building, "houses": houses, "roles": roles,
        "organisations": selectors.visible_organisations(user).filter(building=building).order_by("name"),
        "rental_count": sum(1 for h in houses if h.is_rental),
        "people_count": sum(len(h.people) for h in houses),
    }


# --- the phone: my grid ----------------------------------------------------------------------------


def due_key_persons(user, *, now: dt.datetime | None = None) -> QuerySet[KeyPerson]:
    """The visits this worker owes within a week, the overdue first (earliest due first)."""
    now = now or clock.now()
    return selectors.visible_key_persons(user).filter(
        worker=user, is_active=True, next_visit_due__lte=now + dt.timedelta(days=DUE_SOON_DAYS),
    ).select_related("resident__house__building").order_by("next_visit_due", "pk")


@login_required
def my_grid(request: HttpRequest) -> HttpResponse:
    user = request.user
    mine = my_grid_q(user)
    residents = selectors.visible_residents(user).filter(mine, moved_out_on__isnull=True)
    kinds = dict(residents.order_by().values("residence_kind").annotate(n=Count("id")).values_list(
        "residence_kind", "n"))
    houses = selectors.visible_houses(user).filter(mine)
    now = clock.now()
    due = list(due_key_persons(user, now=now)[:20])
    return render(request, "parties/m_grid.html", {
        "now": now,
        "due": due,
        "overdue_count": sum(1 for k in due if k.next_visit_due and k.next_visit_due < now),
        "counts": {
            "buildings": selectors.visible_buildings(user).filter(mine).count(),
            "houses": houses.count(),
            "rental": houses.filter(is_rental=True).count(),
            "registered": kinds.get(ResidenceKind.REGISTERED, 0),
            "floating": kinds.get(ResidenceKind.FLOATING, 0),
            "overseas": kinds.get(ResidenceKind.OVERSEAS, 0),
            "organisations": selectors.visible_organisations(user).filter(mine).count(),
            "key_persons": selectors.visible_key_persons(user).filter(mine, is_active=True).count(),
        },
    })


@login_required
def m_buildings(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    rows = selectors.visible_buildings(request.user).filter(my_grid_q(request.user))
    if q:
        rows = rows.filter(Q(address__icontains=q) | Q(number__icontains=q))
    rows = rows.select_related("grid").annotate(house_count=Count("houses")).order_by("number", "pk")
    return render(request, "parties/m_buildings.html", {"page": _page(request, rows), "q": q,
                                                          "query": _query(request)})


@login_required
def m_building(request: HttpRequest, pk: int) -> HttpResponse:
    building = _building(request.user, pk)
    return render(request, "parties/m_building.html", building_context(request.user, building))


@login_required
def m_people(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    kind = request.GET.get("kind") or ""
    rows = selectors.visible_residents(request.user).filter(my_grid_q(request.user), moved_out_on__isnull=True)
    if q:
        rows = rows.filter(name__icontains=q)
    if kind in ResidenceKind.values:
        rows = rows.filter(residence_kind=kind)
    return render(request, "parties/m_people.html", {
        "page": _page(request, _resident_rows(rows).order_by("name", "pk")), "q": q, "kind": kind,
        "kinds": ResidenceKind.choices, "query": _query(request),
    })


@login_required
def m_organisations(request: HttpRequest) -> HttpResponse:
    rows = selectors.visible_organisations(request.user).filter(my_grid_q(request.user)).select_related(
        "building").order_by("name", "pk")
    return render(request, "parties/m_organisations.html", {"page": _page(request, rows),
                                                              "query": _query(request)})


@login_required
def m_key_persons(request: HttpRequest) -> HttpResponse:
    rows = selectors.visible_key_persons(request.user).filter(my_grid_q(request.user), is_active=True)
    rows = rows.select_related("resident__house__building", "worker").order_by("next_visit_due", "pk")
    return render(request, "parties/m_key_persons.html", {"page": _page(request, rows), "now": clock.now(),
                                                            "query": _query(request)})


class VisitForm(forms.Form):
    # Set by the phone when the form is sent (static/js/offline.js): a resend answers with the first visit.
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=gettext_lazy("What you saw and talked about"), required=False, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    findings = forms.CharField(
        label=gettext_lazy("Findings (a problem to follow up)"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": gettext_lazy("Leave blank if all is well")}),
    )
    photo = forms.FileField(label=gettext_lazy("photo"), required=False, widget=forms.ClearableFileInput(
        attrs={"accept": "image/*", "capture": "environment"}))

    def clean_photo(self):
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        try:
            # Decoded and encoded again: nothing but the picture is kept (no EXIF position, no payload).
            return prepare_upload(upload, field="photo").file
        except ActionError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def clean(self):
        data = super().clean()
        if not (data.get("note") or "").strip() and not (data.get("findings") or "").strip():
            self.add_error("note", _("Write a word about the visit."))
        return data


@login_required
def m_visit(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a visit to a key person: note, photo, findings, one button."""
    key_person = _key_person(request.user, pk, act=True)
    status = 200
    if request.method == "POST":
        form = VisitForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                visit = actions.record_visit(key_person, actor=request.user, note=data["note"],
                                             findings=data["findings"], photo=data["photo"],
                                             client_uuid=data["client_uuid"])
            except NotFound:
                raise Http404 from None
            except ActionError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                if wants_json(request):  # the phone's offline queue (static/js/offline.js)
                    return JsonResponse({"ok": True, "url": reverse("parties:m_visit_done", args=[visit.pk])})
                return redirect("parties:m_visit_done", pk=visit.pk)
        status = 400
        if wants_json(request):
            return JsonResponse({"ok": False, "errors": form_errors(form)}, status=status)
    else:
        form = VisitForm()
    visits = key_person.visits.select_related("worker").order_by("-visited_at", "-pk")[:5]
    return render(request, "parties/m_visit.html", {"kp": key_person, "form": form, "visits": visits,
                                                      "now": clock.now()}, status=status)


def finding_report_url(visit: Visit) -> str:
    """The report form filled with a visit's finding: the text, and the place of the person's building."""
    resident = visit.key_person.resident
    building = resident.house.building if resident.house_id and resident.house.building_id else None
    params = {"description": visit.findings}
    if building is not None:
        params.update(lon=f"{building.point.x:.6f}", lat=f"{building.point.y:.6f}", address=building.address)
    return reverse("worker:report") + "?" + urlencode(params)


@login_required
def m_visit_done(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        visit = access.access_visit_by_id(request.user, pk)
    except NotFound:
        raise Http404 from None
    visit = Visit.objects.select_related("key_person__resident__house__building", "worker").get(pk=visit.pk)
    return render(request, "parties/m_visit_done.html", {
        "visit": visit, "kp": visit.key_person,
        "report_url": finding_report_url(visit) if visit.findings else "",
    })


# --- the desk: registry and figures ----------------------------------------------------------------


def _areas_for_filter(user) -> QuerySet[Area]:
    return visible_areas(user).filter(level__lt=Level.GRID).order_by("path")[:300]


@login_required
def residents(request: HttpRequest) -> HttpResponse:
    user = request.user
    area = _area_from(request)
    rows = _in_area(selectors.visible_residents(user), area)
    q = (request.GET.get("q") or "").strip()
    kind = request.GET.get("kind") or ""
    category = request.GET.get("category") or ""
    if request.GET.get("gone") != "1":
        rows = rows.filter(moved_out_on__isnull=True)
    if q:
        rows = rows.filter(name__icontains=q)
    if kind in ResidenceKind.values:
        rows = rows.filter(residence_kind=kind)
    if category in KeyPersonCategory.values:
        rows = rows.filter(key_person_records__category=category, key_person_records__is_active=True)
    return render(request, "parties/residents.html", {
        "page": _page(request, _resident_rows(rows).order_by("area_path", "name", "pk")),
        "area": area, "areas": _areas_for_filter(user), "q": q, "kind": kind, "category": category,
        "kinds": ResidenceKind.choices, "categories": KeyPersonCategory.choices, "query": _query(request),
    })


@login_required
def buildings(request: HttpRequest) -> HttpResponse:
    user = request.user
    area = _area_from(request)
    q = (request.GET.get("q") or "").strip()
    rows = _in_area(selectors.visible_buildings(user), area)
    if q:
        rows = rows.filter(Q(address__icontains=q) | Q(number__icontains=q))
    rows = rows.select_related("grid").annotate(
        house_count=Count("houses", distinct=True),
        rental_count=Count("houses", filter=Q(houses__is_rental=True), distinct=True),
    ).order_by("area_path", "number", "pk")
    return render(request, "parties/buildings.html", {
        "page": _page(request, rows), "area": area, "areas": _areas_for_filter(user), "q": q,
        "query": _query(request),
    })


@login_required
def building(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "parties/building.html", building_context(request.user, _building(request.user, pk)))


@login_required
def key_persons(request: HttpRequest) -> HttpResponse:
    user = request.user
    area = _area_from(request)
    rows = _in_area(selectors.visible_key_persons(user), area).filter(is_active=True)
    category = request.GET.get("category") or ""
    level = request.GET.get("level") or ""
    overdue = request.GET.get("overdue") == "1"
    if category in KeyPersonCategory.values:
        rows = rows.filter(category=category)
    if level in AttentionLevel.values:
        rows = rows.filter(attention_level=level)
    now = clock.now()
    if overdue:
        rows = rows.filter(next_visit_due__lt=now)
    rows = rows.select_related("resident", "grid", "worker").order_by("next_visit_due", "pk")
    return render(request, "parties/key_persons.html", {
        "page": _page(request, rows), "area": area, "areas": _areas_for_filter(user), "now": now,
        "category": category, "level": level, "overdue": overdue, "categories": KeyPersonCategory.choices,
        "levels": AttentionLevel.choices, "query": _query(request),
    })


def _default_area(user) -> Area | None:
    """The top of what the user sees: their own area, or the city for an admin."""
    scope = scope_for(user)
    if scope.is_admin:
        return Area.objects.filter(parent__isnull=True).order_by("code").first()
    if not scope.see_paths:
        return None
    return Area.objects.filter(path=sorted(scope.see_paths, key=len)[0]).first()


def population_figures(user, area: Area, *, now: dt.datetime | None = None) -> dict:
    """The real-population figures of ``area`` (in the user's scope), one row per child area and a
    total: registered / floating / overseas residents, houses and rental houses, active key persons,
    and visits made on time in the last ``FIGURES_VISIT_DAYS`` days; and key persons by category and
    level. Each table is read once, grouped by grid, then summed up to the children."""
    now = now or clock.now()
    children = list(area.children.order_by("code")) if area.level != Level.GRID else [area]
    rows = {child.pk: {"area": child, "registered": 0, "floating": 0, "overseas": 0, "houses": 0, "rental": 0,
                       "key_persons": 0, "visits": 0, "on_time": 0} for child in children}

    def child_of(path: str):
        for child in children:
            if path.startswith(child.path):
                return rows[child.pk]
        return None

    scoped = {
        "residents": _in_area(selectors.visible_residents(user), area).filter(moved_out_on__isnull=True),
        "houses": _in_area(selectors.visible_houses(user), area),
        "key_persons": _in_area(selectors.visible_key_persons(user), area).filter(is_active=True),
        "visits": _in_area(selectors.visible_visits(user), area).filter(
            visited_at__gte=now - dt.timedelta(days=FIGURES_VISIT_DAYS)),
    }
    grid_paths = dict(Area.objects.filter(level=Level.GRID, path__startswith=area.path).values_list("pk", "path"))

    def add(queryset: QuerySet, **counts) -> None:
        for found in queryset.order_by().values("grid_id").annotate(**counts):
            row = child_of(grid_paths.get(found.pop("grid_id"), ""))
            if row is not None:
                for name, value in found.items():
                    row[name] += value

    add(scoped["residents"],
        registered=Count("id", filter=Q(residence_kind=ResidenceKind.REGISTERED)),
        floating=Count("id", filter=Q(residence_kind=ResidenceKind.FLOATING)),
        overseas=Count("id", filter=Q(residence_kind=ResidenceKind.OVERSEAS)))
    add(scoped["houses"], houses=Count("id"), rental=Count("id", filter=Q(is_rental=True)))
    add(scoped["key_persons"], key_persons=Count("id"))
    add(scoped["visits"], visits=Count("id"), on_time=Count("id", filter=Q(on_time=True)))
    table = list(rows.values())
    total = {name: sum(r[name] for r in table) for name in table[0] if name != "area"} if table else {}
    for row in [*table, total]:
        row["on_time_rate"] = round(100 * row["on_time"] / row["visits"], 1) if row.get("visits") else None
    by_level = defaultdict(dict)
    for found in scoped["key_persons"].order_by().values("category", "attention_level").annotate(n=Count("id")):
        by_level[found["category"]][found["attention_level"]] = found["n"]
    matrix = [
        {"label": label, "value": value, "levels": [by_level[value].get(level, 0) for level in AttentionLevel.values],
         "total": sum(by_level[value].values())}
        for value, label in KeyPersonCategory.choices if by_level.get(value)
    ]
    return {"rows": table, "total": total, "matrix": matrix}


@login_required
def figures(request: HttpRequest) -> HttpResponse:
    user = request.user
    area = _area_from(request) or _default_area(user)
    context = {"area": area, "areas": _areas_for_filter(user), "levels": AttentionLevel.choices,
               "visit_days": FIGURES_VISIT_DAYS}
    if area is not None:
        context.update(population_figures(user, area))
        context["trail"] = list(Area.objects.filter(code__in=area.path.rstrip("/").split("/")[:-1]).filter(
            pk__in=visible_areas(user).values("pk")).order_by("path"))
    return render(request, "parties/figures.html", context)


@login_required
def buildings_geojson(request: HttpRequest) -> JsonResponse:
    """Buildings in scope as points for the map's building layer (at most MAP_BUILDINGS; at city scale
    this layer wants vector tiles, like the cases do)."""
    rows = selectors.visible_buildings(request.user)
    rows = rows.annotate(house_count=Count("houses")).only("id", "address", "number", "point").order_by("pk")
    features = [
        {"type": "Feature",
         "geometry": {"type": "Point", "coordinates": [round(b.point.x, 6), round(b.point.y, 6)]},
         "properties": {"id": b.pk, "address": b.address, "houses": b.house_count,
                        "url": reverse("parties:building", args=[b.pk])}}
        for b in rows[:MAP_BUILDINGS]
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})
