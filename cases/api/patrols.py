"""Patrols 巡查 over REST (/api/v1/patrols/): start, positions, check-ins, end, the scoped list, who is
patrolling now and the day's tracks.

Patrol ids in URLs come through the access module (cases.access: missing and out of scope answer the
same 404); the building a check-in names goes through parties' access module. State changes only by
calling cases.actions.patrols; refusals come back as 4xx JSON saying why.
"""

from __future__ import annotations

from datetime import date

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework_gis.fields import GeometryField

from cases import access
from cases.actions import patrols as patrol_actions
from cases.api.serializers import ErrorSerializer
from cases.patrol_selectors import patrolling_now, tracks_geojson
from cases.patrols import CheckIn, Patrol, PatrolStatus
from govgrid.openapi import BlankChoicesMixin
from govgrid.parsers import API_PARSERS
from grids.api.filters import FIRST_YEAR, LAST_YEAR, MAX_UTC_OFFSET, StrictBooleanFilter

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="The input is not valid: which field and why (nothing of a "
                                                      "refused batch of positions is saved)."),
    403: OpenApiResponse(ErrorSerializer, description="Your role may not do this (only grid workers patrol)."),
    404: OpenApiResponse(ErrorSerializer, description="No such patrol (or not yours or not in your scope: the same "
                                                      "answer), or no such grid or building named in the body."),
    409: OpenApiResponse(ErrorSerializer, description="You are already on a patrol: end it first."),
}


class PhoneTimeField(serializers.DateTimeField):
    """A time the phone took: ISO 8601 with a real UTC offset and a year a record can have."""

    default_error_messages = {
        "offset": gettext_lazy("The UTC offset must lie between -14:00 and +14:00."),
        "year": gettext_lazy("The year must lie between 1900 and 2999."),
    }

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        offset = result.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            self.fail("offset")
        if not FIRST_YEAR <= result.year <= LAST_YEAR:
            self.fail("year")
        return result


class PositionSerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180, label=gettext_lazy("longitude"))
    lat = serializers.FloatField(min_value=-90, max_value=90, label=gettext_lazy("latitude"))
    recorded_at = PhoneTimeField(label=gettext_lazy("recorded at"))
    accuracy = serializers.FloatField(min_value=0, max_value=100_000, required=False, allow_null=True,
                                      label=gettext_lazy("accuracy (m)"))


class PositionsField(serializers.ListField):
    """The batch, its length checked before any position is read (a huge batch is refused at once)."""

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > patrol_actions.MAX_BATCH:
            raise ValidationError([_("At most %(max)s positions per batch; send the rest in another.")
                                   % {"max": patrol_actions.MAX_BATCH}])
        return super().to_internal_value(data)


class PointsInputSerializer(serializers.Serializer):
    """A batch of positions, oldest or newest first (the track is ordered by ``recorded_at``)."""

    points = PositionsField(child=PositionSerializer(), min_length=1, max_length=patrol_actions.MAX_BATCH,
                            label=gettext_lazy("positions"))

    def fixes(self) -> list[patrol_actions.Fix]:
        return [patrol_actions.Fix(p["lon"], p["lat"], p["recorded_at"], p.get("accuracy"))
                for p in self.validated_data["points"]]


class StartSerializer(serializers.Serializer):
    grid = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                    label=gettext_lazy("grid (id; may be left out if you work in one grid)"))
    client_uuid = serializers.UUIDField(required=False, allow_null=True, label=gettext_lazy("client request id"))


class EndSerializer(serializers.Serializer):
    at = PhoneTimeField(required=False, allow_null=True, label=gettext_lazy("ended at (default: now)"))


class CheckInInputSerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180, label=gettext_lazy("longitude"))
    lat = serializers.FloatField(min_value=-90, max_value=90, label=gettext_lazy("latitude"))
    at = PhoneTimeField(required=False, allow_null=True, label=gettext_lazy("at (default: now)"))
    building = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                        label=gettext_lazy("building (id)"))
    place = serializers.CharField(required=False, allow_blank=True, max_length=200, default="",
                                  label=pgettext_lazy("patrol", "place"))
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="",
                                 label=gettext_lazy("note"))
    photo = serializers.FileField(required=False, allow_null=True, label=gettext_lazy("photo"))
    client_uuid = serializers.UUIDField(required=False, allow_null=True, label=gettext_lazy("client request id"))


class PatrolSerializer(BlankChoicesMixin, serializers.ModelSerializer):
    worker = serializers.CharField(source="worker.username", read_only=True)
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    duration_s = serializers.SerializerMethodField()

    class Meta:
        model = Patrol
        fields = ["id", "worker", "grid", "grid_code", "grid_name", "status", "started_at", "ended_at", "end_reason",
                  "duration_s", "distance_m", "point_count", "last_point_at", "client_uuid"]
        read_only_fields = fields

    def get_duration_s(self, patrol: Patrol) -> int:
        return patrol.duration_s()


class PatrolDetailSerializer(PatrolSerializer):
    track = GeometryField(read_only=True, allow_null=True)

    class Meta(PatrolSerializer.Meta):
        fields = [*PatrolSerializer.Meta.fields, "track"]
        read_only_fields = fields


class PointsReceiptSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="positions new to the server (a resend adds none)")
    point_count = serializers.IntegerField()
    distance_m = serializers.FloatField()
    last_point_at = serializers.DateTimeField(allow_null=True)


