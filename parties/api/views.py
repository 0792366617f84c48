"""The parties REST API: buildings, houses, households, residents, organisations, key persons and
visits. Every queryset starts from parties.selectors (scoped), every id in a URL or body goes through
parties.access, and every write is a parties.actions call."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from govgrid.errors import ActionError, NotFound
from grids.scope import visible_areas, visible_grids
from parties import access, actions, selectors
from parties.api import filters
from parties.api import serializers as s
from parties.models import KeyPerson


def _grid(user, code, field: str = "grid"):
    grid = visible_grids(user, act=True).filter(code=code).first() if code else None
    if grid is None:
        raise NotFound(_("No such grid."), field=field)
    return grid


def _valid(serializer_class, request, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _pop_id(data: dict, name: str, accessor, user, **kwargs):
    """Turn an id in the body into the object, through the access module (None stays None)."""
    value = data.pop(name, None)
    return accessor(user, value, field=name, **kwargs) if value is not None else None


class _Registry(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    ordering = "-id"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _answer(self, obj, code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(obj).data, status=code)


class BuildingViewSet(_Registry):
    """Standard addresses (一标) with their point, grid and people structure (楼栋长/单元长/楼层长)."""

    filterset_class = filters.BuildingFilterSet

    def get_queryset(self):
        queryset = selectors.visible_buildings(self.request.user).select_related("grid")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("roles__resident", "roles__user")
        return queryset

    def get_serializer_class(self):
        return s.BuildingDetailSerializer if self.action == "retrieve" else s.BuildingSerializer

    @extend_schema(request=s.BuildingWriteSerializer, responses={201: s.BuildingSerializer})
    def create(self, request):
        data = _valid(s.BuildingWriteSerializer, request)
        grid = _grid(request.user, data.pop("grid", None))
        building = actions.create_building(actor=request.user, grid=grid, number=data.pop("number", ""),
                                           point=data.pop("point", None), **data)
        return self._answer(building, status.HTTP_201_CREATED)

    @extend_schema(request=s.BuildingWriteSerializer, responses=s.BuildingSerializer)
    def partial_update(self, request, pk=None):
        building = access.access_building_by_id(request.user, pk, act=True)
        data = _valid(s.BuildingWriteSerializer, request, partial=True)
        if "grid" in data:
            raise ActionError(_("This field cannot be changed here."), field="grid")
        return self._answer(actions.update_building(building, actor=request.user, **data))

    @extend_schema(request=s.BuildingRoleWriteSerializer, responses={201: s.BuildingRoleSerializer})
    @action(detail=True, methods=["post"])
    def roles(self, request, pk=None):
        """Name the building head, a unit head or a floor head (a resident of the user's scope)."""
        building = access.access_building_by_id(request.user, pk, act=True)
        data = _valid(s.BuildingRoleWriteSerializer, request)
        resident = _pop_id(data, "resident", access.access_resident_by_id, request.user)
        role = actions.assign_building_role(actor=request.user, building=building, resident=resident,
                                            user=None if resident else request.user, **data)
        return Response(s.BuildingRoleSerializer(role).data, status=status.HTTP_201_CREATED)


class HouseViewSet(_Registry):
    """Houses (户/房): use, area, rental flag, owner, vacancy."""

    serializer_class = s.HouseSerializer
    filterset_class = filters.HouseFilterSet

    def get_queryset(self):
        return selectors.visible_houses(self.request.user).select_related("building", "owner")

    @extend_schema(request=s.HouseWriteSerializer, responses={201: s.HouseSerializer})
    def create(self, request):
        data = _valid(s.HouseWriteSerializer, request)
        building = access.access_building_by_id(request.user, data.pop("building", None), act=True, field="building")
        if "owner" in data:
            data["owner"] = _pop_id(data, "owner", access.access_resident_by_id, request.user)
        house = actions.create_house(actor=request.user, building=building, room=data.pop("room", ""), **data)
        return self._answer(house, status.HTTP_201_CREATED)

    @extend_schema(request=s.HouseWriteSerializer, responses=s.HouseSerializer)
    def partial_update(self, request, pk=None):
        house = access.access_house_by_id(request.user, pk, act=True)
        data = _valid(s.HouseWriteSerializer, request, partial=True)
        if "building" in data:
            raise ActionError(_("This field cannot be changed here."), field="building")
        if "owner" in data:
            data["owner"] = _pop_id(data, "owner", access.access_resident_by_id, request.user)
        return self._answer(actions.update_house(house, actor=request.user, **data))


class HouseholdViewSet(_Registry):
    """Households (户): registered or floating, at a house, with their head."""

    serializer_class = s.HouseholdSerializer

    def get_queryset(self):
        return selectors.visible_households(self.request.user).select_related("head")

    @extend_schema(request=s.HouseholdWriteSerializer, responses={201: s.HouseholdSerializer})
    def create(self, request):
        data = _valid(s.HouseholdWriteSerializer, request)
        house = _pop_id(data, "house", access.access_house_by_id, request.user, act=True)
        grid = None if house else _grid(request.user, data.pop("grid", None))
        data.pop("grid", None)
        household = actions.register_household(actor=request.user, house=house, grid=grid, **data)
        return self._answer(household, status.HTTP_201_CREATED)


class ResidentViewSet(_Registry):
    """Residents (实有人口) with masked ID and phone numbers. Filters: ``within`` (an area code and its
    subtree), ``residence_kind``, ``key_person_category``; exact ``id_number``/``phone`` via the keyed hash.
    A whole number: POST /residents/{id}/reveal/ with a reason (logged)."""

    filterset_class = filters.ResidentFilterSet

    def get_queryset(self):
        # The list joins nothing: at a million residents a join to the areas costs more than the page.
        queryset = selectors.visible_residents(self.request.user)
        if self.action != "list":
            queryset = queryset.select_related("grid").prefetch_related(
                Prefetch("key_person_records", queryset=KeyPerson.objects.all()))
        return queryset

    def get_serializer_class(self):
        return s.ResidentDetailSerializer if self.action == "retrieve" else s.ResidentSerializer

    @extend_schema(request=s.ResidentWriteSerializer, responses={201: s.ResidentDetailSerializer})
    def create(self, request):
        data = _valid(s.ResidentWriteSerializer, request)
        house = _pop_id(data, "house", access.access_house_by_id, request.user, act=True)
        household = _pop_id(data, "household", access.access_household_by_id, request.user, act=True)
        code = data.pop("grid", None)
        grid = _grid(request.user, code) if code or not (house or household) else None
        resident = actions.create_resident(actor=request.user, grid=grid, house=house, household=household,
                                           name=data.pop("name", ""), **data)
        return Response(s.ResidentDetailSerializer(resident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ResidentWriteSerializer, responses=s.ResidentDetailSerializer)
    def partial_update(self, request, pk=None):
        resident = access.access_resident_by_id(request.user, pk, act=True)
        data = _valid(s.ResidentWriteSerializer, request, partial=True)
        for name in ("grid", "house", "household", "moved_in_on"):
            if name in data:
                raise ActionError(_("Where a resident lives changes through a move."), field=name)
        resident = actions.update_resident(resident, actor=request.user, **data)
        return Response(s.ResidentDetailSerializer(resident).data)

    @extend_schema(request=s.MoveSerializer, responses=s.ResidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the resident to another house, household or grid, or out; the history keeps the old place."""
        resident = access.access_resident_by_id(request.user, pk, act=True)
        data = _valid(s.MoveSerializer, request)
        to_house = _pop_id(data, "to_house", access.access_house_by_id, request.user, act=True)
        to_household = _pop_id(data, "to_household", access.access_household_by_id, request.user, act=True)
        code = data.pop("to_grid", None)
        to_grid = _grid(request.user, code, "to_grid") if code else None
        resident = actions.move_resident(resident, actor=request.user, to_house=to_house,
                                         to_household=to_household, to_grid=to_grid, **data)
        return Response(s.ResidentDetailSerializer(resident).data)

    @extend_schema(request=s.RevealSerializer, responses=s.RevealedSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """The whole ID or phone number, for roles that need it, after a stated reason; every call is
        logged (who, when, whose record, which field, why)."""
        resident = access.access_resident_by_id(request.user, pk)
        data = _valid(s.RevealSerializer, request)
        value = actions.reveal_pii(resident, actor=request.user, reason=data["reason"], field=data["field"])
        response = Response({"field": data["field"], "value": value})
        response["Cache-Control"] = "no-store"
        return response


class OrganisationViewSet(_Registry):
    """Organisations at an address (company, shop, social organisation, party branch, school …)."""

    serializer_class = s.OrganisationSerializer
    filterset_class = filters.OrganisationFilterSet

    def get_queryset(self):
        return selectors.visible_organisations(self.request.user)

    @extend_schema(request=s.OrganisationWriteSerializer, responses={201: s.OrganisationSerializer})
    def create(self, request):
        data = _valid(s.OrganisationWriteSerializer, request)
        house = _pop_id(data, "house", access.access_house_by_id, request.user, act=True)
        building = _pop_id(data, "building", access.access_building_by_id, request.user, act=True)
        code = data.pop("grid", None)
        grid = _grid(request.user, code) if not (house or building) else None
        organisation = actions.create_organisation(actor=request.user, grid=grid, building=building, house=house,
                                                   name=data.pop("name", ""), kind=data.pop("kind", ""), **data)
        return self._answer(organisation, status.HTTP_201_CREATED)

    @extend_schema(request=s.OrganisationWriteSerializer, responses=s.OrganisationSerializer)
    def partial_update(self, request, pk=None):
        organisation = access.access_organisation_by_id(request.user, pk, act=True)
        data = _valid(s.OrganisationWriteSerializer, request, partial=True)
        for name in ("grid", "building", "house"):
            if name in data:
                raise ActionError(_("This field cannot be changed here."), field=name)
        return self._answer(actions.update_organisation(organisation, actor=request.user, **data))

    @extend_schema(request=s.ContactRevealSerializer, responses=s.RevealedSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """The contact person's whole phone number, after a stated reason (logged)."""
        organisation = access.access_organisation_by_id(request.user, pk)
        data = _valid(s.ContactRevealSerializer, request)
        value = actions.reveal_pii(organisation, actor=request.user, reason=data["reason"], field=data["field"])
        response = Response({"field": data["field"], "value": value})
        response["Cache-Control"] = "no-store"
        return response


class KeyPersonViewSet(_Registry):
    """Key persons (重点人员): category, attention level, responsible worker, visit frequency, next due."""

    serializer_class = s.KeyPersonSerializer
    filterset_class = filters.KeyPersonFilterSet
    ordering = "id"

    def get_queryset(self):
        return selectors.visible_key_persons(self.request.user).select_related("resident")

    @extend_schema(request=s.KeyPersonWriteSerializer, responses={201: s.KeyPersonSerializer})
    def create(self, request):
        data = _valid(s.KeyPersonWriteSerializer, request)
        resident = access.access_resident_by_id(request.user, data.pop("resident"), act=True, field="resident")
        worker_id = data.pop("worker", None)
        worker = None
        if worker_id is not None:
            worker = get_user_model().objects.filter(pk=worker_id, is_active=True).first()
            if worker is None:
                raise ActionError(_("The responsible worker must be a grid worker of this resident's grid."),
                                  field="worker")
        key_person = actions.set_key_person(actor=request.user, resident=resident, worker=worker, **data)
        return self._answer(key_person, status.HTTP_201_CREATED)


class VisitViewSet(_Registry):
    """Visits (走访) to key persons; recording one moves the person's next due date on."""

    serializer_class = s.VisitSerializer
    filterset_class = filters.VisitFilterSet

    def get_queryset(self):
        return selectors.visible_visits(self.request.user)

    @extend_schema(request=s.VisitWriteSerializer, responses={201: s.VisitSerializer})
    def create(self, request):
        request_started = timezone.now()
        data = _valid(s.VisitWriteSerializer, request)
        key_person = access.access_key_person_by_id(request.user, data.pop("key_person"), act=True,
                                                    field="key_person")
        visit = actions.record_visit(key_person, actor=request.user, **data)
        # A resend of a visit already recorded (same client_uuid) answers 200 with that visit.
        replayed = data["client_uuid"] is not None and visit.created_at < request_started
        return self._answer(visit, status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)


class PartyOrganisationViewSet(_Registry):
    """Party organisations of the party-building network (两网融合): committees, branches and groups
    placed on areas, grids (党小组建到网格) and compounds. Filters: ``within``, ``kind``, ``parent``."""

    serializer_class = s.PartyOrganisationSerializer
    filterset_class = filters.PartyOrganisationFilterSet

    def get_queryset(self):
        return selectors.visible_party_organisations(self.request.user).select_related("area")

    @extend_schema(request=s.PartyOrganisationWriteSerializer, responses={201: s.PartyOrganisationSerializer})
    def create(self, request):
        data = _valid(s.PartyOrganisationWriteSerializer, request)
        code = data.pop("area", None)
        area = visible_areas(request.user, act=True).filter(code=code).first() if code else None
        if area is None:
            raise NotFound(_("No such area."), field="area")
        parent = _pop_id(data, "parent", access.access_party_organisation_by_id, request.user, act=True)
        organisation = actions.create_party_organisation(actor=request.user, area=area, parent=parent,
                                                         name=data.pop("name", ""), kind=data.pop("kind", ""), **data)
        return self._answer(organisation, status.HTTP_201_CREATED)

    @extend_schema(request=s.PartyOrganisationWriteSerializer, responses=s.PartyOrganisationSerializer)
    def partial_update(self, request, pk=None):
        organisation = access.access_party_organisation_by_id(request.user, pk, act=True)
        data = _valid(s.PartyOrganisationWriteSerializer, request, partial=True)
        for name in ("kind", "area", "parent"):
            if name in data:
                raise ActionError(_("This field cannot be changed here."), field=name)
        return self._answer(actions.update_party_organisation(organisation, actor=request.user, **data))


class PartyMemberViewSet(_Registry):
    """Party members among residents and staff, with their roles: party grid worker (党建网格员) and
    party-member building head (党员楼长). A resident's phone number is masked. DELETE takes a member
    off the network."""

    serializer_class = s.PartyMemberSerializer
    filterset_class = filters.PartyMemberFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.visible_party_members(self.request.user).select_related("organisation", "resident", "user")

    def _building(self, data: dict):
        return _pop_id(data, "building", access.access_building_by_id, self.request.user, act=True)

    @extend_schema(request=s.PartyMemberWriteSerializer, responses={201: s.PartyMemberSerializer})
    def create(self, request):
        data = _valid(s.PartyMemberWriteSerializer, request)
        organisation = access.access_party_organisation_by_id(request.user, data.pop("organisation", None), act=True,
                                                              field="organisation")
        resident = _pop_id(data, "resident", access.access_resident_by_id, request.user, act=True)
        user_id = data.pop("user", None)
        user = None
        if user_id is not None:
            user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
            if user is None:
                raise NotFound(_("No such user."), field="user")
        if "building" in data:
            data["building"] = self._building(data)
        member = actions.add_party_member(actor=request.user, organisation=organisation, resident=resident,
                                          user=user, **data)
        return self._answer(member, status.HTTP_201_CREATED)

    @extend_schema(request=s.PartyMemberWriteSerializer, responses=s.PartyMemberSerializer)
    def partial_update(self, request, pk=None):
        member = access.access_party_member_by_id(request.user, pk, act=True)
        data = _valid(s.PartyMemberWriteSerializer, request, partial=True)
        for name in ("organisation", "resident", "user"):
            if name in data:
                raise ActionError(_("This field cannot be changed here."), field=name)
        if "building" in data:
            data["building"] = self._building(data)
        return self._answer(actions.update_party_member(member, actor=request.user, **data))

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        member = access.access_party_member_by_id(request.user, pk, act=True)
        actions.remove_party_member(member, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
