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
from govgrid.errors import ActionError, NotFound
from plans import access, actions, figures
from plans.models import PlanTask

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
    return render(request, "plans/index.html", {"plans": plan_rows, "board": figures.board(tasks),
                                                "chosen": chosen})


@login_required
@found_or_404
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = access.access_plan_by_id(request.user, pk)
    tasks = _tasks_with_lights(access.tasks_for(request.user).filter(plan=plan))
    met, total = figures.indicators_met(access.plans_for(request.user).filter(pk=plan.pk)).get(plan.pk, (0, 0))
    events = plan.negative_events.select_related("department", "centre")
    return render(request, "plans/plan.html", {"plan": plan, "tasks": tasks, "met": met, "total": total,
                                               "events": events})


@login_required
@found_or_404
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = access.access_task_by_id(request.user, pk)
    form, supervise_form, status = ReportForm(), SuperviseForm(), 200
    if request.method == "POST":
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


urlpatterns = [
    path("", index, name="index"),
    path("mine/", mine, name="mine"),
    path("<int:pk>/", plan_detail, name="plan"),
    path("tasks/<int:pk>/", task_detail, name="task"),
    path("tasks/<int:pk>/milestones/<int:milestone_id>/done/", milestone_done, name="milestone_done"),
]
