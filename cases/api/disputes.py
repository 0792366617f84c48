"""Disputes over REST: scoped lists and details, one POST endpoint per row of the pipeline table's
"dispute" family, and the grids' monthly screening reports.

As for cases (cases.api.views): the case comes through the access module (missing and out of scope
answer the same 404), the row's check answers 403/409 before the body is read, every id in the body is
found through the access module, and only cases.actions.disputes changes anything. Parties' ID and
phone numbers are always the masked text (parties.pii).
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases import access, pipeline
from cases.actions import disputes as d
from cases.api.fields import ScopedIdField, ScopedUsernameField
from cases.api.views import ERRORS
from cases.dispute_selectors import visible_disputes
from cases.disputes import (
    DisputeDetails,
    DisputeParty,
    DisputeSource,
    DisputeStage,
    DisputeType,
    DisputeVisit,
    FollowUp,
    MediationSession,
    PartyRole,
    PerformanceMode,
    Referral,
    ReferralTarget,
    RiskLevel,
    ScreeningReport,
    SessionMethod,
    SessionResult,
    VisitKind,
)
from govgrid.errors import NotFound
from govgrid.openapi import BlankChoicesMixin
from govgrid.parsers import API_PARSERS
from grids.api.filters import StrictBooleanFilter

# --- what is read --------------------------------------------------------------------------------


class DisputePartySerializer(serializers.ModelSerializer):
    """A party with masked numbers: ``id_number`` and ``phone`` are the masked text, never the whole."""

    kind = serializers.SerializerMethodField()
    name = serializers.SerializerMethodField()
    id_number = serializers.CharField(source="resident.id_number_masked", default="", read_only=True)
    phone = serializers.SerializerMethodField()

    class Meta:
        model = DisputeParty
        fields = ["id", "role", "kind", "resident", "organisation", "name", "id_number", "phone"]

    def get_kind(self, party) -> str:
        return "resident" if party.resident_id else "organisation"

    def get_name(self, party) -> str:
        return party.party.name

    def get_phone(self, party) -> str:
        return party.resident.phone_masked if party.resident_id else party.organisation.contact_phone_masked


class MediationSessionSerializer(serializers.ModelSerializer):
    mediators = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)

    class Meta:
        model = MediationSession
        fields = ["id", "held_at", "place", "method", "mediators", "attendance", "result", "note"]


class AgreementSerializer(serializers.Serializer):
    terms = serializers.CharField()
    performance = serializers.ChoiceField(PerformanceMode.choices)
    perform_by = serializers.DateField()
    signed_on = serializers.DateField()
    court = serializers.CharField()
    confirmation_requested_on = serializers.DateField(allow_null=True)
    confirmation_granted_on = serializers.DateField(allow_null=True)


class DisputeFollowUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUp
        fields = ["id", "due_on", "done_at", "held", "note"]


class DisputeReferralSerializer(serializers.ModelSerializer):
    class Meta:
        model = Referral
        fields = ["id", "target", "from_centre", "to_centre", "reason", "referred_at", "result", "result_at"]


class DisputeVisitSerializer(serializers.ModelSerializer):
    visitor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    departments = serializers.SerializerMethodField()

    class Meta:
        model = DisputeVisit
        fields = ["id", "kind", "visited_at", "visitor", "note", "next_due_on", "departments"]

    def get_departments(self, visit) -> list[dict]:
        return [{"department": row.department_id, "part": row.part} for row in visit.departments.all()]


class DisputeSerializer(BlankChoicesMixin, serializers.ModelSerializer):
    number = serializers.CharField(source="case.number", read_only=True)
    status = serializers.CharField(source="case.status", read_only=True)
    category_code = serializers.CharField(source="case.category.code", read_only=True)
    grid_code = serializers.CharField(source="case.grid.code", read_only=True)
    centre_name = serializers.CharField(source="centre.name", read_only=True)
    leader = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DisputeDetails
        fields = ["case", "number", "status", "category_code", "grid_code", "centre", "centre_name",
                  "dispute_type", "source", "amount", "people_involved", "petitions", "violence_threatened",
                  "assessed_risk", "risk_level", "risk_reasons", "leader", "stage", "opened_at", "resolved_at",
                  "concluded_at"]


class DisputeDetailSerializer(DisputeSerializer):
    parties = DisputePartySerializer(source="case.dispute_parties", many=True, read_only=True)
    sessions = MediationSessionSerializer(source="case.mediation_sessions", many=True, read_only=True)
    agreement = serializers.SerializerMethodField()
    follow_ups = DisputeFollowUpSerializer(source="case.dispute_follow_ups", many=True, read_only=True)
    referrals = DisputeReferralSerializer(source="case.dispute_referrals", many=True, read_only=True)
    visits = DisputeVisitSerializer(source="case.dispute_visits", many=True, read_only=True)

    class Meta(DisputeSerializer.Meta):
        fields = [*DisputeSerializer.Meta.fields, "parties", "sessions", "agreement", "follow_ups", "referrals",
                  "visits"]

    @extend_schema_field(AgreementSerializer(allow_null=True))
    def get_agreement(self, details) -> dict | None:
        agreement = getattr(details.case, "agreement", None)
        return AgreementSerializer(agreement).data if agreement else None


# --- what the actions take -------------------------------------------------------------------------


def _resolution_centre(user, case, value):
    return access.access_resolution_centre(user, case, value)


class OpenDisputeSerializer(serializers.Serializer):
    centre = ScopedIdField(choices=lambda user, case: access.resolution_centres_for(case),
                           find=_resolution_centre, label=_("resolution centre"))
    source = serializers.ChoiceField(DisputeSource.choices, label=_("source"))
    dispute_type = serializers.ChoiceField(DisputeType.choices, required=False, default="", label=_("dispute type"))
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                                      allow_null=True, default=None, label=_("amount at stake (yuan)"))
    people_involved = serializers.IntegerField(min_value=1, max_value=1_000_000, default=2,
                                               label=_("people involved"))
    petitions = serializers.IntegerField(min_value=0, max_value=1000, default=0, label=_("petitions so far"))
    violence_threatened = serializers.BooleanField(default=False, label=_("violence threatened"))
    assessed_risk = serializers.ChoiceField(RiskLevel.choices, default=RiskLevel.LOW, label=_("assessed risk"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))


class RiskSerializer(serializers.Serializer):
    people_involved = serializers.IntegerField(min_value=1, max_value=1_000_000, label=_("people involved"))
    petitions = serializers.IntegerField(min_value=0, max_value=1000, default=0, label=_("petitions so far"))
    violence_threatened = serializers.BooleanField(default=False, label=_("violence threatened"))
    assessed_risk = serializers.ChoiceField(RiskLevel.choices, default=RiskLevel.LOW, label=_("assessed risk"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))


class PartyInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(PartyRole.choices, label=_("role"))
    resident = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                        label=_("resident"))
    organisation = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                            label=_("organisation"))


class SessionInputSerializer(serializers.Serializer):
    held_at = serializers.DateTimeField(label=_("held at"))
    place = serializers.CharField(max_length=200, label=_("place"))
    method = serializers.ChoiceField(SessionMethod.choices, label=_("method"))
    result = serializers.ChoiceField(SessionResult.choices, label=_("result"))
    mediators = serializers.ListField(child=serializers.CharField(max_length=150), required=False, default=list,
                                      max_length=20, label=_("mediators (usernames)"))
    attendance = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000,
                                       label=_("attendance"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))


class AgreementInputSerializer(serializers.Serializer):
    terms = serializers.CharField(max_length=8000, label=_("terms"))
    performance = serializers.ChoiceField(PerformanceMode.choices, label=_("how it is performed"))
    perform_by = serializers.DateField(label=_("performed by"))
    signed_on = serializers.DateField(required=False, allow_null=True, default=None, label=_("signed on"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))


class ConfirmationRequestSerializer(serializers.Serializer):
    court = serializers.CharField(max_length=100, label=_("court"))
    requested_on = serializers.DateField(required=False, allow_null=True, default=None, label=_("requested on"))


class ConfirmationGrantSerializer(serializers.Serializer):
    granted_on = serializers.DateField(label=_("granted on"))


class FollowUpInputSerializer(serializers.Serializer):
    held = serializers.BooleanField(label=_("agreement held"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, label=_("reason"))


class ReferInputSerializer(serializers.Serializer):
    target = serializers.ChoiceField(ReferralTarget.choices, label=_("referred to"))
    to_centre = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                         label=_("centre"))
    reason = serializers.CharField(max_length=4000, label=_("reason"))


class ResultInputSerializer(serializers.Serializer):
    result = serializers.CharField(max_length=4000, label=_("result"))


class VisitDepartmentSerializer(serializers.Serializer):
    department = serializers.IntegerField(min_value=1)
    part = serializers.CharField(max_length=200)


class VisitInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(VisitKind.choices, label=_("kind"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))
    departments = VisitDepartmentSerializer(many=True, required=False, default=list)
    next_due_on = serializers.DateField(required=False, allow_null=True, default=None,
                                        label=_("next follow-up visit due"))


class LeaderInputSerializer(serializers.Serializer):
    leader = ScopedUsernameField(choices=lambda user, case: access.leaders_for(case),
                                 find=lambda user, case, value: access.access_leader(user, case, value),
                                 label=_("leader in charge"))


class ScreeningReportSerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    found = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ScreeningReport
        fields = ["id", "grid", "grid_code", "month", "is_zero", "found", "note", "reported_at"]


class ScreeningInputSerializer(serializers.Serializer):
    grid = serializers.CharField(max_length=32, label=_("grid code"))
    month = serializers.DateField(label=_("month (any day of it)"))
    found = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list,
                                  max_length=100, label=_("disputes found (case ids)"))
    zero = serializers.BooleanField(default=False, label=_("zero report"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))


# --- the endpoints -------------------------------------------------------------------------------

# Each row of the dispute family: its input and how the action is called with it.
RUNS = {
    "open_dispute": (OpenDisputeSerializer, lambda u, c, v: d.open_dispute(c, actor=u, **v)),
    "assess_risk": (RiskSerializer, lambda u, c, v: d.assess_dispute_risk(c, actor=u, **v)),
    "add_party": (PartyInputSerializer, lambda u, c, v: d.add_party(c, actor=u, **v)),
    "hold_session": (SessionInputSerializer, lambda u, c, v: d.hold_session(c, actor=u, **v)),
    "record_agreement": (AgreementInputSerializer, lambda u, c, v: d.record_agreement(c, actor=u, **v)),
    "request_confirmation": (ConfirmationRequestSerializer,
                             lambda u, c, v: d.request_confirmation(c, actor=u, **v)),
    "grant_confirmation": (ConfirmationGrantSerializer, lambda u, c, v: d.grant_confirmation(c, actor=u, **v)),
    "record_follow_up": (FollowUpInputSerializer, lambda u, c, v: d.record_follow_up(c, actor=u, **v)),
    "mark_success": (NoteInputSerializer, lambda u, c, v: d.mark_success(c, actor=u, **v)),
    "mark_failure": (ReasonInputSerializer, lambda u, c, v: d.mark_failure(c, actor=u, **v)),
    "refer_dispute": (ReferInputSerializer, lambda u, c, v: d.refer_dispute(c, actor=u, **v)),
    "referral_result": (ResultInputSerializer, lambda u, c, v: d.record_referral_result(c, actor=u, **v)),
    "record_visit": (VisitInputSerializer, lambda u, c, v: d.record_visit(
        c, actor=u, kind=v["kind"], note=v["note"], next_due_on=v["next_due_on"],
        departments=[(row["department"], row["part"]) for row in v["departments"]])),
    "assign_leader": (LeaderInputSerializer, lambda u, c, v: d.assign_leader(c, actor=u, **v)),
}


def detail_queryset(queryset):
    return queryset.select_related("case__category", "case__grid", "centre", "leader").prefetch_related(
        Prefetch("case__dispute_parties", queryset=DisputeParty.objects.select_related("resident", "organisation")),
        "case__mediation_sessions__mediators", "case__dispute_follow_ups", "case__dispute_referrals",
        Prefetch("case__dispute_visits", queryset=DisputeVisit.objects.select_related("visitor")
                 .prefetch_related("departments")),
    )


class DisputeFilterSet(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=DisputeStage.choices, distinct=False)
    risk_level = django_filters.MultipleChoiceFilter(choices=RiskLevel.choices, distinct=False)
    dispute_type = django_filters.MultipleChoiceFilter(choices=DisputeType.choices, distinct=False)
    source = django_filters.MultipleChoiceFilter(choices=DisputeSource.choices, distinct=False)
    centre = django_filters.NumberFilter(field_name="centre_id", label=_("resolution centre id"))
    mine = StrictBooleanFilter(method="filter_mine", label=_("I am the leader in charge (专诊)"))

    class Meta:
        model = DisputeDetails
        fields = []

    def filter_mine(self, queryset, name, value):
        user = self.request.user
        return queryset.filter(leader=user) if value else queryset.exclude(leader=user)


class DisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Disputes (矛盾纠纷) in your scope, or mediated at your centre, or led by you, by case id.
    POST to /{case id}/<action>/ takes a row of the pipeline table's dispute family."""

    ordering = "-opened_at"
    parser_classes = API_PARSERS
    filterset_class = DisputeFilterSet

    def get_queryset(self):
        queryset = DisputeDetails.objects.filter(case__in=visible_disputes(self.request.user).values("pk"))
        return detail_queryset(queryset) if self.action == "retrieve" else queryset.select_related(
            "case__category", "case__grid", "centre", "leader")

    def get_serializer_class(self):
        return DisputeDetailSerializer if self.action == "retrieve" else DisputeSerializer

    def get_object(self):
        case = access.access_dispute_case_by_id(self.request.user, self.kwargs["pk"])
        details = detail_queryset(DisputeDetails.objects.filter(pk=case.pk)).first()
        if details is None:
            raise NotFound(str(_("No such case.")))
        return details

    def _act(self, name: str) -> Response:
        user = self.request.user
        case = access.access_dispute_case_by_id(user, self.kwargs["pk"])
        pipeline.check(name, user, case)
        serializer_class, run = RUNS[name]
        serializer = serializer_class(data=self.request.data, context={**self.get_serializer_context(), "case": case})
        serializer.is_valid(raise_exception=True)
        run(user, case, serializer.validated_data)
        details = detail_queryset(DisputeDetails.objects.filter(pk=case.pk)).first()
        return Response(DisputeDetailSerializer(details, context=self.get_serializer_context()).data,
                        status=status.HTTP_200_OK)


