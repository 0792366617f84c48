"""Campaigns (创无 10+N, 平安细胞) over REST, under /api/v1/plans/: the types with their checklists
(read), campaigns (list, create, retrieve) with their figures, entries (list, create, retrieve),
inspections (multipart with photos), certify, revoke and withdraw.

Every campaign, entry, area and organisation named in the URL or the body comes through plans.access
(missing and out of scope answer the same 404); plans.campaigns does every write.
"""

from __future__ import annotations

import json

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from govgrid.errors import Conflict
from govgrid.parsers import API_PARSERS
from plans import access, campaign_figures, campaigns
from plans.api.views import ERRORS
from plans.choices import EntryStatus
from plans.models import (
    Campaign,
    CampaignCriterion,
    CampaignEntry,
    CampaignType,
    Certification,
    Inspection,
    InspectionResult,
)


class CampaignCriterionSerializer(serializers.ModelSerializer):
    text = serializers.CharField(source="display_text", read_only=True)

    class Meta:
        model = CampaignCriterion
        fields = ["id", "order", "text", "required"]
        read_only_fields = fields


class CampaignTypeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    criteria = CampaignCriterionSerializer(many=True, read_only=True)

    class Meta:
        model = CampaignType
        fields = ["id", "code", "name", "family", "entrant", "validity_months", "inspection_valid_days", "criteria"]
        read_only_fields = fields


class CampaignSerializer(serializers.ModelSerializer):
    area_name = serializers.CharField(source="area.name", read_only=True)
    entries = serializers.SerializerMethodField()
    certified = serializers.SerializerMethodField()
    revoked = serializers.SerializerMethodField()
    percent_certified = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "type", "title", "area", "area_name", "year", "starts_on", "ends_on", "owner",
                  "lead_department", "lead_centre", "created_at", "entries", "certified", "revoked",
                  "percent_certified"]
        read_only_fields = fields

    def _counts(self, campaign) -> campaign_figures.CampaignCounts:
        return (self.context.get("counts") or {}).get(campaign.pk) or campaign_figures.CampaignCounts()

    def get_entries(self, campaign) -> int:
        return self._counts(campaign).entries

    def get_certified(self, campaign) -> int:
        return self._counts(campaign).certified

    def get_revoked(self, campaign) -> int:
        return self._counts(campaign).revoked

    def get_percent_certified(self, campaign) -> float:
        return float(self._counts(campaign).percent_certified)


class CampaignEntrySerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    valid_until = serializers.SerializerMethodField()
    last_inspected_at = serializers.SerializerMethodField()

    class Meta:
        model = CampaignEntry
        fields = ["id", "campaign", "area", "organisation", "name", "entered_on", "withdrawn_on", "status",
                  "valid_until", "last_inspected_at"]
        read_only_fields = fields

    def _row(self, entry) -> campaign_figures.EntryRow:
        rows = self.context.setdefault("rows", {})
        if entry.pk not in rows:
            rows[entry.pk] = campaign_figures.entry_rows(CampaignEntry.objects.filter(pk=entry.pk))[0]
        return rows[entry.pk]

    def get_name(self, entry) -> str:
        return str(entry.subject)

    def get_status(self, entry) -> EntryStatus:
        return self._row(entry).status

    def get_valid_until(self, entry) -> str | None:
        until = self._row(entry).valid_until
        return until.isoformat() if until else None

    def get_last_inspected_at(self, entry) -> str | None:
        last = self._row(entry).last_inspection
        return serializers.DateTimeField().to_representation(last.at) if last else None


class InspectionResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = InspectionResult
        fields = ["criterion", "passed", "note"]
        read_only_fields = fields


class InspectionSerializer(serializers.ModelSerializer):
    results = InspectionResultSerializer(many=True, read_only=True)
    photos = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = ["id", "entry", "inspector", "at", "passed", "note", "results", "photos"]
        read_only_fields = fields

    def get_photos(self, inspection) -> list[dict]:
        return [{"url": reverse("plans:campaign_photo", args=[p.pk]), "content_type": p.content_type,
                 "size": p.size} for p in inspection.photos.all()]


class CertificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Certification
        fields = ["id", "entry", "inspection", "certified_on", "valid_until", "by", "at", "revoked_at", "revoked_by",
                  "revoke_reason"]
        read_only_fields = fields


class CampaignInputSerializer(serializers.Serializer):
    """A campaign of a type over an area: exactly one of ``lead_department`` and ``lead_centre``."""

    type = serializers.IntegerField(min_value=1)
    area = serializers.IntegerField(min_value=1)
    title = serializers.CharField(max_length=200)
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    lead_department = serializers.IntegerField(min_value=1, required=False)
    lead_centre = serializers.IntegerField(min_value=1, required=False)


class EntryInputSerializer(serializers.Serializer):
    """An area (below the campaign's area) or an organisation located in it, as the type says."""

    campaign = serializers.IntegerField(min_value=1)
    area = serializers.IntegerField(min_value=1, required=False)
    organisation = serializers.IntegerField(min_value=1, required=False)


