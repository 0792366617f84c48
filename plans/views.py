"""Work-plan pages (任务清单): the list of plans with their figures and the board (挂图作战) at
/plans/, a plan's tasks, a task's page with its progress, the report form and the supervision note,
and a unit's own tasks on the phone (/plans/mine/).

Plans and tasks come from plans.access (missing and out of scope alike are 404); every write is an
action of plans.actions, whose refusals are shown beside the form.
"""

from __future__ import annotations

import functools

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases.forms import MultipleFileField
from cases.media import stored_photo
from govgrid.errors import ActionError, NotFound
from grids.choices import Level
from grids.models import Area, Centre, Department
from grids.scope import visible_areas
from plans import access, actions, campaign_views, figures
from plans.choices import NegativeKind
from plans.models import PlanTask, WorkPlan

app_name = "plans"


def found_or_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


class ReportForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("What was done"), max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 4}))
    percent = forms.DecimalField(label=gettext_lazy("Percent done"), min_value=0, max_value=100, decimal_places=1)
    files = MultipleFileField(label=gettext_lazy("Photos (evidence)"))


class SuperviseForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Supervision note"), max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))


class PlanForm(forms.Form):
    area = forms.ModelChoiceField(label=gettext_lazy("area"), queryset=Area.objects.none(),
                                  error_messages={"invalid_choice": gettext_lazy("No such area.")})
    year = forms.IntegerField(label=gettext_lazy("year"), min_value=2000, max_value=2100)
    title = forms.CharField(label=gettext_lazy("title"), max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = visible_areas(user).filter(level__lte=Level.TOWN).order_by("path")


def _units(plan: WorkPlan) -> list[tuple[str, str]]:
    """The units a task or an event of ``plan`` may name: departments and centres in its area's subtree."""
    departments = Department.objects.filter(area__path__startswith=plan.area_path, is_active=True)
    centres = Centre.objects.filter(area__path__startswith=plan.area_path)
    return ([(f"department:{d.pk}", str(d)) for d in departments.order_by("area__path", "name")]
            + [(f"centre:{c.pk}", c.name) for c in centres.order_by("area__path")])


def _unit(key: str) -> dict:
    kind, _sep, pk = (key or "").partition(":")
    if kind == "department":
        return {"department": Department.objects.get(pk=int(pk))}
    return {"centre": Centre.objects.get(pk=int(pk))}


class TaskForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("title"), max_length=200)
    lead_unit = forms.ChoiceField(label=gettext_lazy("lead unit"))
    assisting_units = forms.MultipleChoiceField(label=gettext_lazy("assisting units"), required=False)
    starts_on = forms.DateField(label=gettext_lazy("starts on"), widget=forms.DateInput(attrs={"type": "date"}))
    deadline = forms.DateField(label=gettext_lazy("deadline"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].choices = self.fields["assisting_units"].choices = _units(plan)


class NegativeEventForm(forms.Form):
    unit = forms.ChoiceField(label=gettext_lazy("responsible unit"))
    date = forms.DateField(label=gettext_lazy("date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=NegativeKind.choices)
    points = forms.DecimalField(label=gettext_lazy("points deducted"), min_value=0, max_value=100, decimal_places=2)
    note = forms.CharField(label=gettext_lazy("note"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = _units(plan)


class IndicatorForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("indicator"), max_length=200)
    target = forms.DecimalField(label=gettext_lazy("target value"), min_value=0, max_digits=14, decimal_places=2)
    unit = forms.CharField(label=gettext_lazy("unit of measure"), max_length=20, required=False)


class MilestoneForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("milestone"), max_length=200)
    due_on = forms.DateField(label=gettext_lazy("due on"), widget=forms.DateInput(attrs={"type": "date"}))


def _submit(request, form, run, errors_status=400) -> int | None:
    """Validate ``form`` and run the action; None when it worked, else the status to answer with."""
    if not form.is_valid():
        return errors_status
    try:
        run(form.cleaned_data)
    except ActionError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return exc.status_code
    return None


def _tasks_with_lights(tasks) -> list[PlanTask]:
    today = figures.today()
    tasks = list(tasks.select_related("plan", "lead_department", "lead_centre"))
    for task in tasks:
        task.light = figures.task_light(task, today)
    return tasks


@login_required
def index(request: HttpRequest) -> HttpResponse:
    plans = access.plans_for(request.user).select_related("area", "owner")
    met = figures.indicators_met(plans)
    plan_rows = [(plan, *met.get(plan.pk, (0, 0))) for plan in plans]
    tasks = access.tasks_for(request.user)
    plan_id = request.GET.get("plan")
    chosen = None
    if plan_id:
        try:
            chosen = access.access_plan_by_id(request.user, plan_id)
        except NotFound:
            raise Http404 from None
        tasks = tasks.filter(plan=chosen)
    form, status = PlanForm(user=request.user), 200
    if request.method == "POST":
        form = PlanForm(request.POST, user=request.user)
        made = []
        status = _submit(request, form, lambda d: made.append(actions.create_plan(
            actor=request.user, area=d["area"], year=d["year"], title=d["title"])))
        if status is None:
            messages.success(request, _("The work plan is created."))
            return redirect("plans:plan", pk=made[0].pk)
    may_create = access.may_manage_somewhere(request.user)
    return render(request, "plans/index.html", {"plans": plan_rows, "board": figures.board(tasks),
                                                "chosen": chosen, "form": form, "may_create": may_create},
                  status=status)


@login_required
@found_or_404
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = access.access_plan_by_id(request.user, pk)
    tasks = _tasks_with_lights(access.tasks_for(request.user).filter(plan=plan))
    met, total = figures.indicators_met(access.plans_for(request.user).filter(pk=plan.pk)).get(plan.pk, (0, 0))
    events = plan.negative_events.select_related("department", "centre")
    task_form, event_form, status = TaskForm(plan=plan), NegativeEventForm(plan=plan), 200
    if request.method == "POST":
        if request.POST.get("form") == "event":
            event_form = NegativeEventForm(request.POST, plan=plan)
            status = _submit(request, event_form, lambda d: actions.record_negative_event(
                actor=request.user, plan=plan, on=d["date"], kind=d["kind"], points=d["points"], note=d["note"],
                **_unit(d["unit"])))
        else:
            task_form = TaskForm(request.POST, plan=plan)

            def create(d):
                assisting = [_unit(key) for key in d["assisting_units"]]
                actions.create_task(
                    actor=request.user, plan=plan, title=d["title"], starts_on=d["starts_on"], deadline=d["deadline"],
                    lead_department=_unit(d["lead_unit"]).get("department"),
                    lead_centre=_unit(d["lead_unit"]).get("centre"),
                    assisting_departments=[u["department"] for u in assisting if "department" in u],
                    assisting_centres=[u["centre"] for u in assisting if "centre" in u])

            status = _submit(request, task_form, create)
        if status is None:
            messages.success(request, _("Saved."))
            return redirect("plans:plan", pk=plan.pk)
    return render(request, "plans/plan.html", {
        "plan": plan, "tasks": tasks, "met": met, "total": total, "events": events, "task_form": task_form,
        "event_form": event_form, "may_manage": access.may_manage(request.user, plan.area)}, status=status)


@login_required
@found_or_404
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = access.access_task_by_id(request.user, pk)
    form, supervise_form, status = ReportForm(), SuperviseForm(), 200
    indicator_form, milestone_form = IndicatorForm(), MilestoneForm()
    if request.method == "POST" and request.POST.get("form") in ("indicator", "milestone"):
        if request.POST["form"] == "indicator":
            indicator_form = IndicatorForm(request.POST)
            status = _submit(request, indicator_form,
                             lambda d: actions.add_indicator(actor=request.user, task=task, **d))
        else:
            milestone_form = MilestoneForm(request.POST)
            status = _submit(request, milestone_form,
                             lambda d: actions.add_milestone(actor=request.user, task=task, **d))
        if status is None:
            messages.success(request, _("Saved."))
            return redirect("plans:task", pk=task.pk)
    elif request.method == "POST":
        if "note" in request.POST:
            supervise_form = SuperviseForm(request.POST)
            if supervise_form.is_valid():
                try:
                    actions.supervise_task(actor=request.user, task=task, note=supervise_form.cleaned_data["note"])
                except ActionError as exc:
                    supervise_form.add_error(None, exc.message)
                    status = exc.status_code
                else:
                    messages.success(request, _("The supervision note is sent to the lead unit."))
                    return redirect("plans:task", pk=task.pk)
            else:
                status = 400
        else:
            form = ReportForm(request.POST, request.FILES)
            if form.is_valid():
                figures_in = {str(i.pk): request.POST.get(f"figure_{i.pk}", "") for i in task.indicators.all()}
                try:
                    actions.report_progress(actor=request.user, task=task, text=form.cleaned_data["text"],
                                            percent=form.cleaned_data["percent"], figures=figures_in,
                                            files=form.cleaned_data["files"] or [], unit=request.POST.get("unit"))
                except ActionError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                    status = exc.status_code
                else:
                    messages.success(request, _("Progress reported."))
                    return redirect("plans:task", pk=task.pk)
            else:
                status = 400
    task.light = figures.task_light(task)
    units = access.reporting_units(request.user, task)
    return render(request, "plans/task.html", {
        "task": task, "indicators": task.indicators.all(), "milestones": task.milestones.all(),
        "reports": task.reports.select_related("department", "centre", "by").prefetch_related("evidence")[:50],
        "supervisions": task.supervisions.select_related("by")[:20],
        "assisting": [*task.assisting_departments.all(), *task.assisting_centres.all()],
        "units": [(access.unit_key_of(u), u) for u in units], "form": form, "supervise_form": supervise_form,
        "may_supervise": access.may_supervise(request.user, task.plan.area),
        "may_manage": access.may_manage(request.user, task.plan.area), "indicator_form": indicator_form,
        "milestone_form": milestone_form,
    }, status=status)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    tasks = _tasks_with_lights(access.my_tasks(request.user).order_by("deadline", "pk"))
    return render(request, "plans/mine.html", {"tasks": tasks})


@login_required
@require_POST
@found_or_404
def milestone_done(request: HttpRequest, pk: int, milestone_id: int) -> HttpResponse:
    task = access.access_task_by_id(request.user, pk)
    milestone = task.milestones.filter(pk=milestone_id).first()
    if milestone is None:
        raise Http404
    try:
        actions.complete_milestone(actor=request.user, milestone=milestone)
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("plans:task", pk=task.pk)


@login_required
@found_or_404
def evidence_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A progress report's photo (decoded and cleaned when it was sent), for those who may see its task."""
    evidence = access.access_evidence_by_id(request.user, pk)
    return stored_photo(evidence.file, evidence.content_type)


urlpatterns = [
    path("", index, name="index"),
    path("mine/", mine, name="mine"),
    path("<int:pk>/", plan_detail, name="plan"),
    path("tasks/<int:pk>/", task_detail, name="task"),
    path("evidence/<int:pk>/", evidence_photo, name="evidence"),
    path("tasks/<int:pk>/milestones/<int:milestone_id>/done/", milestone_done, name="milestone_done"),
    *campaign_views.urlpatterns,
]