def _endpoint(name: str):
    rule = pipeline.RULES_BY_NAME[name]
    serializer_class = RUNS[name][0]

    def endpoint(self, request, pk=None):
        return self._act(name)

    endpoint.__name__ = name
    endpoint = action(detail=True, methods=["post"], url_path=name.replace("_", "-"), url_name=name)(endpoint)
    return extend_schema(request=serializer_class, responses={200: DisputeDetailSerializer, **ERRORS},
                         summary=str(rule.label), description=rule.describe())(endpoint)


for _rule in pipeline.DISPUTE_RULES:
    setattr(DisputeViewSet, _rule.name, _endpoint(_rule.name))


class ScreeningReportViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Grids' monthly dispute screening reports (排查报告) in your scope. POST: report a grid's month —
    the disputes found (case ids of dispute cases of the grid) or a zero report."""

    serializer_class = ScreeningReportSerializer
    ordering = "-id"

    def get_queryset(self):
        from grids.scope import scope_for

        return (ScreeningReport.objects.filter(scope_for(self.request.user).area_q("grid__"))
                .select_related("grid").prefetch_related("found"))

    @extend_schema(request=ScreeningInputSerializer, responses={201: ScreeningReportSerializer, **ERRORS})
    def create(self, request, *args, **kwargs):
        from grids.scope import visible_grids

        serializer = ScreeningInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        grid = visible_grids(request.user, act=True).filter(code=data["grid"]).first()
        if grid is None:
            raise NotFound(str(_("No such grid.")), field="grid")
        report = d.report_screening(actor=request.user, grid=grid, month=data["month"], found=data["found"],
                                    zero=data["zero"], note=data["note"])
        return Response(ScreeningReportSerializer(report).data, status=status.HTTP_201_CREATED)
