"""Sweep task pages (排查任务): the centre's list, the send form with its field builder and the
progress board (desktop, /centre/sweeps/); the grid worker's open tasks, their targets and the report
form generated from the task's fields (phone, /m/sweeps/).

Tasks, targets, grids and areas come from the access module (cases.access: missing and out of scope
alike are 404); every write is an action of cases.actions.sweeps, whose refusals are shown beside
the field. The board's numbers come from cases.sweep_progress; its fragment is polled by htmx.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases import access
from cases.actions import sweeps as actions
from cases.forms import MultipleFileField, MultipleFileInput
from cases.media import stored_photo
from cases.models import Category
from cases.pages.centre import centre_scope
from cases.pages.worker import leaf_categories, my_grids
from cases.sweep_progress import board, grid_targets
from cases.sweeps import (
    FieldKind,
    FindingKind,
    Recurrence,
    SweepPhoto,
    SweepReminder,
    SweepReport,
    SweepStatus,
    SweepTask,
    TargetKind,
)
from govgrid import clock
from govgrid.errors import ActionError, NotFound
from govgrid.offline import wants_json
from grids.choices import Level
from grids.models import Area
from grids.scope import visible_areas
from parties.choices import HouseUse

BUILDER_ROWS = 3  # empty field rows the send form shows (static/js/sweeps.js adds more)
MAX_BUILDER_ROWS = 30
REFRESH_SECONDS = 10


def found_or_404(view):
    """A task, target, grid or area the access module did not find is the page's 404 (same for all)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


# --- the centre: list, send, board --------------------------------------------------------------------


