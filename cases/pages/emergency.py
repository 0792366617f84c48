"""Emergency mode pages (战时): the activations in scope with the switch-on form, and one activation with
its log, level, task force and switch-off.

Reads go through the access module (cases.access.activations_for / access_activation: outside scope →
404); the forms call cases.actions.emergency, which checks who may (cases.pipeline.check_command) and
answers a refusal beside the field, nothing written.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases import access, pipeline
from cases.actions import emergency as actions
from cases.choices import EmergencyLevel
from cases.pages.pickers import area_choices
from govgrid import clock
from govgrid.errors import ActionError, NotFound
from govgrid.paging import CappedPaginator

LEVEL_CHOICES = [(level.value, level.label) for level in EmergencyLevel]


def _usernames(text: str) -> list[str]:
    return [name for name in text.replace("，", ",").replace("\n", ",").replace(" ", ",").split(",") if name]


class SwitchOnForm(forms.Form):
    area = forms.ChoiceField(label=gettext_lazy("area"))
    level = forms.TypedChoiceField(label=gettext_lazy("response level"), choices=LEVEL_CHOICES, coerce=int)
    reason = forms.CharField(label=gettext_lazy("reason"), widget=forms.Textarea(attrs={"rows": 2}))
    ends_at = forms.DateTimeField(label=gettext_lazy("planned end"), required=False,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                  input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    lead = forms.CharField(label=gettext_lazy("task force lead (username)"), required=False)
    members = forms.CharField(label=gettext_lazy("task force members (usernames, comma separated)"),
                              required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = area_choices(user, self.data.get("area", "") if self.is_bound else "")


class LevelForm(forms.Form):
    level = forms.TypedChoiceField(label=gettext_lazy("response level"), choices=LEVEL_CHOICES, coerce=int)
    note = forms.CharField(label=gettext_lazy("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TaskForceForm(forms.Form):
    lead = forms.CharField(label=gettext_lazy("task force lead (username)"), required=False)
    members = forms.CharField(label=gettext_lazy("task force members (usernames, comma separated)"),
                              required=False, widget=forms.Textarea(attrs={"rows": 2}))
    note = forms.CharField(label=gettext_lazy("note"), required=False)


class SwitchOffForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _refuse(form: forms.Form, exc: ActionError) -> int:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return exc.status_code


def may_switch_on(user) -> bool:
    from grids.scope import scope_for

    scope = scope_for(user)
    return scope.is_admin or any(pipeline.may_command(user, p) for p in scope.official_paths + scope.centre_paths)


@login_required
def activation_list(request: HttpRequest) -> HttpResponse:
    """The activations over or inside the user's scope, active first; the switch-on form for officials."""
    status = 200
    form = SwitchOnForm(request.POST or None, user=request.user) if may_switch_on(request.user) else None
    if request.method == "POST":
        if form is None:
            return HttpResponse(status=404)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                activation = actions.switch_on(
                    actor=request.user, area=data["area"], level=data["level"], reason=data["reason"],
                    ends_at=data["ends_at"], lead=data["lead"].strip() or None, members=_usernames(data["members"]))
            except ActionError as exc:
                status = _refuse(form, exc)
            else:
                messages.success(request, _("Emergency mode is on."))
                return redirect("emergency:detail", activation.pk)
    at = clock.now()
    rows = access.activations_for(request.user).select_related("area", "created_by").order_by(
        "switched_off_at", "level", "-starts_at", "-id")
    page = CappedPaginator(rows, 25).get_page(request.GET.get("page"))
    for activation in page.object_list:
        activation.active_now = activation.starts_at <= at and (
            activation.switched_off_at is None or activation.switched_off_at > at) and (
            activation.ends_at is None or activation.ends_at > at)
    return render(request, "emergency/list.html", {"page": page, "form": form}, status=status)


FORMS = {"level": LevelForm, "task_force": TaskForceForm, "off": SwitchOffForm}
RULE_OF = {"level": "change_level", "task_force": "change_task_force", "off": "switch_off"}


def _run(name: str, user, activation, data):
    if name == "level":
        return actions.change_level(activation, actor=user, level=data["level"], note=data["note"])
    if name == "task_force":
        return actions.change_task_force(activation, actor=user, lead=data["lead"].strip() or None,
                                         members=_usernames(data["members"]), note=data["note"])
    return actions.switch_off(activation, actor=user, note=data["note"])


@login_required
def activation_detail(request: HttpRequest, pk: int, name: str = "") -> HttpResponse:
    try:
        activation = access.access_activation(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    may = pipeline.may_command(request.user, activation.area_path) and activation.is_active
    status = 200
    bound = {}
    if request.method == "POST":
        if name not in FORMS or not may:
            return HttpResponse(status=404 if name not in FORMS else 403)
        form = FORMS[name](request.POST)
        status = 400
        if form.is_valid():
            try:
                _run(name, request.user, activation, form.cleaned_data)
            except ActionError as exc:
                status = _refuse(form, exc)
            else:
                messages.success(request, _("%(action)s: done.") % {"action": pipeline.EMERGENCY_RULES[RULE_OF[name]]})
                return redirect("emergency:detail", activation.pk)
        bound[name] = form
    forms_ = {}
    if may:
        members = " ".join(activation.members.values_list("username", flat=True))
        forms_ = {
            "level": bound.get("level") or LevelForm(initial={"level": activation.level}),
            "task_force": bound.get("task_force") or TaskForceForm(
                initial={"lead": activation.lead.username if activation.lead_id else "", "members": members}),
            "off": bound.get("off") or SwitchOffForm(),
        }
    from grids.models import Membership

    members = list(activation.members.order_by("username").prefetch_related(
        "memberships__area", "memberships__department"))
    lead_places = (Membership.objects.filter(user_id=activation.lead_id).select_related("area", "department")
                   if activation.lead_id else [])
    return render(request, "emergency/detail.html", {
        "activation": activation, "events": activation.events.select_related("actor"),
        "forms": forms_, "members": members, "lead_places": lead_places, "rules": pipeline.EMERGENCY_RULES,
    }, status=status)


@login_required
@require_POST
def activation_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    return activation_detail(request, pk, name)


app_name = "emergency"
urlpatterns = [
    path("", activation_list, name="list"),
    path("<int:pk>/", activation_detail, name="detail"),
    path("<int:pk>/do/<str:name>/", activation_action, name="action"),
]
