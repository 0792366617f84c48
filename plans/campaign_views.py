"""Campaign pages (创无 10+N, 平安细胞): the list of campaigns with their figures at /plans/campaigns/,
a campaign's entries table and map, an entry's page with the inspection checklist (phone-friendly,
with photos), certification and revocation, and the map's GeoJSON.

Campaigns and entries come from plans.access (missing and out of scope alike are 404); every write is
an action of plans.campaigns, whose refusals are shown beside the form with their status.
"""

from __future__ import annotations

import functools
import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases.forms import MultipleFileField
from cases.media import stored_photo
from govgrid.errors import ActionError, NotFound
from grids.choices import Level
from grids.models import Area, Centre, Department
from grids.scope import scope_for, visible_areas, visible_departments
from parties.models import Organisation
from parties.selectors import visible_organisations
from plans import access, campaign_figures, campaigns
from plans.choices import Entrant, EntryStatus
from plans.models import Campaign, CampaignEntry


def found_or_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


def _lead_units(user) -> list[tuple[str, str]]:
    """Departments and centres the user can see, as ``department:<id>`` / ``centre:<id>`` choices."""
    scope = scope_for(user)
    centres = Centre.objects.select_related("area").order_by("area__path")
    if not scope.is_admin:
        centres = centres.filter(_centre_q(scope.see_paths))
    departments = visible_departments(user).filter(is_active=True).order_by("area__path", "name")
    return ([(f"department:{d.pk}", str(d)) for d in departments]
            + [(f"centre:{c.pk}", c.name) for c in centres])


def _centre_q(paths) -> Q:
    """Centres over or under the areas at ``paths``."""
    query = Q(pk__in=[])
    for path_ in paths:
        query |= Q(area__path__startswith=path_) | Q(area__path__in=access._ancestor_paths([path_]))
    return query


def _unit(key: str) -> dict:
    kind, _sep, pk = (key or "").partition(":")
    model = Department if kind == "department" else Centre
    return {"lead_department" if kind == "department" else "lead_centre": model.objects.get(pk=int(pk))}