class SweepTaskForm(forms.Form):
    """The send form's plain fields; the field rows (field_label_N …) are read by ``_builder_fields``."""

    area = forms.ModelChoiceField(label=gettext_lazy("area"), queryset=Area.objects.none(),
                                  error_messages={"invalid_choice": gettext_lazy("No such area.")})
    title = forms.CharField(label=gettext_lazy("title"), max_length=100)
    instructions = forms.CharField(label=gettext_lazy("instructions"), required=False, max_length=5000,
                                   widget=forms.Textarea(attrs={"rows": 3}))
    target_kind = forms.ChoiceField(label=gettext_lazy("sent to"), choices=TargetKind.choices,
                                    initial=TargetKind.GRID, widget=forms.RadioSelect)
    target_rental = forms.BooleanField(label=gettext_lazy("rental houses only"), required=False)
    target_use = forms.ChoiceField(label=gettext_lazy("houses of use"), required=False,
                                   choices=[("", gettext_lazy("any use")), *HouseUse.choices])
    recurrence = forms.ChoiceField(label=gettext_lazy("recurrence"), choices=Recurrence.choices,
                                   initial=Recurrence.ONCE, widget=forms.RadioSelect)
    deadline = forms.DateTimeField(label=gettext_lazy("deadline"), required=False,
                                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    starts_on = forms.DateField(label=gettext_lazy("first day"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=gettext_lazy("last day"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(label=gettext_lazy("due each day at"), required=False,
                               widget=forms.TimeInput(attrs={"type": "time"}))
    finding_category = forms.ModelChoiceField(label=gettext_lazy("category of findings"), required=False,
                                              queryset=Category.objects.none(),
                                              empty_label=gettext_lazy("chosen by the worker"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = visible_areas(user, act=True).exclude(level=Level.GRID).order_by("path")
        if not self.is_bound:  # the user's own area (the outermost they hold) by default
            self.initial.setdefault("area", self.fields["area"].queryset.order_by("level", "path").first())
        self.fields["finding_category"].queryset = leaf_categories().order_by("code")


def _builder_rows(data) -> list[dict]:
    rows = []
    for n in range(1, MAX_BUILDER_ROWS + 1):
        label = (data.get(f"field_label_{n}") or "").strip()
        if f"field_label_{n}" not in data:
            continue
        rows.append({"n": n, "label": label, "kind": data.get(f"field_kind_{n}") or FieldKind.TEXT,
                     "required": bool(data.get(f"field_required_{n}")),
                     "options": data.get(f"field_options_{n}") or ""})
    return rows


def _builder_fields(rows: list[dict]) -> list[dict]:
    """The rows the user filled in (a row without a name is an unused row), for clean_schema."""
    return [{"label": row["label"], "kind": row["kind"], "required": row["required"],
             **({"options": row["options"]} if row["kind"] == FieldKind.CHOICE else {})}
            for row in rows if row["label"]]


@login_required
@found_or_404
def task_list(request: HttpRequest) -> HttpResponse:
    scope = centre_scope(request, officials=True)
    tasks = access.sweep_tasks_for(request.user).select_related("area", "centre").order_by("-created_at", "-id")
    status = request.GET.get("status", SweepStatus.OPEN)
    if status in SweepStatus.values:
        tasks = tasks.filter(status=status)
    return render(request, "sweeps/list.html", {
        "tasks": tasks[:200], "status": status, "statuses": SweepStatus.choices,
        "may_send": scope.is_admin or bool(scope.centre_paths), "now": clock.now(),
    })


@login_required
@found_or_404
def task_new(request: HttpRequest) -> HttpResponse:
    centre_scope(request)
    user = request.user
    status, errors = 200, {}
    if request.method == "POST":
        form = SweepTaskForm(request.POST, user=user)
        rows = _builder_rows(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                task = actions.create_sweep_task(
                    actor=user, area=d["area"], title=d["title"], instructions=d["instructions"],
                    fields=_builder_fields(rows), target_kind=d["target_kind"], target_rental=d["target_rental"],
                    target_use=d["target_use"], recurrence=d["recurrence"], deadline=d["deadline"],
                    starts_on=d["starts_on"], ends_on=d["ends_on"], due_time=d["due_time"],
                    finding_category=d["finding_category"],
                )
            except ActionError as exc:
                errors[exc.field or "form"] = exc.message
                status = exc.status_code
            else:
                messages.success(request, _("Sent to %(n)d targets: %(title)s.")
                                 % {"n": task.target_count, "title": task.title})
                return redirect("sweeps:task", pk=task.pk)
        else:
            status = 400
    else:
        form = SweepTaskForm(user=user, initial={"target_kind": TargetKind.GRID, "recurrence": Recurrence.ONCE})
        rows = []
    while len(rows) < BUILDER_ROWS:
        rows.append({"n": (rows[-1]["n"] + 1) if rows else 1, "label": "", "kind": FieldKind.TEXT,
                     "required": False, "options": ""})
    return render(request, "sweeps/new.html", {
        "form": form, "rows": rows, "kinds": FieldKind.choices, "errors": errors, "max_rows": MAX_BUILDER_ROWS,
    }, status=status)


def _round_param(request: HttpRequest) -> date | None:
    try:
        return date.fromisoformat(request.GET["round"])
    except (KeyError, ValueError):
        return None


def _board_context(request: HttpRequest, pk: int) -> dict:
    task = access.access_sweep_task_by_id(request.user, pk)
    area = access.access_sweep_board_area(request.user, task, request.GET.get("area"))
    round_date = _round_param(request)
    if round_date is not None and round_date not in task.rounds():
        round_date = None
    shown = board(task, area, round_date=round_date)
    targets = grid_targets(task, area, round_date=shown.round_date) if area.level == Level.GRID else None
    crumbs = [a for a in area.ancestors() if a.path.startswith(task.area_path)] + [area] \
        if area.path != task.area_path else [area]
    return {"task": task, "board": shown, "area": area, "targets": targets, "crumbs": crumbs,
            "rounds": task.rounds()[-14:], "refresh": REFRESH_SECONDS, "now": clock.now()}


@login_required
@found_or_404
def task_board(request: HttpRequest, pk: int) -> HttpResponse:
    scope = centre_scope(request, officials=True)
    context = _board_context(request, pk)
    context["may_close"] = context["task"].status == SweepStatus.OPEN and (
        scope.is_admin or any(context["task"].area_path.startswith(p) for p in scope.centre_paths))
    return render(request, "sweeps/board.html", context)


@login_required
@found_or_404
def task_board_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    centre_scope(request, officials=True)
    return render(request, "sweeps/_board.html", _board_context(request, pk))


@login_required
@found_or_404
@require_POST
def task_close(request: HttpRequest, pk: int) -> HttpResponse:
    centre_scope(request)
    task = access.access_sweep_task_by_id(request.user, pk)
    try:
        actions.close_sweep_task(actor=request.user, task=task)
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The sweep task is closed."))
    return redirect("sweeps:task", pk=task.pk)


@login_required
@found_or_404
def sweep_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A report's photo, for those who may see its target (the same 404 otherwise)."""
    photo = SweepPhoto.objects.filter(pk=pk).select_related("report__task", "report__target").first()
    if photo is None or not access.sweep_targets_for(request.user, photo.report.task).filter(
            pk=photo.report.target_id).exists() or not access.sweep_tasks_for(request.user).filter(
            pk=photo.report.task_id).exists():
        raise Http404
    return stored_photo(photo.file, photo.content_type)


# --- the grid worker: open tasks, targets, report -----------------------------------------------------


def _worker_tasks(user):
    grids = list(my_grids(user).values_list("pk", flat=True))
    return access.sweep_tasks_for(user).filter(status=SweepStatus.OPEN, targets__grid__in=grids).distinct(), grids


def open_sweep_count(user) -> int:
    """The worker home's tile: open sweep tasks that reach the worker's grids."""
    tasks, _grids = _worker_tasks(user)
    return tasks.count()


@login_required
@found_or_404
def worker_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    tasks, grids = _worker_tasks(user)
    at = clock.now()
    rows = []
    for task in tasks.order_by("ends_on", "due_time", "id")[:50]:
        round_date = task.round_for(at)
        mine = task.targets.filter(grid__in=grids).aggregate(
            total=Count("id"), reported=Count("reports", filter=Q(reports__round_date=round_date)))
        reminded = SweepReminder.objects.filter(task=task, round_date=round_date, grid__in=grids).exists()
        rows.append({"task": task, "round": round_date, "deadline": task.deadline_of(round_date),
                     "overdue": at > task.deadline_of(round_date), "reminded": reminded, **mine})
    return render(request, "sweeps/m_list.html", {"rows": rows})


@login_required
@found_or_404
def worker_task(request: HttpRequest, pk: int) -> HttpResponse:
    task = access.access_sweep_task_by_id(request.user, pk)
    at = clock.now()
    round_date = task.round_for(at)
    grids = [grid for grid in my_grids(request.user) if task.area_path and grid.path.startswith(task.area_path)]
    sections = []
    for grid in grids:
        targets = grid_targets(task, grid, round_date=round_date, at=at)
        if targets:
            sections.append({"grid": grid, "targets": targets,
                             "left": sum(1 for row in targets if row.report is None)})
    if not sections:
        raise Http404
    return render(request, "sweeps/m_task.html", {
        "task": task, "sections": sections, "round": round_date, "deadline": task.deadline_of(round_date),
        "overdue": at > task.deadline_of(round_date), "open": task.status == SweepStatus.OPEN,
    })


@login_required
@found_or_404
@require_POST
def worker_zero_report(request: HttpRequest, pk: int) -> HttpResponse:
    task = access.access_sweep_task_by_id(request.user, pk)
    grid = access.access_sweep_grid(request.user, task, request.POST.get("grid"), act=True)
    try:
        count = actions.zero_report_grid(actor=request.user, task=task, grid=grid, note=request.POST.get("note", ""))
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        if count:
            messages.success(request, _("Zero report sent for %(grid)s: %(n)d targets checked, nothing found.")
                             % {"grid": grid.name, "n": count})
        else:
            messages.info(request, _("Everything in %(grid)s is already reported for this round.")
                          % {"grid": grid.name})
    return redirect("worker_sweeps:task", pk=task.pk)


class ReportForm(forms.Form):
    """The report's fixed part; the answers' inputs come from the task's fields (``answer_<key>``)."""

    note = forms.CharField(label=gettext_lazy("note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))
    finding = forms.ChoiceField(label=gettext_lazy("finding"), required=False, choices=FindingKind.choices,
                                widget=forms.RadioSelect)
    finding_description = forms.CharField(label=gettext_lazy("what was found"), required=False, max_length=2000,
                                          widget=forms.Textarea(attrs={"rows": 2}))
    finding_category = forms.ModelChoiceField(label=gettext_lazy("kind of problem"), required=False,
                                              queryset=Category.objects.none())
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, task: SweepTask, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["finding_category"].queryset = leaf_categories().order_by("code")
        if task.finding_category_id:
            self.fields["finding_category"].empty_label = task.finding_category.display_name
        for item in task.fields:
            if item["kind"] == FieldKind.PHOTO:
                self.fields[f"photo_{item['key']}"] = MultipleFileField(
                    label=item["label"], widget=MultipleFileInput(attrs={"accept": "image/*",
                                                                          "capture": "environment"}))


@login_required
@found_or_404
def worker_report(request: HttpRequest, pk: int, target_id: int) -> HttpResponse:
    user = request.user
    task = access.access_sweep_task_by_id(user, pk)
    target = access.access_sweep_target(user, task, target_id, act=True, field=None)
    errors: dict[str, str] = {}
    status = 200
    answers = {}
    if request.method == "POST":
        form = ReportForm(request.POST, request.FILES, task=task)
        answers = {item["key"]: request.POST.get(f"answer_{item['key']}", "") for item in task.fields
                   if item["kind"] != FieldKind.PHOTO}
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            photos = {item["key"]: d.get(f"photo_{item['key']}") or [] for item in task.fields
                      if item["kind"] == FieldKind.PHOTO}
            try:
                report, created = actions.report_sweep_target(
                    actor=user, task=task, target=target, answers=answers, photos=photos, note=d["note"],
                    finding=d["finding"] or "", finding_description=d["finding_description"],
                    finding_category=d["finding_category"], client_uuid=d["client_uuid"],
                )
            except ActionError as exc:
                status = exc.status_code
                key = (exc.field or "form").replace("answers.", "")
                shown = {item["key"] for item in task.fields} | {"finding", "finding_category",
                                                                  "finding_description", "location"}
                errors[key if key in shown else "form"] = exc.message
            else:
                return _reported(request, task, report, created)
        else:
            errors.update({name.replace("photo_", ""): " ".join(found) for name, found in form.errors.items()})
        if wants_json(request):
            return JsonResponse({"ok": False, "errors": {k: [v] for k, v in errors.items()}}, status=status)
    else:
        form = ReportForm(task=task, initial={"client_uuid": uuid.uuid4()})
    report = SweepReport.objects.filter(target=target, round_date=task.round_for(clock.now())).first()
    inputs = [{**item, "value": answers.get(item["key"], ""), "error": errors.get(item["key"], ""),
               "field": form[f"photo_{item['key']}"] if item["kind"] == FieldKind.PHOTO else None}
              for item in task.fields]
    return render(request, "sweeps/m_report.html", {
        "task": task, "target": target, "form": form, "inputs": inputs, "errors": errors, "report": report,
        "open": task.status == SweepStatus.OPEN,
        "finding_form": FindingForm(task=task) if report is not None and report.case_id is None else None,
    }, status=status)


class FindingForm(forms.Form):
    finding = forms.ChoiceField(label=gettext_lazy("finding"), widget=forms.RadioSelect, initial=FindingKind.CASE,
                                choices=[c for c in FindingKind.choices if c[0]])
    finding_description = forms.CharField(label=gettext_lazy("what was found"), max_length=2000,
                                          widget=forms.Textarea(attrs={"rows": 2}))
    finding_category = forms.ModelChoiceField(label=gettext_lazy("kind of problem"), required=False,
                                              queryset=Category.objects.none())

    def __init__(self, *args, task: SweepTask, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["finding_category"].queryset = leaf_categories().order_by("code")
        if task.finding_category_id:
            self.fields["finding_category"].empty_label = task.finding_category.display_name


@login_required
@found_or_404
@require_POST
def worker_finding(request: HttpRequest, pk: int, target_id: int) -> HttpResponse:
    """A finding noticed after the report: filed as a case or a report-only record, once."""
    user = request.user
    task = access.access_sweep_task_by_id(user, pk)
    target = access.access_sweep_target(user, task, target_id, act=True, field=None)
    report = SweepReport.objects.filter(target=target, round_date=task.round_for(clock.now())).first()
    if report is None:
        raise Http404
    form = FindingForm(request.POST, task=task)
    if form.is_valid():
        d = form.cleaned_data
        try:
            report = actions.file_sweep_finding(actor=user, task=task, report=report, finding=d["finding"],
                                                description=d["finding_description"],
                                                category=d["finding_category"])
        except ActionError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The finding is filed as case %(number)s.") % {"number": report.case.number})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("worker_sweeps:report", pk=task.pk, target_id=target.pk)


def _reported(request: HttpRequest, task: SweepTask, report: SweepReport, created: bool) -> HttpResponse:
    if not created:
        text = _("This report had already arrived.")
    elif report.case_id:
        text = _("Reported, and the finding is filed as case %(number)s.") % {"number": report.case.number}
    else:
        text = _("Reported: %(target)s.") % {"target": report.target.label}
    messages.success(request, text)
    url = reverse("worker_sweeps:task", args=[task.pk])
    if wants_json(request):
        return JsonResponse({"ok": True, "url": url, "id": report.pk, "created": created},
                            status=201 if created else 200)
    return redirect(url)


centre_urls = ([
    path("", task_list, name="list"),
    path("new/", task_new, name="new"),
    path("<int:pk>/", task_board, name="task"),
    path("<int:pk>/progress/", task_board_fragment, name="progress"),
    path("<int:pk>/close/", task_close, name="close"),
    path("photos/<int:pk>/", sweep_photo, name="photo"),
], "sweeps")

worker_urls = ([
    path("", worker_list, name="list"),
    path("<int:pk>/", worker_task, name="task"),
    path("<int:pk>/zero/", worker_zero_report, name="zero"),
    path("<int:pk>/t/<int:target_id>/", worker_report, name="report"),
    path("<int:pk>/t/<int:target_id>/finding/", worker_finding, name="finding"),
], "worker_sweeps")
