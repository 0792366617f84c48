from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from govgrid.api import query_values
from grids.api.filters import AreaFilterSet, DepartmentFilterSet, GridFilterSet
from grids.api.serializers import (
    AreaDetailSerializer,
    AreaSerializer,
    DepartmentSerializer,
    GridDetailSerializer,
    GridSerializer,
    LocateQuerySerializer,
)
from grids.scope import scope_for, visible_areas, visible_departments, visible_grids
from grids.selectors import LocationError, locate_grid


class AreaViewSet(viewsets.ReadOnlyModelViewSet):
    """Areas of every level in the user's scope. `within=<code>` gives a whole subtree."""

    filterset_class = AreaFilterSet
    ordering = "path"
    lookup_field = "code"

    def get_queryset(self):
        # The boundary is only read on detail: a list of 5,000 grids must not ship 5,000 polygons.
        queryset = visible_areas(self.request.user).select_related("parent")
        return queryset if self.action == "retrieve" else queryset.defer("boundary")

    def get_serializer_class(self):
        return AreaDetailSerializer if self.action == "retrieve" else AreaSerializer


class GridViewSet(AreaViewSet):
    """Grids in the user's scope with their profile (households, population, size flag)."""

    filterset_class = GridFilterSet

    def get_queryset(self):
        queryset = visible_grids(self.request.user).select_related("parent", "profile")
        return queryset if self.action == "retrieve" else queryset.defer("boundary")

    def get_serializer_class(self):
        return GridDetailSerializer if self.action == "retrieve" else GridSerializer


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Departments the user may see: dispatch targets for centres, their own for handlers."""

    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilterSet
    ordering = "id"

    def get_queryset(self):
        return visible_departments(self.request.user).select_related("area")


class LocateView(APIView):
    """The grid that covers a point; 404 with a message when it lies outside every grid."""

    @extend_schema(parameters=[LocateQuerySerializer], responses=GridSerializer)
    def get(self, request):
        query = LocateQuerySerializer(data=query_values(request))
        query.is_valid(raise_exception=True)
        scope = scope_for(request.user)
        try:
            grid = locate_grid(query.validated_data["lon"], query.validated_data["lat"])
        except LocationError as exc:
            if scope.is_admin:
                raise NotFound(str(exc)) from None
            grid = None
        # For everyone but an admin, a grid outside scope and no grid at all get the same 404.
        if grid is None or not scope.covers_area(grid):
            raise NotFound(_("The point lies outside the grids you may see."))
        grid = visible_grids(request.user).select_related("parent", "profile").get(pk=grid.pk)
        return Response(GridSerializer(grid).data)
