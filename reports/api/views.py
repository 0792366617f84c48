"""Reports over REST: KPIs, trend, department league table and overdue cases of an area subtree.

The area comes from ``visible_areas(user)``: an area outside the user's scope answers 404, as if it did
not exist (a town official cannot read another town's figures). Everything else is read from the
counters by ``reports.kpis``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from govgrid.api import query_values
from govgrid.replica import replica_reads
from grids.choices import Level
from grids.models import Area
from grids.scope import visible_areas
from reports import evaluation, kpis, scoring
from reports.api import serializers as s


def _area(request, code: str) -> Area:
    area = visible_areas(request.user).filter(code=code).first()
    if area is None:
        raise NotFound(_("No such area."))
    return area


def _query(request, serializer_class) -> dict:
    query = serializer_class(data=query_values(request))
    query.is_valid(raise_exception=True)
    return query.validated_data


class KpiView(APIView):
    """Counts and rates (DESIGN.md §7) of an area subtree over a period, optionally broken down."""

    @extend_schema(parameters=[s.KpiQuerySerializer], responses=s.KpiSerializer, tags=["reports"])
    @replica_reads
    def get(self, request):
        query = _query(request, s.KpiQuerySerializer)
        area = _area(request, query["area"])
        try:
            data = kpis.kpis(area, query["start"], query["end"], by=query.get("by"))
        except kpis.RolledUpPeriod as error:
            raise ValidationError({"by": [str(error)]}) from None
        return Response(s.KpiSerializer(data).data)


class TrendView(APIView):
    """One row per day, week or month of the period, with its counts and rates."""

    @extend_schema(parameters=[s.TrendQuerySerializer], responses=s.TrendSerializer, tags=["reports"])
    @replica_reads
    def get(self, request):
        query = _query(request, s.TrendQuerySerializer)
        area = _area(request, query["area"])
        try:
            rows = kpis.trend(area, query["start"], query["end"], period=query["period"])
        except kpis.RolledUpPeriod as error:
            raise ValidationError({"period": [str(error)]}) from None
        start, end = kpis.counted_period(query["start"], query["end"])
        data = {"area": kpis.area_info(area), "start": start, "end": end,
                "period": query["period"], "rows": rows}
        return Response(s.TrendSerializer(data).data)


class DepartmentLeagueView(APIView):
    """Departments ranked by on-time closure, with returns, rework, satisfaction and supervisions."""

    @extend_schema(parameters=[s.PeriodQuerySerializer], responses=s.DepartmentLeagueSerializer, tags=["reports"])
    @replica_reads
    def get(self, request):
        query = _query(request, s.PeriodQuerySerializer)
        area = _area(request, query["area"])
        start, end = kpis.counted_period(query["start"], query["end"])
        data = {"area": kpis.area_info(area), "start": start, "end": end,
                "rows": kpis.department_league(area, start, end)}
        return Response(s.DepartmentLeagueSerializer(data).data)


class OverdueView(APIView):
    """Open cases of the area past their current deadline, longest overdue first."""

    @extend_schema(parameters=[s.OverdueQuerySerializer], responses=s.OverdueSerializer, tags=["reports"])
    @replica_reads
    def get(self, request):
        query = _query(request, s.OverdueQuerySerializer)
        area = _area(request, query["area"])
        rows = kpis.top_overdue(area, user=request.user, limit=query["limit"])
        return Response(s.OverdueSerializer({"area": kpis.area_info(area), "rows": rows}).data)


def _month(request) -> tuple[Area, int, int]:
    query = _query(request, s.MonthQuerySerializer)
    return _area(request, query["area"]), query["year"], query["month"]


class SafetyIndexView(APIView):
    """The safety index 平安指数 of an area for a month, with each indicator and its child areas ranked."""

    @extend_schema(parameters=[s.MonthQuerySerializer], responses=s.SafetyReportSerializer, tags=["reports"])
    @replica_reads
    def get(self, request):
        area, year, month = _month(request)
        data = {**scoring.safety_index(area, year, month), "children": scoring.safety_ranking(area, year, month)}
        return Response(s.SafetyReportSerializer(data).data)


class WorkerScoresView(APIView):
    """Grid workers of a town (or above) ranked by their month's points × role coefficient."""

    @extend_schema(parameters=[s.MonthQuerySerializer], responses=s.ScoresSerializer, tags=["reports"])
    @replica_reads
    def get(self, request):
        area, year, month = _month(request)
        if area.level > Level.TOWN:
            raise ValidationError({"area": [_("Worker scores are ranked per town or above.")]})
        rows = scoring.worker_scores(area, year, month)
        return Response(s.ScoresSerializer({"area": kpis.area_info(area), "year": year, "month": month,
                                            "rows": rows}).data)


class DepartmentScoresView(APIView):
    """Departments ranked by their month's score (on time, accuracy, rework, satisfaction, supervisions)."""

    @extend_schema(parameters=[s.MonthQuerySerializer], responses=s.ScoresSerializer, tags=["reports"])
    @replica_reads
    def get(self, request):
        area, year, month = _month(request)
        rows = scoring.department_scores(area, year, month)
        return Response(s.ScoresSerializer({"area": kpis.area_info(area), "year": year, "month": month,
                                            "rows": rows}).data)


class EvaluationView(APIView):
    """Unit evaluation 三考合一: the departments and centres of an area ranked by their score over the
    period, each part of the score with its value, weight and points, and the negative-list deduction."""

    @extend_schema(parameters=[s.PeriodQuerySerializer], responses=s.EvaluationSerializer, tags=["reports"])
    def get(self, request):
        query = _query(request, s.PeriodQuerySerializer)
        area = _area(request, query["area"])
        return Response(s.EvaluationSerializer(evaluation.evaluation_report(area, query["start"], query["end"])).data)
