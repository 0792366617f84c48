"""Cases over REST: scoped lists and details, and one POST endpoint per pipeline action.

Every endpoint finds its case, and every id in its body, through the access module (cases.access:
missing and out of scope answer the same 404), checks the action's row of the pipeline table
(cases.pipeline: 403 role, 409 state) before it reads the body, and changes state only by calling
cases.actions; refusals come back as 4xx JSON saying why.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cases import access, actions, pipeline
from cases.api import serializers as s
from cases.api.filters import CaseFilterSet, CategoryFilterSet, NotificationFilterSet
from cases.models import Case, Category, Dispatch, ExtensionRequest, Notification
from cases.selectors import visible_cases
from govgrid.parsers import API_PARSERS
from govgrid.replica import replica_reads

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="The input is not valid: which field and why."),
    403: OpenApiResponse(s.ErrorSerializer, description="Your role may not take this action on this case."),
    404: OpenApiResponse(s.ErrorSerializer, description="No such case (or not in your scope: the same answer), "
                                                        "or no such object named in the body."),
    409: OpenApiResponse(s.ErrorSerializer, description="The case is not in a state that allows the action."),
}


def action_endpoint(name: str, serializer_class, **kwargs):
    """A POST endpoint for one row of the pipeline table, documented from the row."""
    rule = pipeline.RULES_BY_NAME[name]

    def decorate(func):
        func = action(detail=True, methods=["post"], **kwargs)(func)
        return extend_schema(request=serializer_class, responses={200: s.CaseDetailSerializer, **ERRORS},
                             summary=str(rule.label), description=rule.describe())(func)

    return decorate


def _files(request, name: str) -> list:
    return request.FILES.getlist(name) if hasattr(request, "FILES") else []


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Case categories: families and leaves with their time limits (reference data)."""

    serializer_class = s.CategorySerializer
    queryset = Category.objects.filter(is_active=True).select_related("parent")
    lookup_field = "code"
    ordering = "id"
    filterset_class = CategoryFilterSet


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Cases in your scope. POST here reports a new one; POST to /{id}/<action>/ moves it on."""

    filterset_class = CaseFilterSet
    ordering = "-id"
    parser_classes = API_PARSERS
    upload_actions = {"create", "feedback", "verify", "photos"}  # the rest get the JSON body limit

    # The list may come from the read replica (govgrid.replica); one case, and every action, from the primary.
    @replica_reads
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        queryset = visible_cases(self.request.user).select_related("category", "grid", "centre")
        return self._with_detail(queryset) if self.action == "retrieve" else queryset

    def _with_detail(self, queryset):
        """What CaseDetailSerializer reads, in a few queries whatever the number of dispatches. Duplicate
        suggestions come only from cases the user can see (and only centre staff get them)."""
        return queryset.select_related("centre__area").prefetch_related(
            Prefetch("dispatches", queryset=Dispatch.objects.select_related("department")),
            "attachments", Prefetch("duplicate_candidates", queryset=visible_cases(self.request.user).only("pk")),
        )

    def get_serializer_class(self):
        if self.action == "create":
            return s.ReportSerializer
        return s.CaseDetailSerializer if self.action == "retrieve" else s.CaseSerializer

    def _answer(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        # Re-read through the scope: after an escalation the actor may no longer see the case.
        fresh = self._with_detail(self.get_queryset()).filter(pk=case.pk).first() or Case.objects.get(pk=case.pk)
        return Response(s.CaseDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _act(self, name: str, serializer_class, run, *, precheck: bool = True) -> Response:
        """One pipeline action: the case through the access module (404 alike for missing and out of
        scope), the table's check (403 role, 409 state) before the body is read, then the body's ids
        through the access module, then the action, which checks it all again under the row lock.
        ``precheck=False`` leaves the table's check to the action alone: a resend with a client_uuid,
        which the action answers with the first result although the state has moved on."""
        user = self.request.user
        case = access.access_case_by_id(user, self.kwargs["pk"])
        rule = pipeline.RULES_BY_NAME[name]
        if precheck:
            pipeline.check(rule, user, case, pipeline.dispatch_for(rule, user, case))
        context = {**self.get_serializer_context(), "case": case}
        serializer = serializer_class(data=self.request.data, context=context)
        serializer.is_valid(raise_exception=True)
        result = run(case, serializer.validated_data)
        if isinstance(result, Response):
            return result
        return self._answer(case)

    @extend_schema(request=s.ReportSerializer, responses={201: s.CaseReceiptSerializer, 200: s.CaseReceiptSerializer})
    def create(self, request, *args, **kwargs):
        serializer = s.ReportSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = {
            "category": data["category"], "lon": data["lon"], "lat": data["lat"], "description": data["description"],
            "address": data.get("address", ""), "client_uuid": data.get("client_uuid"), "channel": data.get("channel"),
            "urgency": data.get("urgency"), "photos": _files(request, "photos"), "self_resolve": data["self_resolve"],
            "report_only": data["report_only"], "resolution_note": data.get("resolution_note", ""),
            "after_photos": _files(request, "after_photos"),
        }
        if data.get("patrol") is None:
            case, created = actions.report_case(reporter=request.user, **report)
        else:  # a finding of the reporter's patrol (巡查发现): channel patrol, linked to it
            case, created = actions.report_finding(data["patrol"], actor=request.user, **report)
        # The case as the action returned it (no re-read): intake is the hot path. A repeat of the same
        # client_uuid answers 200 with the case of the first call.
        return Response(s.CaseReceiptSerializer(case).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @action_endpoint("accept", s.NoteSerializer)
    def accept(self, request, pk=None):
        return self._act("accept", s.NoteSerializer, lambda c, d: actions.accept_case(
            c, actor=request.user, note=d["note"]))

    @action_endpoint("reject", s.ReasonSerializer)
    def reject(self, request, pk=None):
        return self._act("reject", s.ReasonSerializer, lambda c, d: actions.reject_case(
            c, actor=request.user, reason=d["reason"]))

    @action_endpoint("merge", s.MergeSerializer)
    def merge(self, request, pk=None):
        return self._act("merge", s.MergeSerializer, lambda c, d: actions.merge_case(
            c, actor=request.user, master=d["master"], note=d["note"]))

    @action_endpoint("dispatch", s.DispatchInputSerializer, url_path="dispatch", url_name="dispatch")
    def dispatch_to_departments(self, request, pk=None):  # not `dispatch`: that name is the view's own
        return self._act("dispatch", s.DispatchInputSerializer, lambda c, d: actions.dispatch_case(
            c, actor=request.user, lead=d["lead"], assists=d.get("assists", []), note=d["note"],
            time_limit=d.get("time_limit"), time_unit=d.get("time_unit")))

    def _dispatch_of(self, case: Case, data) -> Dispatch:
        return data.get("dispatch") or access.access_dispatch(self.request.user, case)

    @action_endpoint("sign", s.DispatchRefSerializer)
    def sign(self, request, pk=None):
        return self._act("sign", s.DispatchRefSerializer, lambda c, d: actions.sign_dispatch(
            self._dispatch_of(c, d), actor=request.user, note=d["note"]))

    @action_endpoint("return", s.ReturnSerializer, url_path="return")
    def return_(self, request, pk=None):
        return self._act("return", s.ReturnSerializer, lambda c, d: actions.return_dispatch(
            self._dispatch_of(c, d), actor=request.user, reason=d["reason"]))

    @action_endpoint("feedback", s.FeedbackSerializer)
    def feedback(self, request, pk=None):
        return self._act("feedback", s.FeedbackSerializer, lambda c, d: actions.feedback_dispatch(
            self._dispatch_of(c, d), actor=request.user, note=d["note"], photos=_files(request, "photos")))

    @action_endpoint("request_extension", s.ExtensionRequestInputSerializer, url_path="request-extension")
    def request_extension(self, request, pk=None):
        def run(case, d):
            actions.request_extension(self._dispatch_of(case, d), actor=request.user,
                                      amount=d["amount"], unit=d["unit"], reason=d["reason"])
            return case
        return self._act("request_extension", s.ExtensionRequestInputSerializer, run)

    @action_endpoint("decide_extension", s.ExtensionDecisionSerializer, url_path="decide-extension")
    def decide_extension(self, request, pk=None):
        def run(case, d):
            actions.decide_extension(d["extension"], actor=request.user, approve=d["approve"], note=d["note"])
            return case
        return self._act("decide_extension", s.ExtensionDecisionSerializer, run)

    @action_endpoint("suspend", s.ReasonSerializer)
    def suspend(self, request, pk=None):
        return self._act("suspend", s.ReasonSerializer, lambda c, d: actions.suspend_case(
            c, actor=request.user, reason=d["reason"]))

    @action_endpoint("resume", s.NoteSerializer)
    def resume(self, request, pk=None):
        return self._act("resume", s.NoteSerializer, lambda c, d: actions.resume_case(
            c, actor=request.user, note=d["note"]))

    @action_endpoint("assign_verification", s.VerifierSerializer, url_path="assign-verification")
    def assign_verification(self, request, pk=None):
        return self._act("assign_verification", s.VerifierSerializer, lambda c, d: actions.assign_verification(
            c, actor=request.user, verifier=d["verifier"]))

    @action_endpoint("verify", s.VerifySerializer)
    def verify(self, request, pk=None):
        return self._act("verify", s.VerifySerializer, lambda c, d: actions.verify_case(
            c, actor=request.user, passed=d["passed"], note=d["note"], photos=_files(request, "photos"),
            client_uuid=d["client_uuid"]), precheck=not request.data.get("client_uuid"))

    @action_endpoint("close", s.NoteSerializer)
    def close(self, request, pk=None):
        return self._act("close", s.NoteSerializer, lambda c, d: actions.close_case(
            c, actor=request.user, note=d["note"]))

    @action_endpoint("follow_up", s.FollowUpSerializer, url_path="follow-up")
    def follow_up(self, request, pk=None):
        return self._act("follow_up", s.FollowUpSerializer, lambda c, d: actions.follow_up(
            c, actor=request.user, satisfaction=d["satisfaction"], note=d["note"]))

    @action_endpoint("escalate", s.NoteSerializer)
    def escalate(self, request, pk=None):
        return self._act("escalate", s.NoteSerializer, lambda c, d: actions.escalate_case(
            c, actor=request.user, note=d["note"]))

    @action_endpoint("hand_down", s.HandDownSerializer, url_path="hand-down")
    def hand_down(self, request, pk=None):
        return self._act("hand_down", s.HandDownSerializer, lambda c, d: actions.hand_down_case(
            c, actor=request.user, centre=d["centre"], note=d["note"]))

    @action_endpoint("supervise", s.SuperviseSerializer)
    def supervise(self, request, pk=None):
        return self._act("supervise", s.SuperviseSerializer, lambda c, d: actions.supervise_case(
            c, actor=request.user, level=d["level"], note=d["note"]))

    @extend_schema(request=s.PhotosSerializer, responses={201: s.AttachmentSerializer(many=True), **ERRORS},
                   description="Add photos of one kind; each kind only by whose work it shows: "
                   + "; ".join(f"{kind}: {pipeline.RULES_BY_NAME[name].describe()}"
                               for kind, name in pipeline.ATTACH_RULES.items()))
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def photos(self, request, pk=None):
        case = access.access_case_by_id(request.user, pk)
        data = self._input(s.PhotosSerializer)
        saved = actions.add_photos(case, actor=request.user, kind=data["kind"], photos=_files(request, "photos"))
        return Response(s.AttachmentSerializer(saved, many=True, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    # Whole lists, neither filtered nor paged (and so documented).
    @extend_schema(responses={200: s.EventSerializer(many=True), 404: ERRORS[404]})
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def timeline(self, request, pk=None):
        case = access.access_case_by_id(request.user, pk)
        events = case.events.select_related("actor").order_by("at", "id")
        return Response(s.EventSerializer(events, many=True).data)

    @extend_schema(responses={200: s.ExtensionSerializer(many=True), 404: ERRORS[404]})
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def extensions(self, request, pk=None):
        case = access.access_case_by_id(request.user, pk)
        rows = ExtensionRequest.objects.filter(dispatch__case=case).order_by("-requested_at")
        return Response(s.ExtensionSerializer(rows, many=True).data)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your notifications, newest first. POST read/ marks them read (all, or the given ids)."""

    serializer_class = s.NotificationSerializer
    ordering = "-id"
    filterset_class = NotificationFilterSet

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
