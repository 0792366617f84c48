"""Sweep tasks (排查任务) over REST, under /api/v1/sweep-tasks/.

Every task, target, grid and area named (in the URL or the body) comes through the access module
(cases.access: missing and out of scope answer the same 404); the actions (cases.actions.sweeps) do
every write and say why they refuse (4xx JSON).
"""

from __future__ import annotations

import json
from datetime import date

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases import access
from cases.actions import sweeps as actions
from cases.api.serializers import ErrorSerializer
from cases.models import Category
from cases.sweep_progress import board, grid_targets
from cases.sweeps import FieldKind, FindingKind, Recurrence, SweepReport, SweepTask, TargetKind
from govgrid.errors import ActionError
from govgrid.parsers import API_PARSERS
from parties.choices import HouseUse

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="The input is not valid: which field and why."),
    403: OpenApiResponse(ErrorSerializer, description="Your role may not do this on this sweep task."),
    404: OpenApiResponse(ErrorSerializer, description="No such sweep task (or not in your scope: the same "
                                                      "answer), or no such target, grid or area in the body."),
    409: OpenApiResponse(ErrorSerializer, description="The task is closed, or the target is already reported "
                                                      "for this round."),
}


class FieldSpecSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    label = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=FieldKind.choices)
    required = serializers.BooleanField(default=False)
    options = serializers.ListField(child=serializers.CharField(max_length=50), required=False)


class SweepTaskSerializer(serializers.ModelSerializer):
    fields = FieldSpecSerializer(many=True, read_only=True)
    target_use = serializers.CharField(read_only=True, help_text="A house use, or empty: any.")
    area_code = serializers.CharField(source="area.code", read_only=True)
    area_name = serializers.CharField(source="area.name", read_only=True)
    centre_name = serializers.CharField(source="centre.name", read_only=True)
    deadline = serializers.DateTimeField(read_only=True)

    class Meta:
        model = SweepTask
        fields = ["id", "title", "instructions", "fields", "area", "area_code", "area_name", "centre", "centre_name",
                  "target_kind", "target_rental", "target_use", "recurrence", "starts_on", "ends_on", "due_time",
                  "deadline", "finding_category", "status", "target_count", "created_at", "closed_at"]
        read_only_fields = fields


class SweepTaskInputSerializer(serializers.Serializer):
    """What a centre sends. ``deadline`` for a one-off task; ``starts_on``, ``ends_on`` and
    ``due_time`` (time of day, Asia/Shanghai) for a daily one. ``fields``: the form to fill."""

    area = serializers.IntegerField(min_value=1)
    title = serializers.CharField(max_length=100)
    instructions = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    fields = serializers.JSONField(help_text="A list of {label, kind: text|number|yes_no|choice|photo, "
                                             "required, options (choice)}.")
    target_kind = serializers.ChoiceField(choices=TargetKind.choices)
    target_rental = serializers.BooleanField(default=False)
    # A plain string (the action checks it): an enum here would be a second name for parties' house use.
    target_use = serializers.CharField(required=False, allow_blank=True, default="", max_length=16,
                                       help_text="Houses of this use only: " + ", ".join(HouseUse.values)
                                       + "; empty: any.")
    recurrence = serializers.ChoiceField(choices=Recurrence.choices, default=Recurrence.ONCE)
    deadline = serializers.DateTimeField(required=False)
    starts_on = serializers.DateField(required=False)
    ends_on = serializers.DateField(required=False)
    due_time = serializers.TimeField(required=False)
    finding_category = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.filter(is_active=True), required=False)


class SweepReportSerializer(serializers.ModelSerializer):
    target_label = serializers.CharField(source="target.label", read_only=True)
    grid = serializers.IntegerField(source="target.grid_id", read_only=True)
    photos = serializers.SerializerMethodField()

    class Meta:
        model = SweepReport
        fields = ["id", "task", "target", "target_label", "grid", "round_date", "worker", "reported_at", "is_late",
                  "is_zero", "answers", "note", "finding", "case", "photos"]
        read_only_fields = fields

    def get_photos(self, report) -> list[dict]:
        return [{"field": p.field_key, "content_type": p.content_type, "size": p.size} for p in report.photos.all()]