class CheckInSerializer(serializers.ModelSerializer):
    location = GeometryField(source="point", read_only=True)

    class Meta:
        model = CheckIn
        fields = ["id", "patrol", "location", "at", "building", "place", "note", "photo", "client_uuid"]
        read_only_fields = fields


class PatrolFilterSet(django_filters.FilterSet):
    active = StrictBooleanFilter(method="filter_active", label=gettext_lazy("patrolling now"))
    worker = django_filters.CharFilter(field_name="worker__username", label=gettext_lazy("worker (username)"))
    mine = StrictBooleanFilter(method="filter_mine", label=gettext_lazy("my own patrols"))

    class Meta:
        model = Patrol
        fields = []

    def filter_active(self, queryset, name, value):
        return queryset.filter(status=PatrolStatus.ACTIVE) if value else queryset.exclude(status=PatrolStatus.ACTIVE)

    def filter_mine(self, queryset, name, value):
        user = self.request.user if self.request else None
        return queryset.filter(worker=user) if value else queryset.exclude(worker=user)


class PatrolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Patrols in your scope (your own, and those in the grids you see). POST here starts one of yours."""

    ordering = "-id"
    filterset_class = PatrolFilterSet
    parser_classes = API_PARSERS
    upload_actions = {"checkins"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Patrol.objects.none()
        return access.patrols_for(self.request.user).select_related("worker", "grid").defer(
            "grid__boundary", "grid__centroid", *([] if self.action == "retrieve" else ["track"]))

    def get_serializer_class(self):
        return PatrolDetailSerializer if self.action == "retrieve" else PatrolSerializer

    def get_object(self):
        return access.access_patrol_by_id(self.request.user, self.kwargs["pk"])

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer

    @extend_schema(request=StartSerializer, responses={201: PatrolSerializer, 200: PatrolSerializer, **ERRORS},
                   summary="Start a patrol",
                   description="A grid worker starts patrolling one of their grids (one patrol at a time). A resend "
                               "with the same client_uuid answers 200 with the patrol of the first call.")
    def create(self, request, *args, **kwargs):
        data = self._input(StartSerializer).validated_data
        patrol, created = patrol_actions.start_patrol(worker=request.user, grid=data.get("grid"),
                                                      client_uuid=data.get("client_uuid"))
        return Response(PatrolSerializer(patrol).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=PointsInputSerializer, responses={200: PointsReceiptSerializer, **ERRORS},
                   summary="Add positions to your patrol",
                   description=f"A batch of 1–{patrol_actions.MAX_BATCH} positions of your own patrol. All or nothing: "
                               "a position far outside the grid, dated in the future or outside the patrol, or "
                               "implying a speed no patrol has refuses the batch. A resent batch adds nothing.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def points(self, request, pk=None):
        patrol = access.access_own_patrol(request.user, pk)
        fixes = self._input(PointsInputSerializer).fixes()
        added = patrol_actions.add_points(patrol, actor=request.user, points=fixes)
        patrol.refresh_from_db()
        return Response({"added": added, "point_count": patrol.point_count, "distance_m": patrol.distance_m,
                         "last_point_at": patrol.last_point_at})

    @extend_schema(request=CheckInInputSerializer, responses={201: CheckInSerializer, 200: CheckInSerializer,
                                                              **ERRORS},
                   summary="Check in at a place on your patrol",
                   description="A building of the patrol's grid, or a place named in words; a note and a photo "
                               "(multipart) if you like. A resend with the same client_uuid answers 200.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def checkins(self, request, pk=None):
        patrol = access.access_own_patrol(request.user, pk)
        data = self._input(CheckInInputSerializer).validated_data
        checkin, created = patrol_actions.check_in(
            patrol, actor=request.user, lon=data["lon"], lat=data["lat"], at=data.get("at"),
            building=data.get("building"), place=data["place"], note=data["note"], photo=data.get("photo"),
            client_uuid=data.get("client_uuid"))
        return Response(CheckInSerializer(checkin, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=EndSerializer, responses={200: PatrolSerializer, **ERRORS}, summary="End a patrol",
                   description="By its worker, or by centre staff over its grid. Ending an ended patrol changes "
                               "nothing.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def end(self, request, pk=None):
        patrol = access.access_patrol_by_id(request.user, pk)
        data = self._input(EndSerializer).validated_data
        patrol = patrol_actions.end_patrol(patrol, actor=request.user, at=data.get("at"))
        return Response(PatrolSerializer(patrol).data)

    @extend_schema(responses={200: PatrolSerializer(many=True)}, summary="Who is patrolling now",
                   description="Active patrols in your scope, longest running first (at most 500).")
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def now(self, request):
        return Response(PatrolSerializer(patrolling_now(request.user)[:500], many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("date", str, description="a day, YYYY-MM-DD (default: today)",
                                     pattern=r"^\d{4}-\d{2}-\d{2}$")],
        responses={200: OpenApiResponse(description="GeoJSON FeatureCollection of LineStrings"), 400: ERRORS[400]},
        summary="The day's patrol tracks", description="Tracks of the patrols in your scope started that day.")
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def tracks(self, request):
        return Response(tracks_geojson(request.user, parse_day(request.query_params.get("date"))))


def parse_day(value: str | None) -> date | None:
    """A day from ``?date=YYYY-MM-DD``, or None for today; anything else is a 400."""
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError({"date": [_("Give a day as YYYY-MM-DD.")]})
    return day

