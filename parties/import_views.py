"""The import page for centres and grid workers (``/people/import/``): download the template, check a
form (dry run) and see every bad row, import it, follow a large file's job; and the masked export.

Thin over ``parties.importer`` and ``parties.exports``, which hold the rules (DESIGN.md §3): the same
checks, the same all-or-nothing import and the same logged export as the API and the command.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from govgrid.errors import ActionError
from grids.scope import scope_for
from parties import exports, importer
from parties.choices import ResidenceKind


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Form (.xlsx or .csv)"))
    dry_run = forms.BooleanField(label=gettext_lazy("Only check, write nothing"), required=False, initial=True)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if importer.file_format(upload.name or "") is None:
            raise forms.ValidationError(_("Only .csv and .xlsx files can be imported."))
        return upload


class ExportForm(forms.Form):
    file_format = forms.ChoiceField(label=gettext_lazy("File"), choices=[("xlsx", "Excel (.xlsx)"), ("csv", "CSV")])
    area = forms.CharField(label=gettext_lazy("Area code"), required=False, max_length=64)
    residence_kind = forms.ChoiceField(label=gettext_lazy("Residence kind"), required=False,
                                       choices=[("", "—"), *ResidenceKind.choices])
    reason = forms.CharField(label=gettext_lazy("Why you need the list"), max_length=500)


def _may_import(user) -> bool:
    scope = scope_for(user)
    return scope.is_admin or bool(scope.act_paths)


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    if scope_for(request.user).is_empty:
        raise Http404
    may_import = _may_import(request.user)
    form, export_form, result, written = ImportForm(), ExportForm(), None, None
    if request.method == "POST" and request.POST.get("action") == "export":
        export_form = ExportForm(request.POST)
        if export_form.is_valid():
            response = _export(request, export_form)
            if response is not None:
                return response
    elif request.method == "POST":
        if not may_import:
            raise PermissionDenied(_("Your role may not import residents."))
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload, dry_run = form.cleaned_data["file"], form.cleaned_data["dry_run"]
            fmt = importer.file_format(upload.name)
            if upload.size > importer.INLINE_MAX_BYTES:
                job = importer.start_job(upload.read(), fmt, user=request.user, dry_run=dry_run, filename=upload.name)
                return redirect("parties_import:job", job_id=job["id"])
            content = upload.read()
            if dry_run:
                result = importer.check_file(content, fmt, user=request.user)
            else:
                try:
                    written = importer.import_file(content, fmt, user=request.user)
                except importer.ResidentImportError as exc:
                    result = importer.CheckResult([], exc.problems)
    return render(request, "parties/import.html", {
        "form": form, "export_form": export_form, "may_import": may_import, "result": result, "written": written,
        "problems": result.problems[:1000] if result else [], "more": max(0, len(result.problems) - 1000)
        if result else 0,
    })


def _export(request: HttpRequest, form: ExportForm) -> HttpResponse | None:
    data = form.cleaned_data
    selection = exports.ExportFilter(data["area"].strip(), data["residence_kind"])
    count = exports.residents_for_export(request.user, selection).count()
    try:
        if count > exports.INLINE_MAX_ROWS:
            job = exports.start_export_job(request.user, selection, data["file_format"], reason=data["reason"],
                                           count=count)
            return redirect("parties_import:export_job", job_id=job["id"])
        content, filename, _count = exports.export_residents(request.user, selection, data["file_format"],
                                                             reason=data["reason"])
    except ActionError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[data["file_format"]])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def template_download(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(importer.template_xlsx(), content_type=importer.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{importer.TEMPLATE_FILENAME}"'
    return response


def _own(job: dict | None, user) -> dict:
    if not job or job.get("user_id") != user.pk:  # another user's job does not exist for you
        raise Http404
    return job


@login_required
@require_GET
def job_page(request: HttpRequest, job_id: str) -> HttpResponse:
    """A large file's job; htmx polls the partial every 2 s until it is done."""
    job = _own(importer.get_job(job_id), request.user)
    template = "parties/_import_job.html" if request.headers.get("HX-Request") else "parties/import_job.html"
    return render(request, template, {"job": job, "job_id": job_id, "problems": (job.get("problems") or [])[:1000]})


@login_required
@require_GET
def export_job_page(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _own(exports.get_job(job_id), request.user)
    if job.get("state") == "done" and request.GET.get("download") == "1":
        if not job.get("file") or not default_storage.exists(job["file"]):
            raise Http404
        return FileResponse(default_storage.open(job["file"], "rb"), as_attachment=True, filename=job["filename"],
                            content_type=exports.CONTENT_TYPES.get(job.get("fmt"), "application/octet-stream"))
    template = "parties/_import_job.html" if request.headers.get("HX-Request") else "parties/import_job.html"
    return render(request, template, {"job": job, "job_id": job_id, "export": True})


app_name = "parties_import"
JOB_ID = "(?P<job_id>[0-9a-f]{32})"
urlpatterns = [
    path("people/import/", import_page, name="page"),
    path("people/import/template.xlsx", template_download, name="template"),
    re_path(f"^people/import/jobs/{JOB_ID}/$", job_page, name="job"),
    re_path(f"^people/export/jobs/{JOB_ID}/$", export_job_page, name="export_job"),
]