class SweepReportInputSerializer(serializers.Serializer):
    """One report on a target. As multipart, ``answers`` is a JSON text and each photo field's
    files come as ``photo_<key>`` (e.g. ``photo_f5``)."""

    target = serializers.IntegerField(min_value=1)
    answers = serializers.JSONField(required=False, default=dict)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    finding = serializers.ChoiceField(choices=FindingKind.choices, required=False, default="")
    finding_description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    finding_category = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.filter(is_active=True), required=False)
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    client_uuid = serializers.UUIDField(required=False)

    def validate_answers(self, value):
        if isinstance(value, str):  # multipart: a JSON text
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError(_("The answers are not valid JSON.")) from None
        return value


class FindingInputSerializer(serializers.Serializer):
    """A finding filed after its report: a case for the centre or a report-only record."""

    report = serializers.IntegerField(min_value=1)
    # The one enum of findings ("" here is refused by the action: nothing found is no finding to file).
    finding = serializers.ChoiceField(choices=FindingKind.choices)
    finding_description = serializers.CharField(max_length=2000)
    finding_category = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.filter(is_active=True), required=False)


class ZeroReportInputSerializer(serializers.Serializer):
    grid = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


COUNTS = inline_serializer("SweepCounts", {
    name: serializers.IntegerField() for name in
    ("total", "done", "late", "waiting", "silent", "zero", "findings", "grids", "grids_done", "grids_silent")
})


def _counts(counts) -> dict:
    return {name: getattr(counts, name) for name in
            ("total", "done", "late", "waiting", "silent", "zero", "findings", "grids", "grids_done", "grids_silent")}


def _round(request) -> date | None:
    value = request.query_params.get("round")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ActionError(_("round is a date (YYYY-MM-DD)."), field="round") from None


class SweepTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sweep tasks in your scope. POST here sends one (centre staff); a grid worker reports on
    targets (POST /{id}/reports/) or sends the grid's zero report (POST /{id}/zero-report/)."""

    serializer_class = SweepTaskSerializer
    ordering = "-id"
    parser_classes = API_PARSERS
    upload_actions = {"reports"}

    def get_queryset(self):
        return access.sweep_tasks_for(self.request.user).select_related("area", "centre")

    def get_object(self):
        return access.access_sweep_task_by_id(self.request.user, self.kwargs["pk"])

    @extend_schema(request=SweepTaskInputSerializer, responses={201: SweepTaskSerializer, **ERRORS})
    def create(self, request):
        data = SweepTaskInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        area = access.access_sweep_area(request.user, d["area"])
        task = actions.create_sweep_task(
            actor=request.user, area=area, title=d["title"], instructions=d["instructions"], fields=d["fields"],
            target_kind=d["target_kind"], target_rental=d["target_rental"], target_use=d["target_use"],
            recurrence=d["recurrence"], deadline=d.get("deadline"), starts_on=d.get("starts_on"),
            ends_on=d.get("ends_on"), due_time=d.get("due_time"), finding_category=d.get("finding_category"),
        )
        return Response(SweepTaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: SweepTaskSerializer, **ERRORS}, summary="Close the task")
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        task = actions.close_sweep_task(actor=request.user, task=self.get_object())
        return Response(SweepTaskSerializer(task).data)

    @extend_schema(
        parameters=[OpenApiParameter("area", OpenApiTypes.INT, description="Drill down: an area in scope"),
                    OpenApiParameter("round", OpenApiTypes.DATE, description="A round (default: the current)")],
        responses={200: inline_serializer("SweepProgress", {
            "round": serializers.DateField(), "deadline": serializers.DateTimeField(),
            "overdue": serializers.BooleanField(), "area": serializers.IntegerField(), "total": COUNTS,
            "rows": inline_serializer("SweepProgressRow", {
                "area": serializers.IntegerField(), "code": serializers.CharField(),
                "name": serializers.CharField(), "level": serializers.IntegerField(), "counts": COUNTS}, many=True),
        }), **ERRORS},
        summary="Progress per child area",
    )
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        task = self.get_object()
        area = access.access_sweep_board_area(request.user, task, request.query_params.get("area"))
        shown = board(task, area, round_date=_round(request))
        return Response({
            "round": shown.round_date, "deadline": shown.deadline, "overdue": shown.overdue, "area": area.pk,
            "total": _counts(shown.total),
            "rows": [{"area": row.area.pk if row.area else None, "code": row.area.code if row.area else "",
                      "name": row.area.name if row.area else "", "level": row.area.level if row.area else None,
                      "counts": _counts(row.counts)} for row in shown.rows],
        })

    @extend_schema(
        parameters=[OpenApiParameter("grid", OpenApiTypes.INT, required=True),
                    OpenApiParameter("round", OpenApiTypes.DATE)],
        responses={200: inline_serializer("SweepTargetState", {
            "id": serializers.IntegerField(), "label": serializers.CharField(), "state": serializers.CharField(),
            "report": serializers.IntegerField(allow_null=True)}, many=True), **ERRORS},
        summary="A grid's targets and their state in the round",
    )
    @action(detail=True, methods=["get"])
    def targets(self, request, pk=None):
        task = self.get_object()
        grid = access.access_sweep_grid(request.user, task, request.query_params.get("grid"))
        rows = grid_targets(task, grid, round_date=_round(request))
        return Response([{"id": row.target.pk, "label": row.target.label, "state": row.state,
                          "report": row.report.pk if row.report else None} for row in rows])

    @extend_schema(methods=["get"], responses={200: SweepReportSerializer(many=True), **ERRORS},
                   parameters=[OpenApiParameter("round", OpenApiTypes.DATE)], summary="Reports in scope")
    @extend_schema(methods=["post"], request=SweepReportInputSerializer,
                   responses={201: SweepReportSerializer, 200: SweepReportSerializer, **ERRORS},
                   summary="Report on a target (a resend with the same client_uuid answers 200 with the first)")
    @action(detail=True, methods=["get", "post"])
    def reports(self, request, pk=None):
        task = self.get_object()
        if request.method == "GET":
            from grids.scope import scope_for

            reports = task.reports.filter(scope_for(request.user).area_q("target__area_")).select_related(
                "target").prefetch_related("photos").order_by("-id")
            round_date = _round(request)
            if round_date:
                reports = reports.filter(round_date=round_date)
            page = self.paginate_queryset(reports)
            return self.get_paginated_response(SweepReportSerializer(page, many=True).data)
        data = SweepReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        target = access.access_sweep_target(request.user, task, d["target"], act=True)
        photos = {name[len("photo_"):]: request.FILES.getlist(name) for name in getattr(request, "FILES", {})
                  if name.startswith("photo_")}
        report, created = actions.report_sweep_target(
            actor=request.user, task=task, target=target, answers=d["answers"], photos=photos, note=d["note"],
            finding=d["finding"], finding_description=d["finding_description"],
            finding_category=d.get("finding_category"), lon=d.get("lon"), lat=d.get("lat"),
            client_uuid=d.get("client_uuid"),
        )
        return Response(SweepReportSerializer(report).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=FindingInputSerializer, responses={200: SweepReportSerializer, **ERRORS},
                   summary="File a report's finding as a case or a report-only record (once per report)")
    @action(detail=True, methods=["post"])
    def finding(self, request, pk=None):
        task = self.get_object()
        data = FindingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        report = access.access_sweep_report(request.user, task, d["report"], act=True)
        report = actions.file_sweep_finding(actor=request.user, task=task, report=report, finding=d["finding"],
                                            description=d["finding_description"],
                                            category=d.get("finding_category"))
        return Response(SweepReportSerializer(report).data)

    @extend_schema(request=ZeroReportInputSerializer, responses={200: inline_serializer(
        "SweepZeroReport", {"reported": serializers.IntegerField()}), **ERRORS},
        summary="The grid's zero report for the round (a resend reports 0 more)")
    @action(detail=True, methods=["post"], url_path="zero-report")
    def zero_report(self, request, pk=None):
        task = self.get_object()
        data = ZeroReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grid = access.access_sweep_grid(request.user, task, data.validated_data["grid"], act=True)
        count = actions.zero_report_grid(actor=request.user, task=task, grid=grid, note=data.validated_data["note"])
        return Response({"reported": count})

