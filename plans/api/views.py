"""Work plans over REST, under /api/v1/plans/.

Every plan, task, unit and area named (in the URL or the body) comes through plans.access (missing and
out of scope answer the same 404); plans.actions does every write and says why it refuses (4xx JSON).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.api.serializers import ErrorSerializer
from govgrid.parsers import API_PARSERS
from plans import access, actions, figures
from plans.api import serializers as s

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="The input is not valid: which field and why."),
    403: OpenApiResponse(ErrorSerializer, description="Your role may not do this on this plan."),
    404: OpenApiResponse(ErrorSerializer, description="No such plan or task (or not in your scope: the same "
                                                      "answer), or no such unit or area in the body."),
    409: OpenApiResponse(ErrorSerializer, description="Done already."),
}


class WorkPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Work plans in your scope, with "N of M indicators met". POST creates one (centre staff and
    officials over the area)."""

    serializer_class = s.WorkPlanSerializer
    ordering = "-id"

    def get_queryset(self):
        return access.plans_for(self.request.user).select_related("area")

    def get_object(self):
        return access.access_plan_by_id(self.request.user, self.kwargs["pk"])

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "request", None) is not None and not getattr(self, "swagger_fake_view", False):
            context["met"] = figures.indicators_met(self.get_queryset())
        return context

    @extend_schema(request=s.WorkPlanInputSerializer, responses={201: s.WorkPlanSerializer, **ERRORS})
    def create(self, request):
        data = s.WorkPlanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        area = access.access_area(request.user, d["area"], field="area")
        plan = actions.create_plan(actor=request.user, area=area, year=d["year"], title=d["title"])
        return Response(s.WorkPlanSerializer(plan, context={"met": {}}).data, status=status.HTTP_201_CREATED)


class PlanTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tasks in your scope and those your unit leads or assists, each with its light. POST creates
    one; POST /{id}/indicators/, /{id}/milestones/ add to it; POST /{id}/reports/ reports progress
    (the lead or an assisting unit); POST /{id}/supervise/ is an official's note (督导)."""

    serializer_class = s.PlanTaskSerializer
    ordering = "-id"
    parser_classes = API_PARSERS
    upload_actions = {"reports"}

    def get_queryset(self):
        tasks = access.tasks_for(self.request.user).prefetch_related(
            "indicators", "milestones", "assisting_departments", "assisting_centres")
        plan = self.request.query_params.get("plan")
        if plan:
            tasks = tasks.filter(plan=access.access_plan_by_id(self.request.user, plan, field="plan"))
        return tasks

    def get_object(self):
        return access.access_task_by_id(self.request.user, self.kwargs["pk"])

    @extend_schema(request=s.PlanTaskInputSerializer, responses={201: s.PlanTaskSerializer, **ERRORS})
    def create(self, request):
        data = s.PlanTaskInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        user = request.user
        plan = access.access_plan_by_id(user, d["plan"], field="plan")
        lead_department = (access.access_department(user, d["lead_department"], field="lead_department")
                           if d.get("lead_department") else None)
        lead_centre = (access.access_centre(user, d["lead_centre"], field="lead_centre")
                       if d.get("lead_centre") else None)
        task = actions.create_task(
            actor=user, plan=plan, title=d["title"], starts_on=d["starts_on"], deadline=d["deadline"],
            lead_department=lead_department, lead_centre=lead_centre,
            assisting_departments=[access.access_department(user, pk, field="assisting_departments")
                                   for pk in d["assisting_departments"]],
            assisting_centres=[access.access_centre(user, pk, field="assisting_centres")
                               for pk in d["assisting_centres"]],
        )
        return Response(s.PlanTaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("plan", OpenApiTypes.INT, description="Only this plan's tasks")],
        responses={200: inline_serializer("PlanBoard", {
            "months": serializers.ListField(child=serializers.CharField()),
            "totals": inline_serializer("PlanBoardLights", {light: serializers.IntegerField()
                                                            for light in ("green", "yellow", "red")}),
            "rows": inline_serializer("PlanBoardRow", {
                "unit": serializers.CharField(help_text="department:<id> or centre:<id>"),
                "name": serializers.CharField(),
                "lights": inline_serializer("PlanBoardRowLights", {light: serializers.IntegerField()
                                                                   for light in ("green", "yellow", "red")}),
                "tasks": inline_serializer("PlanBoardTask", {
                    "id": serializers.IntegerField(), "title": serializers.CharField(),
                    "month": serializers.CharField(), "light": serializers.CharField(),
                    "percent": serializers.DecimalField(max_digits=4, decimal_places=1),
                    "deadline": serializers.DateField()}, many=True)}, many=True),
        }), **ERRORS},
        summary="The board (挂图作战): tasks by lead unit and month, with lights",
    )
    @action(detail=False, methods=["get"])
    def board(self, request):
        shown = figures.board(self.get_queryset())
        return Response({
            "months": shown.months, "totals": shown.totals,
            "rows": [{"unit": row.unit_key, "name": row.unit_name, "lights": row.lights,
                      "tasks": [{**item, "month": month, "percent": str(item["percent"])}
                                for month, items in row.months.items() for item in items]}
                     for row in shown.rows],
        })

    @extend_schema(request=s.IndicatorInputSerializer, responses={201: s.IndicatorSerializer, **ERRORS},
                   summary="Add an indicator")
    @action(detail=True, methods=["post"])
    def indicators(self, request, pk=None):
        task = self.get_object()
        data = s.IndicatorInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        indicator = actions.add_indicator(actor=request.user, task=task, **data.validated_data)
        return Response(s.IndicatorSerializer(indicator).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MilestoneInputSerializer, responses={201: s.MilestoneSerializer, **ERRORS},
                   summary="Add a milestone")
    @action(detail=True, methods=["post"])
    def milestones(self, request, pk=None):
        task = self.get_object()
        data = s.MilestoneInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        milestone = actions.add_milestone(actor=request.user, task=task, **data.validated_data)
        return Response(s.MilestoneSerializer(milestone).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses={200: s.ProgressReportSerializer(many=True), **ERRORS},
                   summary="The task's progress reports")
    @extend_schema(methods=["post"], request=s.ProgressInputSerializer,
                   responses={201: s.ProgressReportSerializer, **ERRORS}, summary="Report progress")
    @action(detail=True, methods=["get", "post"])
    def reports(self, request, pk=None):
        task = self.get_object()
        if request.method == "GET":
            reports = task.reports.prefetch_related("evidence").order_by("-id")
            page = self.paginate_queryset(reports)
            return self.get_paginated_response(s.ProgressReportSerializer(page, many=True).data)
        data = s.ProgressInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        report = actions.report_progress(actor=request.user, task=task, text=d["text"], percent=d["percent"],
                                         figures=d["figures"], files=request.FILES.getlist("files"),
                                         unit=d["unit"] or None)
        return Response(s.ProgressReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SuperviseInputSerializer, responses={201: None, **ERRORS},
                   summary="Supervise (督导): a note to the lead unit")
    @action(detail=True, methods=["post"])
    def supervise(self, request, pk=None):
        task = self.get_object()
        data = s.SuperviseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.supervise_task(actor=request.user, task=task, note=data.validated_data["note"])
        return Response(status=status.HTTP_201_CREATED)


class NegativeEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Negative-list events (负面清单) of the plans in your scope. POST records one against a unit."""

    serializer_class = s.NegativeEventSerializer
    ordering = "-id"

    def get_queryset(self):
        return access.negative_events_for(self.request.user)

    @extend_schema(request=s.NegativeEventInputSerializer, responses={201: s.NegativeEventSerializer, **ERRORS})
    def create(self, request):
        data = s.NegativeEventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        user = request.user
        plan = access.access_plan_by_id(user, d["plan"], field="plan")
        department = (access.access_department(user, d["department"], field="department")
                      if d.get("department") else None)
        centre = access.access_centre(user, d["centre"], field="centre") if d.get("centre") else None
        event = actions.record_negative_event(actor=user, plan=plan, on=d["date"], kind=d["kind"], points=d["points"],
                                              note=d["note"], department=department, centre=centre)
        return Response(s.NegativeEventSerializer(event).data, status=status.HTTP_201_CREATED)
