"""The party-building network page (两网融合, /people/party/): the figures per area (party groups per
grid, party grid workers and the households each serves, party-member building heads, compounds with
their own organisation), the organisations as a tree by area, and the members (phone numbers masked).

Reads are scoped (parties.selectors). Those who may act on the area (its centre staff, admins) also
get two forms: place a party organisation on the area or one of its children, and enrol a member
(a resident found by ID card number, or a staff user by login name) with their roles; and a button to
take a member off. Every write goes through parties.actions; ids in the forms come through
parties.access (out of scope and missing: the same answer).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from govgrid.errors import ActionError, NotFound
from grids.models import Area
from grids.scope import scope_for
from parties import access, actions, pii, selectors
from parties.choices import PartyOrganisationKind
from parties.pages import _area_from, _areas_for_filter, _default_area, _page, _query
from parties.party_figures import COMPOUND_MEMBERS, TREE_LIMIT, organisation_tree, party_figures

CHOICES_LIMIT = 300  # organisations and buildings offered in a form's list


class OrganisationForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("party organisation kind"), choices=PartyOrganisationKind.choices)
    area = forms.TypedChoiceField(label=gettext_lazy("area"), coerce=int)
    parent = forms.TypedChoiceField(label=gettext_lazy("parent organisation"), coerce=int, required=False,
                                    empty_value=None)
    compound = forms.CharField(label=gettext_lazy("compound"), max_length=100, required=False)

    def __init__(self, *args, areas, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [(a.pk, f"{a.name} ({a.code})") for a in areas]
        self.fields["parent"].choices = [("", _("none"))] + [(o.pk, o.name) for o in organisations]


class MemberForm(forms.Form):
    organisation = forms.TypedChoiceField(label=gettext_lazy("party organisation"), coerce=int)
    id_number = forms.CharField(label=gettext_lazy("resident's ID card number"), max_length=32, required=False)
    username = forms.CharField(label=gettext_lazy("or a staff user's login name"), max_length=150, required=False)
    joined_on = forms.DateField(label=gettext_lazy("joined the party on"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    is_grid_worker = forms.BooleanField(label=gettext_lazy("party grid worker"), required=False)
    is_building_head = forms.BooleanField(label=gettext_lazy("party-member building head"), required=False)
    building = forms.TypedChoiceField(label=gettext_lazy("building headed"), coerce=int, required=False,
                                      empty_value=None)

    def __init__(self, *args, organisations, buildings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [(o.pk, o.name) for o in organisations]
        self.fields["building"].choices = [("", "—")] + [(b.pk, b.address) for b in buildings]

    def clean(self):
        data = super().clean()
        if not (data.get("id_number") or "").strip() and not (data.get("username") or "").strip():
            self.add_error("id_number", _("Give the resident's ID card number or a staff user's login name."))
        return data


def _forms_data(user, area: Area) -> dict:
    """What the two forms offer: the area and its children, organisations and buildings one may act on."""
    areas = [area, *Area.objects.filter(parent=area).order_by("code")[:CHOICES_LIMIT]]
    organisations = list(selectors.visible_party_organisations(user, act=True)
                         .filter(area_path__startswith=area.path).order_by("area_path", "name")[:CHOICES_LIMIT])
    buildings = list(selectors.visible_buildings(user, act=True).filter(area_path__startswith=area.path)
                     .order_by("address", "pk")[:CHOICES_LIMIT])
    return {"areas": areas, "organisations": organisations, "buildings": buildings}


def _may_act(user, area: Area | None) -> bool:
    return area is not None and scope_for(user).covers_area(area, act=True)


@login_required
def party(request: HttpRequest, *, organisation_form=None, member_form=None, status: int = 200) -> HttpResponse:
    user = request.user
    area = _area_from(request) or _default_area(user)
    context = {"area": area, "areas": _areas_for_filter(user), "compound_members": COMPOUND_MEMBERS}
    if area is not None:
        members = selectors.visible_party_members(user).filter(area_path__startswith=area.path)
        role = request.GET.get("role") or ""
        if role == "grid_worker":
            members = members.filter(is_grid_worker=True)
        elif role == "building_head":
            members = members.filter(is_building_head=True)
        members = members.select_related("organisation", "resident", "user", "building").order_by(
            "area_path", "organisation__name", "pk")
        tree = organisation_tree(user, area)
        context.update(party_figures(user, area), tree=tree, tree_cut=len(tree) >= TREE_LIMIT, role=role,
                       page=_page(request, members), query=_query(request))
        if _may_act(user, area):
            data = _forms_data(user, area)
            context.update(
                may_act=True,
                organisation_form=organisation_form or OrganisationForm(
                    areas=data["areas"], organisations=data["organisations"], initial={"area": area.pk}),
                member_form=member_form or MemberForm(organisations=data["organisations"],
                                                      buildings=data["buildings"]),
            )
    return render(request, "parties/party.html", context, status=status)


def _back(area: Area) -> HttpResponse:
    return redirect(f"{reverse('parties:party')}?area={area.code}")


def _acting_area(request: HttpRequest) -> Area:
    area = _area_from(request)
    if not _may_act(request.user, area):
        raise Http404(_("No such area."))
    return area


@login_required
@require_POST
def create_organisation(request: HttpRequest) -> HttpResponse:
    user = request.user
    area = _acting_area(request)
    data = _forms_data(user, area)
    form = OrganisationForm(request.POST, areas=data["areas"], organisations=data["organisations"])
    if form.is_valid():
        values = form.cleaned_data
        try:
            place = next(a for a in data["areas"] if a.pk == values["area"])
            parent = None
            if values["parent"] is not None:
                parent = access.access_party_organisation_by_id(user, values["parent"], act=True, field="parent")
            organisation = actions.create_party_organisation(
                actor=user, name=values["name"], kind=values["kind"], area=place, parent=parent,
                compound=values["compound"])
        except ActionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Party organisation %(name)s placed on %(area)s.") % {
                "name": organisation.name, "area": place.name})
            return _back(area)
    return party(request, organisation_form=form, status=400)


def _member_person(user, values: dict):
    """The resident (by ID card number, within what the user may act on) or the staff user."""
    resident = person = None
    number = pii.normalise_id_number(values.get("id_number") or "")
    if number:
        resident = selectors.visible_residents(user, act=True).filter(id_number_hash=pii.id_hash(number)).first()
        if resident is None:
            raise NotFound(_("No resident with this ID card number in your area."), field="id_number")
    username = (values.get("username") or "").strip()
    if username:
        person = get_user_model().objects.filter(username=username, is_active=True).first()
        if person is None:
            raise NotFound(_("No such user."), field="username")
    return resident, person


@login_required
@require_POST
def add_member(request: HttpRequest) -> HttpResponse:
    user = request.user
    area = _acting_area(request)
    data = _forms_data(user, area)
    form = MemberForm(request.POST, organisations=data["organisations"], buildings=data["buildings"])
    if form.is_valid():
        values = form.cleaned_data
        try:
            organisation = access.access_party_organisation_by_id(user, values["organisation"], act=True,
                                                                  field="organisation")
            building = None
            if values["building"] is not None:
                building = access.access_building_by_id(user, values["building"], act=True, field="building")
            resident, person = _member_person(user, values)
            member = actions.add_party_member(
                actor=user, organisation=organisation, resident=resident, user=person,
                joined_on=values["joined_on"], is_grid_worker=values["is_grid_worker"],
                is_building_head=values["is_building_head"], building=building)
        except ActionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("%(name)s enrolled in %(organisation)s.") % {
                "name": member, "organisation": organisation.name})
            return _back(area)
    return party(request, member_form=form, status=400)


@login_required
@require_POST
def remove_member(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        member = access.access_party_member_by_id(request.user, pk, act=True)
        area_code = Area.objects.filter(path=member.organisation.area_path).values_list("code", flat=True).first()
        actions.remove_party_member(member, actor=request.user)
    except NotFound:
        raise Http404(_("No such party member.")) from None
    messages.success(request, _("%(name)s taken off the party network.") % {"name": member})
    return redirect(f"{reverse('parties:party')}?area={area_code or ''}")
