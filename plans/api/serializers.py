"""Serializers of work plans over REST: answers (model serializers, read-only) and inputs (plain
serializers whose ids the views resolve through plans.access)."""

from __future__ import annotations

from rest_framework import serializers

from plans.choices import Light, NegativeKind
from plans.figures import task_light
from plans.models import Indicator, Milestone, NegativeEvent, PlanTask, ProgressReport, WorkPlan


class IndicatorSerializer(serializers.ModelSerializer):
    is_met = serializers.BooleanField(read_only=True)

    class Meta:
        model = Indicator
        fields = ["id", "name", "target", "unit", "actual", "is_met"]
        read_only_fields = fields


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["id", "title", "due_on", "done_at"]
        read_only_fields = fields


class PlanTaskSerializer(serializers.ModelSerializer):
    light = serializers.SerializerMethodField()
    indicators = IndicatorSerializer(many=True, read_only=True)
    milestones = MilestoneSerializer(many=True, read_only=True)

    class Meta:
        model = PlanTask
        fields = ["id", "plan", "title", "lead_department", "lead_centre", "assisting_departments",
                  "assisting_centres", "starts_on", "deadline", "status", "percent_done", "last_reported_at",
                  "light", "indicators", "milestones"]
        read_only_fields = fields

    def get_light(self, task) -> Light:
        return task_light(task)


class WorkPlanSerializer(serializers.ModelSerializer):
    area_name = serializers.CharField(source="area.name", read_only=True)
    indicators_met = serializers.SerializerMethodField()
    indicators_total = serializers.SerializerMethodField()

    class Meta:
        model = WorkPlan
        fields = ["id", "year", "title", "owner", "area", "area_name", "created_at", "indicators_met",
                  "indicators_total"]
        read_only_fields = fields

    def _met(self, plan) -> tuple[int, int]:
        return (self.context.get("met") or {}).get(plan.pk, (0, 0))

    def get_indicators_met(self, plan) -> int:
        return self._met(plan)[0]

    def get_indicators_total(self, plan) -> int:
        return self._met(plan)[1]


class ProgressReportSerializer(serializers.ModelSerializer):
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = ProgressReport
        fields = ["id", "task", "department", "centre", "by", "at", "text", "percent", "figures", "evidence"]
        read_only_fields = fields

    def get_evidence(self, report) -> list[dict]:
        return [{"content_type": e.content_type, "size": e.size} for e in report.evidence.all()]


class NegativeEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = NegativeEvent
        fields = ["id", "plan", "department", "centre", "date", "kind", "note", "points", "recorded_by",
                  "recorded_at"]
        read_only_fields = fields


class WorkPlanInputSerializer(serializers.Serializer):
    area = serializers.IntegerField(min_value=1)
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    title = serializers.CharField(max_length=200)


class PlanTaskInputSerializer(serializers.Serializer):
    """A task: exactly one of ``lead_department`` and ``lead_centre``."""

    plan = serializers.IntegerField(min_value=1)
    title = serializers.CharField(max_length=200)
    lead_department = serializers.IntegerField(min_value=1, required=False)
    lead_centre = serializers.IntegerField(min_value=1, required=False)
    assisting_departments = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                                  default=list, max_length=100)
    assisting_centres = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                              default=list, max_length=100)
    starts_on = serializers.DateField()
    deadline = serializers.DateField()


class IndicatorInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    target = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class MilestoneInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    due_on = serializers.DateField()


class ProgressInputSerializer(serializers.Serializer):
    """A progress report. ``figures``: {indicator id: number}. As multipart, ``figures`` is a JSON
    text and photos come as ``files``. ``unit``: ``department:<id>`` or ``centre:<id>`` when the
    user reports for more than one unit of the task."""

    text = serializers.CharField(max_length=5000)
    percent = serializers.DecimalField(max_digits=4, decimal_places=1, min_value=0, max_value=100)
    figures = serializers.JSONField(required=False, default=dict)
    unit = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")

    def validate_figures(self, value):
        import json

        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError("Not valid JSON.") from None
        if not isinstance(value, dict):
            raise serializers.ValidationError("A map of indicator ids to numbers.")
        return value


class SuperviseInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000)


class NegativeEventInputSerializer(serializers.Serializer):
    """An event held against one unit: exactly one of ``department`` and ``centre``."""

    plan = serializers.IntegerField(min_value=1)
    department = serializers.IntegerField(min_value=1, required=False)
    centre = serializers.IntegerField(min_value=1, required=False)
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=NegativeKind.choices)
    points = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