class InspectionInputSerializer(serializers.Serializer):
    """``results``: ``[{"criterion": id, "passed": true|false, "note": ""}]`` for every criterion of the
    type's checklist; as multipart, a JSON text, with photos as ``files``."""

    results = serializers.JSONField()
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")

    def validate_results(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError("Not valid JSON.") from None
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise serializers.ValidationError("A list of {criterion, passed, note}.")
        return value


class RevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class CampaignTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Campaign types (创无 10+N, 平安细胞) with their checklists, as set in the admin."""

    serializer_class = CampaignTypeSerializer
    ordering = "id"

    def get_queryset(self):
        return access.campaign_types()


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Campaigns in your scope with today's figures (entries, certified, revoked, percent certified).
    POST creates one (centre staff and officials over the area)."""

    serializer_class = CampaignSerializer
    ordering = "-id"

    def get_queryset(self):
        return access.campaigns_for(self.request.user).select_related("area")

    def get_object(self):
        return access.access_campaign_by_id(self.request.user, self.kwargs["pk"])

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "request", None) is not None and not getattr(self, "swagger_fake_view", False):
            context["counts"] = campaign_figures.campaign_counts(
                self.get_queryset(), entries=access.entries_for(self.request.user))
        return context

    @extend_schema(request=CampaignInputSerializer, responses={201: CampaignSerializer, **ERRORS})
    def create(self, request):
        data = CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        user = request.user
        kind = access.access_campaign_type(d["type"])
        area = access.access_area(user, d["area"], field="area")
        lead_department = (access.access_department(user, d["lead_department"], field="lead_department")
                           if d.get("lead_department") else None)
        lead_centre = (access.access_centre(user, d["lead_centre"], field="lead_centre")
                       if d.get("lead_centre") else None)
        campaign = campaigns.create_campaign(actor=user, type=kind, area=area, title=d["title"], year=d["year"],
                                             starts_on=d["starts_on"], ends_on=d["ends_on"],
                                             lead_department=lead_department, lead_centre=lead_centre)
        return Response(CampaignSerializer(campaign, context={"counts": {}}).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: inline_serializer("CampaignCertifiedWhere", {
        "town": serializers.CharField(), "type": serializers.CharField(), "entries": serializers.IntegerField(),
        "certified": serializers.IntegerField(), "percent_certified": serializers.FloatField()}, many=True)},
        summary="What is certified where today: per town and campaign type")
    @action(detail=False, methods=["get"], url_path="certified-where", pagination_class=None)
    def certified_where(self, request):
        table = campaign_figures.certified_by_town(self.get_queryset(), entries=access.entries_for(request.user))
        return Response([{"town": r.town, "type": r.type_name, "entries": r.entries, "certified": r.certified,
                          "percent_certified": float(r.percent_certified)} for r in table])


class CampaignEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Entries in your scope, each with today's status. POST enters an area or an organisation (managers);
    POST /{id}/inspections/ records an inspection (managers and the lead unit); /{id}/certify/ and
    /{id}/revoke/ (with a reason) certify and revoke (managers); /{id}/withdraw/ takes it out."""

    serializer_class = CampaignEntrySerializer
    ordering = "-id"
    parser_classes = API_PARSERS
    upload_actions = {"inspections"}

    def get_queryset(self):
        entries = access.entries_for(self.request.user).select_related("area", "organisation")
        campaign = self.request.query_params.get("campaign")
        if campaign:
            entries = entries.filter(campaign=access.access_campaign_by_id(self.request.user, campaign,
                                                                           field="campaign"))
        return entries

    def get_object(self):
        return access.access_entry_by_id(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[OpenApiParameter("campaign", OpenApiTypes.INT, description="Only this campaign's")])
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = {row.entry.pk: row for row in campaign_figures.entry_rows(
            CampaignEntry.objects.filter(pk__in=[e.pk for e in page]))}
        serializer = self.get_serializer(page, many=True, context={**self.get_serializer_context(), "rows": rows})
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=EntryInputSerializer, responses={201: CampaignEntrySerializer, **ERRORS})
    def create(self, request):
        data = EntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        user = request.user
        campaign = access.access_campaign_by_id(user, d["campaign"], field="campaign")
        area = access.access_area(user, d["area"], field="area") if d.get("area") else None
        organisation = access.access_organisation(user, d["organisation"]) if d.get("organisation") else None
        entry = campaigns.add_entry(actor=user, campaign=campaign, area=area, organisation=organisation)
        return Response(CampaignEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses={200: InspectionSerializer(many=True), **ERRORS},
                   summary="The entry's inspections")
    @extend_schema(methods=["post"], request=InspectionInputSerializer,
                   responses={201: InspectionSerializer, **ERRORS}, summary="Record an inspection (checklist, photos)")
    @action(detail=True, methods=["get", "post"])
    def inspections(self, request, pk=None):
        entry = self.get_object()
        if request.method == "GET":
            found = entry.inspections.prefetch_related("results", "photos").order_by("-id")
            page = self.paginate_queryset(found)
            return self.get_paginated_response(InspectionSerializer(page, many=True).data)
        data = InspectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        inspection = campaigns.record_inspection(actor=request.user, entry=entry, results=d["results"],
                                                 note=d["note"], files=request.FILES.getlist("files"))
        return Response(InspectionSerializer(inspection).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: CertificationSerializer, **ERRORS},
                   summary="Certify the entry on its latest passed inspection")
    @action(detail=True, methods=["post"])
    def certify(self, request, pk=None):
        certification = campaigns.certify_entry(actor=request.user, entry=self.get_object())
        return Response(CertificationSerializer(certification).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RevokeInputSerializer, responses={200: CertificationSerializer, **ERRORS},
                   summary="Revoke the entry's current certification, with a reason")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        entry = self.get_object()
        data = RevokeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        access.check_manage_campaign(request.user, entry.campaign)
        current = campaigns.current_certification(entry)
        if current is None:
            raise Conflict(_("The entry holds no valid certification."), code="not_certified")
        certification = campaigns.revoke_certification(actor=request.user, certification=current,
                                                       reason=data.validated_data["reason"])
        return Response(CertificationSerializer(certification).data)

    @extend_schema(request=None, responses={200: CampaignEntrySerializer, **ERRORS},
                   summary="Withdraw the entry from the campaign")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        entry = campaigns.withdraw_entry(actor=request.user, entry=self.get_object())
        return Response(CampaignEntrySerializer(entry).data)

