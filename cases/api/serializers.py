from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

from cases import access, pipeline
from cases.api.fields import LeafCategoryField, ScopedIdField, ScopedUsernameField
from cases.choices import Satisfaction, Supervision
from cases.models import Attachment, Case, CaseEvent, Category, Dispatch, ExtensionRequest, Notification
from govgrid.fastlist import PlannedListSerializer
from govgrid.openapi import BlankChoicesMixin
from govgrid.workcalendar import TimeUnit


class CategorySerializer(BlankChoicesMixin, serializers.ModelSerializer):
    family = serializers.CharField(source="parent.code", read_only=True, default=None, allow_null=True)
    family_name = serializers.CharField(source="parent.name", read_only=True, default=None, allow_null=True)
    family_name_en = serializers.CharField(source="parent.name_en", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Category
        fields = ["id", "code", "name", "name_en", "family", "family_name", "family_name_en",
                  "time_limit", "time_unit", "urgency",
                  "acceptance_criteria", "closure_criteria", "duplicate_radius_m", "citizen_allowed"]


class DispatchSerializer(BlankChoicesMixin, serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True)
    department_name_en = serializers.CharField(source="department.name_en", read_only=True)

    class Meta:
        model = Dispatch
        fields = ["id", "department", "department_name", "department_name_en",
                  "role", "status", "dispatched_at", "sign_due_at", "due_at",
                  "signed_at", "handled_at", "returned_at", "return_reason", "feedback"]


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.FileField(source="file", read_only=True)

    class Meta:
        model = Attachment
        fields = ["id", "kind", "url", "content_type", "size", "uploaded_at", "event"]


class CaseSerializer(BlankChoicesMixin, serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    category_code = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    category_name_en = serializers.CharField(source="category.name_en", read_only=True)
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    centre_name = serializers.CharField(source="centre.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    location = GeometryField(read_only=True)

    class Meta:
        model = Case
        fields = [
            "id", "number", "status", "status_display", "channel", "category", "category_code", "category_name",
            "category_name_en",
            "description", "address", "location", "grid", "grid_code", "grid_name", "centre", "centre_name",
            "urgency", "supervision", "rework_count", "closure_kind", "satisfaction", "is_emergency", "activation",
            "stage", "light", "due_at", "warn_at", "accept_due_at", "sign_due_at", "handle_due_at", "verify_due_at",
            "suspended_at", "reported_at", "accepted_at", "dispatched_at", "handled_at", "verified_at", "closed_at",
            "closed_on_time", "reporter", "verifier", "master", "suggested_department", "triaged_at",
        ]
        read_only_fields = fields
        list_serializer_class = PlannedListSerializer  # the same JSON as DRF's, built faster (govgrid.fastlist)


class CaseReceiptSerializer(serializers.Serializer):
    """What a report answers: enough for the phone to show the case and find it again, and cheap to
    build (intake is the hot path; the full case is one GET away)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField()
    category_code = serializers.CharField(source="category.code")
    grid_code = serializers.CharField(source="grid.code")
    grid_name = serializers.CharField(source="grid.name")
    centre = serializers.IntegerField(source="centre_id")
    centre_name = serializers.CharField(source="centre.name")
    stage = serializers.CharField()
    light = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    reported_at = serializers.DateTimeField()
    client_uuid = serializers.UUIDField(allow_null=True)


class CaseDetailSerializer(CaseSerializer):
    dispatches = DispatchSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    duplicate_candidates = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "dispatches", "attachments", "duplicate_candidates"]
        read_only_fields = fields


    def get_duplicate_candidates(self, case) -> list[int]:
        """Possible duplicates for whoever may merge (the owning centre's staff), among cases they can see
        (the view prefetches them through the scope)."""
        request = self.context.get("request")
        user = request.user if request else None
        if user is None or not pipeline.actor_kinds(pipeline.RULES_BY_NAME["merge"], user, case):
            return []
        return [c.pk for c in case.duplicate_candidates.all()]


class ReportSerializer(serializers.Serializer):
    """A new report. Photos come as multipart `photos` (and `after_photos` when resolved on the spot)."""

    category = LeafCategoryField(label=_("category"))
    lon = serializers.FloatField(min_value=-180, max_value=180, label=_("longitude"))
    lat = serializers.FloatField(min_value=-90, max_value=90, label=_("latitude"))
    description = serializers.CharField(max_length=4000, label=_("description"))
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, label=_("address"))
    client_uuid = serializers.UUIDField(required=False, allow_null=True, label=_("client request id"))
    channel = serializers.CharField(required=False, label=_("channel"))
    urgency = serializers.CharField(required=False, label=_("urgency"))
    self_resolve = serializers.BooleanField(required=False, default=False, label=_("resolved on the spot"))
    report_only = serializers.BooleanField(required=False, default=False, label=_("report only"))
    resolution_note = serializers.CharField(required=False, allow_blank=True, max_length=4000,
                                            label=_("how it was resolved"))
    photos = serializers.ListField(child=serializers.FileField(), required=False, default=list, label=_("photos"))
    after_photos = serializers.ListField(child=serializers.FileField(), required=False, default=list,
                                         label=_("photos after resolving"))
    patrol = ScopedIdField(choices=lambda user, case: access.patrols_for(user), required=False, allow_null=True,
                           find=lambda user, case, value: access.access_own_patrol(user, value, field="patrol"),
                           label=_("patrol (a finding of your own patrol; the channel is then patrol)"))


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000, label=_("note"))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, label=_("reason"))


class MergeSerializer(NoteSerializer):
    master = ScopedIdField(choices=access.master_cases_for,
                                find=lambda user, case, value: access.access_master_case(user, case, value),
                                label=_("master case"))


class DispatchInputSerializer(NoteSerializer):
    lead = ScopedIdField(choices=access.dispatch_targets_for,
                              find=lambda user, case, value: access.access_department(user, case, value, field="lead"),
                              label=_("lead department"))
    assists = serializers.ListField(
        child=ScopedIdField(
            choices=access.dispatch_targets_for,
            find=lambda user, case, value: access.access_department(user, case, value, field="assists")),
        required=False, default=list, max_length=20, label=_("assisting departments"),
    )
    time_limit = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                          label=_("time limit"))
    time_unit = serializers.ChoiceField(choices=TimeUnit.choices, required=False, label=_("time unit"))


def _own_dispatches(user, case):
    from cases.models import Dispatch

    return Dispatch.objects.filter(pk__in=[d.pk for d in pipeline.own_dispatches(user, case)])


class DispatchRefSerializer(NoteSerializer):
    dispatch = ScopedIdField(
        choices=_own_dispatches, find=access.access_dispatch, required=False, label=_("dispatch"),
        help_text=_("Which of the case's dispatches; defaults to the one of your department."),
    )


class ReturnSerializer(DispatchRefSerializer):
    reason = serializers.CharField(max_length=4000, label=_("reason"))


class FeedbackSerializer(DispatchRefSerializer):
    note = serializers.CharField(max_length=4000, label=_("note"), help_text=_("How the case was handled."))
    photos = serializers.ListField(child=serializers.FileField(), required=False, default=list, label=_("photos"))


class ExtensionRequestInputSerializer(DispatchRefSerializer):
    amount = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0.01"), label=_("extra time"))
    unit = serializers.ChoiceField(choices=TimeUnit.choices, label=_("unit"))
    reason = serializers.CharField(max_length=4000, label=_("reason"))


def _pending_extensions(user, case):
    return ExtensionRequest.objects.filter(dispatch__case=case, status="pending")


class ExtensionDecisionSerializer(NoteSerializer):
    extension = ScopedIdField(choices=_pending_extensions, find=access.access_extension, label=_("extension"))
    approve = serializers.BooleanField(label=_("approve"))


class VerifierSerializer(serializers.Serializer):
    verifier = ScopedUsernameField(
        choices=lambda user, case: access.verifiers_for(case), find=access.access_verifier,
        label=_("verifier"), help_text=_("The username of a grid worker of the case's grid."),
    )


class VerifySerializer(NoteSerializer):
    passed = serializers.BooleanField(label=_("passed"))
    photos = serializers.ListField(child=serializers.FileField(), required=False, default=list, label=_("photos"))
    client_uuid = serializers.UUIDField(required=False, allow_null=True, default=None,
                                        label=_("client request id"),
                                        help_text=_("A resend with the same id answers with the first result."))


class FollowUpSerializer(NoteSerializer):
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices, label=_("satisfaction"))


class HandDownSerializer(NoteSerializer):
    centre = ScopedIdField(choices=lambda user, case: access.hand_down_targets_for(case),
                                find=access.access_hand_down_centre, label=_("centre"))


class SuperviseSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=[c for c in Supervision.choices if c[0]], label=_("supervision level")
    )
    note = serializers.CharField(max_length=4000, label=_("note"))


class PhotosSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(pipeline.ATTACH_RULES), label=_("kind"))
    photos = serializers.ListField(child=serializers.FileField(), allow_empty=False, min_length=1, label=_("photos"))


class EventSerializer(BlankChoicesMixin, serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()
    action_display = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "at", "action", "action_display", "actor", "actor_name", "from_status", "to_status", "note",
                  "payload"]

    def get_actor_name(self, event) -> str:
        if event.actor is None:
            return str(_("system"))
        return event.actor.get_full_name() or event.actor.username


class ExtensionSerializer(BlankChoicesMixin, serializers.ModelSerializer):
    class Meta:
        model = ExtensionRequest
        fields = ["id", "dispatch", "requested_by", "requested_at", "reason", "amount", "unit", "status",
                  "decided_by", "decided_at", "decision_note", "previous_due_at", "new_due_at"]


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "case", "event", "message", "url", "created_at", "read_at"]


class ErrorSerializer(serializers.Serializer):
    """Every 4xx of the API: a sentence for a person, a code, and the messages per field."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
