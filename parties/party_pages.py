"""The party-building network page (两网融合, /people/party/): the figures per area (party groups per
grid, party grid workers and the households each serves, party-member building heads, compounds with
their own organisation), the organisations as a tree by area, and the members (phone numbers masked).
Reads are scoped (parties.selectors); the page writes nothing."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from parties import selectors
from parties.pages import _area_from, _areas_for_filter, _default_area, _page, _query
from parties.party_figures import COMPOUND_MEMBERS, TREE_LIMIT, organisation_tree, party_figures


@login_required
def party(request: HttpRequest) -> HttpResponse:
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
    return render(request, "parties/party.html", context)