class CampaignForm(forms.Form):
    type = forms.ModelChoiceField(label=gettext_lazy("campaign type"), queryset=access.campaign_types(),
                                  error_messages={"invalid_choice": gettext_lazy("No such campaign type.")})
    area = forms.ModelChoiceField(label=gettext_lazy("area"), queryset=Area.objects.none(),
                                  error_messages={"invalid_choice": gettext_lazy("No such area.")})
    title = forms.CharField(label=gettext_lazy("title"), max_length=200)
    year = forms.IntegerField(label=gettext_lazy("year"), min_value=2000, max_value=2100)
    starts_on = forms.DateField(label=gettext_lazy("starts on"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=gettext_lazy("ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    lead_unit = forms.ChoiceField(label=gettext_lazy("lead unit"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = visible_areas(user).filter(level__lte=Level.COMMUNITY).order_by("path")
        self.fields["lead_unit"].choices = _lead_units(user)


class EntryForm(forms.Form):
    area = forms.ModelChoiceField(label=gettext_lazy("area"), queryset=Area.objects.none(), required=False,
                                  error_messages={"invalid_choice": gettext_lazy("No such area.")})
    organisation = forms.ModelChoiceField(label=gettext_lazy("organisation"), queryset=Organisation.objects.none(),
                                          required=False,
                                          error_messages={"invalid_choice": gettext_lazy("No such organisation.")})

    def __init__(self, *args, user, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        if campaign.type.entrant == Entrant.AREA:
            del self.fields["organisation"]
            self.fields["area"].queryset = (visible_areas(user).filter(path__startswith=campaign.area_path,
                                                                       level__gt=campaign.area.level)
                                            .order_by("path"))
            self.fields["area"].required = True
        else:
            del self.fields["area"]
            self.fields["organisation"].queryset = (visible_organisations(user)
                                                    .filter(area_path__startswith=campaign.area_path)
                                                    .order_by("name"))
            self.fields["organisation"].required = True


class InspectionForm(forms.Form):
    """The checklist: one pass/fail choice and a note per criterion, built from the type."""

    note = forms.CharField(label=gettext_lazy("note"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 2}))
    files = MultipleFileField(label=gettext_lazy("Photos"))

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        choices = [("pass", gettext_lazy("pass")), ("fail", gettext_lazy("fail"))]
        for criterion in self.criteria:
            label = criterion.display_text + ("" if criterion.required else " " + _("(optional)"))
            self.fields[f"criterion_{criterion.pk}"] = forms.ChoiceField(
                label=label, choices=choices, widget=forms.RadioSelect(attrs={"class": "inline-choices"}),
                error_messages={"required": gettext_lazy("Say pass or fail.")})
            self.fields[f"note_{criterion.pk}"] = forms.CharField(
                label=_("note"), required=False, max_length=500,
                widget=forms.TextInput(attrs={"placeholder": _("note")}))
        self.order_fields([name for c in self.criteria for name in (f"criterion_{c.pk}", f"note_{c.pk}")]
                          + ["note", "files"])

    def checklist(self) -> list[dict]:
        return [{"criterion": c.pk, "passed": self.cleaned_data[f"criterion_{c.pk}"] == "pass",
                 "note": self.cleaned_data.get(f"note_{c.pk}", "")} for c in self.criteria]


class RevokeForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("reason for revocation"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 2}))


def _run(form, run) -> int | None:
    """Validate ``form`` and run the action; None when it worked, else the status to answer with."""
    if not form.is_valid():
        return 400
    try:
        run(form.cleaned_data)
    except ActionError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return exc.status_code
    return None


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    found = access.campaigns_for(user).select_related("type", "area", "lead_department", "lead_centre")
    counts = campaign_figures.campaign_counts(found, entries=access.entries_for(user))
    rows = [(c, counts.get(c.pk) or campaign_figures.CampaignCounts()) for c in found]
    form, status = CampaignForm(user=user), 200
    if request.method == "POST":
        form = CampaignForm(request.POST, user=user)
        made = []
        status = _run(form, lambda d: made.append(campaigns.create_campaign(
            actor=user, type=d["type"], area=d["area"], title=d["title"], year=d["year"], starts_on=d["starts_on"],
            ends_on=d["ends_on"], **_unit(d["lead_unit"]))))
        if status is None:
            messages.success(request, _("The campaign is created."))
            return redirect("plans:campaign", pk=made[0].pk)
    where = campaign_figures.certified_by_town(found, entries=access.entries_for(user))
    return render(request, "plans/campaigns.html", {
        "rows": rows, "where": where, "form": form, "may_create": access.may_manage_somewhere(user),
        "geojson_url": reverse("plans:campaign_geojson")}, status=status)


@login_required
@found_or_404
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = access.access_campaign_by_id(user, pk)
    entries = access.entries_for(user).filter(campaign=campaign)
    form, status = EntryForm(user=user, campaign=campaign), 200
    if request.method == "POST":
        form = EntryForm(request.POST, user=user, campaign=campaign)
        status = _run(form, lambda d: campaigns.add_entry(actor=user, campaign=campaign, area=d.get("area"),
                                                          organisation=d.get("organisation")))
        if status is None:
            messages.success(request, _("Entered."))
            return redirect("plans:campaign", pk=campaign.pk)
    rows = campaign_figures.entry_rows(entries)
    counts = campaign_figures.campaign_counts(Campaign.objects.filter(pk=campaign.pk), entries=entries).get(
        campaign.pk) or campaign_figures.CampaignCounts()
    return render(request, "plans/campaign.html", {
        "campaign": campaign, "rows": rows, "counts": counts, "form": form,
        "may_manage": access.may_manage_campaign(user, campaign),
        "geojson_url": reverse("plans:campaign_geojson") + f"?campaign={campaign.pk}",
        "criteria": campaign.type.criteria.all()}, status=status)


def _entry_page(request, entry: CampaignEntry, *, inspection_form=None, revoke_form=None, status: int = 200,
                error: str = ""):
    user = request.user
    campaign = entry.campaign
    rows = campaign_figures.entry_rows(CampaignEntry.objects.filter(pk=entry.pk))
    return render(request, "plans/campaign_entry.html", {
        "entry": entry, "campaign": campaign, "row": rows[0],
        "inspections": entry.inspections.select_related("inspector").prefetch_related("results__criterion", "photos"),
        "certifications": entry.certifications.select_related("by", "revoked_by"),
        "current": campaigns.current_certification(entry),
        "inspection_form": inspection_form or InspectionForm(criteria=campaign.type.criteria.all()),
        "revoke_form": revoke_form or RevokeForm(), "error": error,
        "may_manage": access.may_manage_campaign(user, campaign), "may_inspect": access.may_inspect(user, campaign),
        "withdrawn": entry.withdrawn_on is not None,
    }, status=status)


@login_required
@found_or_404
def entry_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The entry, its certifications and inspections; POST records an inspection (the checklist)."""
    entry = access.access_entry_by_id(request.user, pk)
    if request.method != "POST":
        return _entry_page(request, entry)
    form = InspectionForm(request.POST, request.FILES, criteria=entry.campaign.type.criteria.all())
    status = _run(form, lambda d: campaigns.record_inspection(
        actor=request.user, entry=entry, results=form.checklist(), note=d["note"], files=d["files"] or []))
    if status is None:
        messages.success(request, _("The inspection is recorded."))
        return redirect("plans:campaign_entry", pk=entry.pk)
    return _entry_page(request, entry, inspection_form=form, status=status)


@login_required
@require_POST
@found_or_404
def entry_certify(request: HttpRequest, pk: int) -> HttpResponse:
    entry = access.access_entry_by_id(request.user, pk)
    try:
        campaigns.certify_entry(actor=request.user, entry=entry)
    except ActionError as exc:
        return _entry_page(request, entry, status=exc.status_code, error=exc.message)
    messages.success(request, _("Certified."))
    return redirect("plans:campaign_entry", pk=entry.pk)


@login_required
@require_POST
@found_or_404
def entry_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    entry = access.access_entry_by_id(request.user, pk)
    form = RevokeForm(request.POST)

    def revoke(d):
        access.check_manage_campaign(request.user, entry.campaign)
        current = campaigns.current_certification(entry)
        if current is None:
            raise ActionError(_("The entry holds no valid certification."), code="not_certified")
        campaigns.revoke_certification(actor=request.user, certification=current, reason=d["reason"])

    status = _run(form, revoke)
    if status is None:
        messages.success(request, _("The certification is revoked."))
        return redirect("plans:campaign_entry", pk=entry.pk)
    return _entry_page(request, entry, revoke_form=form, status=status)


@login_required
@require_POST
@found_or_404
def entry_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    entry = access.access_entry_by_id(request.user, pk)
    try:
        campaigns.withdraw_entry(actor=request.user, entry=entry)
    except ActionError as exc:
        return _entry_page(request, entry, status=exc.status_code, error=exc.message)
    messages.success(request, _("The entry is withdrawn."))
    return redirect("plans:campaign", pk=entry.campaign_id)


@login_required
@found_or_404
def inspection_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """An inspection's photo (decoded and cleaned when it was sent), for those who see its entry."""
    photo = access.access_inspection_photo_by_id(request.user, pk)
    return stored_photo(photo.file, photo.content_type)


MAP_SIMPLIFY = 0.0001  # degrees (≈ 10 m): outlines stay recognisable and the answer small


@login_required
@found_or_404
def campaign_geojson(request: HttpRequest) -> JsonResponse:
    """Entries as GeoJSON for the map: area entries as their outlines, organisations as points where
    their building has a location; ``certified`` says whether they hold a valid certification today."""
    user = request.user
    campaigns_qs = access.campaigns_for(user)
    if request.GET.get("campaign"):
        campaigns_qs = campaigns_qs.filter(pk=access.access_campaign_by_id(user, request.GET["campaign"]).pk)
    entries = access.entries_for(user).filter(campaign__in=campaigns_qs)
    today = campaign_figures.today()
    rows = (campaign_figures.with_validity(entries.filter(campaign_figures.counting_q(today)), today)
            .annotate(shape=Coalesce(AsGeoJSON("area__boundary", precision=5),
                                     AsGeoJSON("organisation__building__point", precision=6)))
            .values("pk", "campaign__title", "area__name", "organisation__name", "is_certified", "shape")
            .order_by("pk")[:5000])
    features = []
    for row in rows:
        if not row["shape"]:
            continue
        features.append({"type": "Feature", "geometry": json.loads(row["shape"]), "properties": {
            "name": row["area__name"] or row["organisation__name"], "campaign": row["campaign__title"],
            "certified": row["is_certified"], "url": reverse("plans:campaign_entry", args=[row["pk"]]),
            "status": str(EntryStatus.CERTIFIED.label if row["is_certified"] else _("not certified"))}})
    return JsonResponse({"type": "FeatureCollection", "features": features}, json_dumps_params={"ensure_ascii": False})


urlpatterns = [
    path("campaigns/", index, name="campaigns"),
    path("campaigns/geojson/", campaign_geojson, name="campaign_geojson"),
    path("campaigns/<int:pk>/", campaign_detail, name="campaign"),
    path("campaigns/entries/<int:pk>/", entry_detail, name="campaign_entry"),
    path("campaigns/entries/<int:pk>/certify/", entry_certify, name="campaign_certify"),
    path("campaigns/entries/<int:pk>/revoke/", entry_revoke, name="campaign_revoke"),
    path("campaigns/entries/<int:pk>/withdraw/", entry_withdraw, name="campaign_withdraw"),
    path("campaigns/photos/<int:pk>/", inspection_photo, name="campaign_photo"),
]
