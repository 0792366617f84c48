"""Reports over REST: KPIs, trend, department league table and overdue cases of an area subtree.

The area comes from ``visible_areas(user)``: an area outside the user's scope answers 404, as if it did
not exist (a town official cannot read another town's figures). Everything else is read from the
counters by ``reports.kpis``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from grids.models import Area
from grids.scope import visible_areas
from reports import kpis
from reports.api import serializers as s


def _area(request, code: str) -> Area:
    area = visible_areas(request.user).filter(code=code).first()
    if area is None:
        raise NotFound(_("No such area."))
    return area


def _query(request, serializer_class) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class KpiView(APIView):
    """Counts and rates (DESIGN.md §7) of an area subtree over a period, optionally broken down."""

    @extend_schema(parameters=[s.KpiQuerySerializer], responses=s.KpiSerializer, tags=["reports"])
    def get(self, request):
        query = _query(request, s.KpiQuerySerializer)
        data = kpis.kpis(_area(request, query["area"]), query["start"], query["end"], by=query.get("by"))
        return Response(s.KpiSerializer(data).data)


class TrendView(APIView):
    """One row per day, week or month of the period, with its counts and rates."""

    @extend_schema(parameters=[s.TrendQuerySerializer], responses=s.TrendSerializer, tags=["reports"])
    def get(self, request):
        query = _query(request, s.TrendQuerySerializer)
        area = _area(request, query["area"])
        rows = kpis.trend(area, query["start"], query["end"], period=query["period"])
        data = {"area": kpis.area_info(area), "start": query["start"], "end": query["end"],
                "period": query["period"], "rows": rows}
        return Response(s.TrendSerializer(data).data)


class DepartmentLeagueView(APIView):
    """Departments ranked by on-time closure, with returns, rework, satisfaction and supervisions."""

    @extend_schema(parameters=[s.PeriodQuerySerializer], responses=s.DepartmentLeagueSerializer, tags=["reports"])
    def get(self, request):
        query = _query(request, s.PeriodQuerySerializer)
        area = _area(request, query["area"])
        data = {"area": kpis.area_info(area), "start": query["start"], "end": query["end"],
                "rows": kpis.department_league(area, query["start"], query["end"])}
        return Response(s.DepartmentLeagueSerializer(data).data)


class OverdueView(APIView):
    """Open cases of the area past their current deadline, longest overdue first."""

    @extend_schema(parameters=[s.OverdueQuerySerializer], responses=s.OverdueSerializer, tags=["reports"])
    def get(self, request):
        query = _query(request, s.OverdueQuerySerializer)
        area = _area(request, query["area"])
        rows = kpis.top_overdue(area, user=request.user, limit=query["limit"])
        return Response(s.OverdueSerializer({"area": kpis.area_info(area), "rows": rows}).data)
