"""Cases over REST: scoped lists and details, and one POST endpoint per pipeline action.

Every endpoint reads through cases.selectors.visible_cases (outside scope → 404) and changes state
only by calling cases.actions; refusals from an action come back as 4xx JSON saying why.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from cases import actions
from cases.api import serializers as s
from cases.api.filters import CaseFilterSet
from cases.choices import ACTIVE_DISPATCH_STATUSES
from cases.models import Case, Category, Dispatch, ExtensionRequest, Notification
from cases.selectors import visible_cases
from grids.scope import scope_for

PARSERS = [JSONParser, MultiPartParser, FormParser]


def _files(request, name: str) -> list:
    return request.FILES.getlist(name) if hasattr(request, "FILES") else []


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Case categories: families and leaves with their time limits (reference data)."""

    serializer_class = s.CategorySerializer
    queryset = Category.objects.filter(is_active=True).select_related("parent")
    lookup_field = "code"
    ordering = "id"
    filterset_fields = ["parent", "urgency", "citizen_allowed"]


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Cases in your scope. POST here reports a new one; POST to /{id}/<action>/ moves it on."""

    filterset_class = CaseFilterSet
    ordering = "-id"
    parser_classes = PARSERS

    def get_queryset(self):
        queryset = visible_cases(self.request.user).select_related("category", "grid", "centre")
        return self._with_detail(queryset) if self.action == "retrieve" else queryset

    @staticmethod
    def _with_detail(queryset):
        """What CaseDetailSerializer reads, in three queries whatever the number of dispatches."""
        return queryset.prefetch_related(
            Prefetch("dispatches", queryset=Dispatch.objects.select_related("department")),
            "attachments", "duplicate_candidates",
        )

    def get_serializer_class(self):
        if self.action == "create":
            return s.ReportSerializer
        return s.CaseDetailSerializer if self.action == "retrieve" else s.CaseSerializer

    def _case(self) -> Case:
        return get_object_or_404(visible_cases(self.request.user), pk=self.kwargs["pk"])

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        # Re-read through the scope: after an escalation the actor may no longer see the case.
        fresh = self._with_detail(self.get_queryset()).filter(pk=case.pk).first() or Case.objects.get(pk=case.pk)
        return Response(s.CaseDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _my_dispatch(self, case: Case, chosen: Dispatch | None) -> Dispatch:
        """The dispatch a handler acts on: the one named, else their department's live one."""
        if chosen is not None:
            if chosen.case_id != case.pk:
                raise ValidationError({"dispatch": [_("That dispatch belongs to another case.")]})
            return chosen
        scope = scope_for(self.request.user)
        live = case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES)
        if not scope.is_admin:
            live = live.filter(department_id__in=scope.department_ids)
        mine = list(live[:2])
        if len(mine) != 1:
            raise ValidationError({"dispatch": [_("Say which dispatch (your department has none or several).")]})
        return mine[0]

    @extend_schema(request=s.ReportSerializer, responses={201: s.CaseReceiptSerializer, 200: s.CaseReceiptSerializer})
    def create(self, request, *args, **kwargs):
        data = self._input(s.ReportSerializer)
        case, created = actions.report_case(
            reporter=request.user, category=data["category"], lon=data["lon"], lat=data["lat"],
            description=data["description"], address=data.get("address", ""), client_uuid=data.get("client_uuid"),
            channel=data.get("channel"), urgency=data.get("urgency"), photos=_files(request, "photos"),
            self_resolve=data["self_resolve"], report_only=data["report_only"],
            resolution_note=data.get("resolution_note", ""), after_photos=_files(request, "after_photos"),
        )
        # The case as the action returned it (no re-read): intake is the hot path. A repeat of the same
        # client_uuid answers 200 with the case of the first call.
        return Response(s.CaseReceiptSerializer(case).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _post(self, serializer_class, run):
        case = self._case()
        data = self._input(serializer_class) if serializer_class else {}
        return self._answer(run(case, data))

    @extend_schema(request=s.NoteSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._post(s.NoteSerializer, lambda c, d: actions.accept_case(c, actor=request.user, note=d["note"]))

    @extend_schema(request=s.ReasonSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._post(s.ReasonSerializer, lambda c, d: actions.reject_case(
            c, actor=request.user, reason=d["reason"]))

    @extend_schema(request=s.MergeSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        return self._post(s.MergeSerializer, lambda c, d: actions.merge_case(
            c, actor=request.user, master=d["master"], note=d["note"]))

    @extend_schema(request=s.DispatchInputSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def dispatch_to_departments(self, request, pk=None):  # not `dispatch`: that name is the view's own
        return self._post(s.DispatchInputSerializer, lambda c, d: actions.dispatch_case(
            c, actor=request.user, lead=d["lead"], assists=d.get("assists", []), note=d["note"],
            time_limit=d.get("time_limit"), time_unit=d.get("time_unit")))

    @extend_schema(request=s.DispatchRefSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        return self._post(s.DispatchRefSerializer, lambda c, d: actions.sign_dispatch(
            self._my_dispatch(c, d.get("dispatch")), actor=request.user, note=d["note"]))

    @extend_schema(request=s.ReturnSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        return self._post(s.ReturnSerializer, lambda c, d: actions.return_dispatch(
            self._my_dispatch(c, d.get("dispatch")), actor=request.user, reason=d["reason"]))

    @extend_schema(request=s.FeedbackSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        return self._post(s.FeedbackSerializer, lambda c, d: actions.feedback_dispatch(
            self._my_dispatch(c, d.get("dispatch")), actor=request.user, note=d["note"],
            photos=_files(request, "photos")))

    @extend_schema(request=s.ExtensionRequestInputSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="request-extension")
    def request_extension(self, request, pk=None):
        def run(case, d):
            actions.request_extension(self._my_dispatch(case, d.get("dispatch")), actor=request.user,
                                      amount=d["amount"], unit=d["unit"], reason=d["reason"])
            return case
        return self._post(s.ExtensionRequestInputSerializer, run)

    @extend_schema(request=s.ExtensionDecisionSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="decide-extension")
    def decide_extension(self, request, pk=None):
        def run(case, d):
            if d["extension"].dispatch.case_id != case.pk:
                raise ValidationError({"extension": [_("That extension request belongs to another case.")]})
            actions.decide_extension(d["extension"], actor=request.user, approve=d["approve"], note=d["note"])
            return case
        return self._post(s.ExtensionDecisionSerializer, run)

    @extend_schema(request=s.ReasonSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._post(s.ReasonSerializer, lambda c, d: actions.suspend_case(
            c, actor=request.user, reason=d["reason"]))

    @extend_schema(request=s.NoteSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._post(s.NoteSerializer, lambda c, d: actions.resume_case(c, actor=request.user, note=d["note"]))

    @extend_schema(request=s.VerifierSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="assign-verification")
    def assign_verification(self, request, pk=None):
        return self._post(s.VerifierSerializer, lambda c, d: actions.assign_verification(
            c, actor=request.user, verifier=d["verifier"]))

    @extend_schema(request=s.VerifySerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        return self._post(s.VerifySerializer, lambda c, d: actions.verify_case(
            c, actor=request.user, passed=d["passed"], note=d["note"], photos=_files(request, "photos")))

    @extend_schema(request=s.NoteSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._post(s.NoteSerializer, lambda c, d: actions.close_case(c, actor=request.user, note=d["note"]))

    @extend_schema(request=s.FollowUpSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request, pk=None):
        return self._post(s.FollowUpSerializer, lambda c, d: actions.follow_up(
            c, actor=request.user, satisfaction=d["satisfaction"], note=d["note"]))

    @extend_schema(request=s.NoteSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        return self._post(s.NoteSerializer, lambda c, d: actions.escalate_case(c, actor=request.user, note=d["note"]))

    @extend_schema(request=s.HandDownSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="hand-down")
    def hand_down(self, request, pk=None):
        return self._post(s.HandDownSerializer, lambda c, d: actions.hand_down_case(
            c, actor=request.user, centre=d["centre"], note=d["note"]))

    @extend_schema(request=s.SuperviseSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def supervise(self, request, pk=None):
        return self._post(s.SuperviseSerializer, lambda c, d: actions.supervise_case(
            c, actor=request.user, level=d["level"], note=d["note"]))

    @extend_schema(request=s.PhotosSerializer, responses=s.AttachmentSerializer(many=True))
    @action(detail=True, methods=["post"])
    def photos(self, request, pk=None):
        case = self._case()
        data = self._input(s.PhotosSerializer)
        saved = actions.add_photos(case, actor=request.user, kind=data["kind"], photos=_files(request, "photos"))
        return Response(s.AttachmentSerializer(saved, many=True, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.EventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        case = self._case()
        events = case.events.select_related("actor").order_by("at", "id")
        return Response(s.EventSerializer(events, many=True).data)

    @extend_schema(responses=s.ExtensionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def extensions(self, request, pk=None):
        case = self._case()
        rows = ExtensionRequest.objects.filter(dispatch__case=case).order_by("-requested_at")
        return Response(s.ExtensionSerializer(rows, many=True).data)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your notifications, newest first. POST read/ marks them read (all, or the given ids)."""

    serializer_class = s.NotificationSerializer
    ordering = "-id"
    filterset_fields = {"read_at": ["isnull"], "case": ["exact"]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        return Notification.objects.filter(recipient=self.request.user)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=False, methods=["post"])
    def read(self, request):
        ids = request.data.get("ids") if hasattr(request, "data") else None
        if ids is not None and not isinstance(ids, list):
            raise ValidationError({"ids": [_("Give a list of notification ids.")]})
        count = actions.mark_notifications_read(request.user, ids)
        return Response({"marked": count})

    @extend_schema(responses={200: dict})
    @action(detail=False, methods=["get"])
    def unread(self, request):
        return Response({"unread": self.get_queryset().filter(read_at__isnull=True).count()})
