"""Emergency activations over REST: scoped list and detail, POST to switch on, one POST per change.

The activation in the URL and the area in the body come through the access module (missing and out of
scope: the same 404); who may act is cases.pipeline.check_command (403); a switched-off activation
refuses changes (409); bad input is a 400 naming the field. State changes only in cases.actions.emergency.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases import access, pipeline
from cases.actions import emergency as actions
from cases.api.filters import ActivationFilterSet
from cases.api.serializers import ErrorSerializer
from cases.choices import EmergencyLevel
from cases.emergency import Activation, ActivationEvent
from govgrid import clock
from govgrid.parsers import API_PARSERS

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="The input is not valid: which field and why."),
    403: OpenApiResponse(ErrorSerializer, description="Only an official over the area (or an admin) may do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such activation or area (or not in your scope: the "
                                                      "same answer), or no such person for the task force."),
    409: OpenApiResponse(ErrorSerializer, description="The activation is already switched off (or at that level)."),
}
WHO = f"Who: {pipeline.EMERGENCY_WHO}."


class ActivationEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = ActivationEvent
        fields = ["id", "at", "actor", "change", "old_level", "new_level", "note", "payload"]
        read_only_fields = fields


class ActivationSerializer(serializers.ModelSerializer):
    area_code = serializers.CharField(source="area.code", read_only=True)
    area_name = serializers.CharField(source="area.name", read_only=True)
    numeral = serializers.CharField(read_only=True)
    factor = serializers.DecimalField(max_digits=4, decimal_places=3, read_only=True)
    is_active = serializers.SerializerMethodField()
    lead = serializers.CharField(source="lead.username", read_only=True, default=None, allow_null=True)
    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Activation
        fields = ["id", "area", "area_code", "area_name", "level", "numeral", "factor", "reason", "starts_at",
                  "ends_at", "switched_off_at", "is_active", "created_by", "lead", "members"]
        read_only_fields = fields

    def get_is_active(self, activation) -> bool:
        at = clock.now()
        return activation.starts_at <= at and (activation.switched_off_at is None or activation.switched_off_at > at) \
            and (activation.ends_at is None or activation.ends_at > at)


class ActivationDetailSerializer(ActivationSerializer):
    events = ActivationEventSerializer(many=True, read_only=True)

    class Meta(ActivationSerializer.Meta):
        fields = [*ActivationSerializer.Meta.fields, "events"]
        read_only_fields = fields


LEVELS = EmergencyLevel.choices  # the same choice set as the model field: one enum in the schema


class TaskForceFields(serializers.Serializer):
    lead = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=150,
                                 help_text="The task force lead's username.")
    members = serializers.ListField(child=serializers.CharField(max_length=150), required=False, max_length=500,
                                    help_text="Usernames of the task force members (departments, centres).")


class SwitchOnSerializer(TaskForceFields):
    area = serializers.CharField(max_length=32,
                                 help_text="The code of the area whose subtree goes into emergency mode.")
    level = serializers.ChoiceField(choices=LEVELS, help_text="1 (I, most severe) to 4 (IV).")
    reason = serializers.CharField(max_length=2000)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, help_text="The planned end (optional).")


class LevelSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=LEVELS, help_text="1 (I, most severe) to 4 (IV).")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class TaskForceSerializer(TaskForceFields):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ActivationNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ActivationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        viewsets.GenericViewSet):
    """Emergency activations (战时) over or inside your scope. POST here switches emergency mode on;
    POST to /{id}/level/, /{id}/task-force/, /{id}/off/ changes it."""

    ordering = "-id"
    parser_classes = API_PARSERS
    filterset_class = ActivationFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Activation.objects.none()
        return access.activations_for(self.request.user).select_related("area", "lead", "created_by") \
            .prefetch_related("members")

    def get_serializer_class(self):
        if self.action == "create":
            return SwitchOnSerializer
        return ActivationDetailSerializer if self.action == "retrieve" else ActivationSerializer

    def get_object(self):
        return access.access_activation(self.request.user, self.kwargs["pk"])

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, activation, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().prefetch_related("events__actor").get(pk=activation.pk)
        return Response(ActivationDetailSerializer(fresh).data, status=code)

    @extend_schema(request=SwitchOnSerializer, responses={201: ActivationDetailSerializer, **ERRORS},
                   summary=str(pipeline.EMERGENCY_RULES["switch_on"]), description=WHO)
    def create(self, request, *args, **kwargs):
        data = self._input(SwitchOnSerializer)
        activation = actions.switch_on(actor=request.user, area=data["area"], level=data["level"],
                                       reason=data["reason"], ends_at=data.get("ends_at"), lead=data.get("lead"),
                                       members=data.get("members", []))
        return self._answer(activation, status.HTTP_201_CREATED)

    def _act(self, serializer_class, run) -> Response:
        activation = access.access_activation(self.request.user, self.kwargs["pk"])
        data = self._input(serializer_class)
        return self._answer(run(activation, data))

    @extend_schema(request=LevelSerializer, responses={200: ActivationDetailSerializer, **ERRORS},
                   summary=str(pipeline.EMERGENCY_RULES["change_level"]), description=WHO)
    @action(detail=True, methods=["post"])
    def level(self, request, pk=None):
        return self._act(LevelSerializer, lambda a, d: actions.change_level(
            a, actor=request.user, level=d["level"], note=d["note"]))

    @extend_schema(request=TaskForceSerializer, responses={200: ActivationDetailSerializer, **ERRORS},
                   summary=str(pipeline.EMERGENCY_RULES["change_task_force"]), description=WHO)
    @action(detail=True, methods=["post"], url_path="task-force")
    def task_force(self, request, pk=None):
        return self._act(TaskForceSerializer, lambda a, d: actions.change_task_force(
            a, actor=request.user, lead=d.get("lead"), members=d.get("members", []), note=d["note"]))

    @extend_schema(request=ActivationNoteSerializer, responses={200: ActivationDetailSerializer, **ERRORS},
                   summary=str(pipeline.EMERGENCY_RULES["switch_off"]), description=WHO)
    @action(detail=True, methods=["post"])
    def off(self, request, pk=None):
        return self._act(ActivationNoteSerializer,
                         lambda a, d: actions.switch_off(a, actor=request.user, note=d["note"]))
