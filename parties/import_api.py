"""Residents in and out over REST: the import template, a dry run or an import of a CSV/XLSX form,
the state of a large import's job, and the masked export.

- ``GET  /api/v1/residents/import/template.xlsx`` — the form to fill in (headers and one example row).
- ``POST /api/v1/residents/import/`` — multipart ``file`` (.csv or .xlsx) and ``dry_run``. A file up to
  ``parties.importer.INLINE_MAX_BYTES`` is handled in the request: a dry run answers 200 with every bad
  row; an import answers 201 with what it added, or 400 with every bad row and nothing written. A larger
  file answers 202 with a job whose state ``GET /api/v1/residents/import/jobs/<id>/`` gives (progress,
  then the same summary and rows).
- ``GET  /api/v1/residents/export/?file_format=csv|xlsx&reason=…&area=&residence_kind=&include_moved_out=`` —
  the residents in scope with masked ID and phone numbers, logged; 202 with a job when it is large
  (``/api/v1/residents/export/jobs/<id>/`` and ``…/download/``).

Only users who may change records in some grid (grid workers, centre staff, admins) may import; rows
naming a grid outside their scope are refused as unknown grids. Anyone who can see residents may export
what they see.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from govgrid.api import query_values
from govgrid.parsers import API_PARSERS
from grids.scope import scope_for
from parties import exports, importer
from parties.choices import ResidenceKind


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A .csv (UTF-8 or GBK) or .xlsx file laid out like the template.")
    dry_run = serializers.BooleanField(default=False, help_text="Only check the file and list its bad rows.")


class ProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="Spreadsheet row number (the header is row 1).")
    column = serializers.CharField(help_text="Column key (empty for the whole row or file).")
    column_label = serializers.CharField()
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    ok = serializers.BooleanField()
    summary = serializers.DictField(child=serializers.IntegerField())
    problems = ProblemSerializer(many=True)


class ImportErrorSerializer(serializers.Serializer):
    """The one error body (``detail``, ``code``, ``errors``) and, for a file with bad rows, every one of them."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    problems = ProblemSerializer(many=True, required=False)
    summary = serializers.DictField(child=serializers.IntegerField(), required=False)


class ImportJobSerializer(serializers.Serializer):
    id = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "running", "done", "failed"])
    progress = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    ok = serializers.BooleanField(required=False)
    summary = serializers.DictField(child=serializers.IntegerField())
    problems = ProblemSerializer(many=True)
    error = serializers.CharField()
    status_url = serializers.CharField()


class ExportQuerySerializer(serializers.Serializer):
    # Not "format": DRF reads that query parameter to choose a renderer.
    file_format = serializers.ChoiceField(choices=exports.FORMATS, default="xlsx")
    reason = serializers.CharField(min_length=4, max_length=500,
                                   help_text="Why you need the list (logged with the export).")
    area = serializers.CharField(required=False, allow_blank=True, default="", max_length=64,
                                 help_text="An area code: only residents in its subtree.")
    residence_kind = serializers.ChoiceField(choices=ResidenceKind.choices, required=False, allow_blank=True,
                                             default="")
    include_moved_out = serializers.BooleanField(default=False)


class ExportJobSerializer(serializers.Serializer):
    id = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "running", "done", "failed"])
    progress = serializers.IntegerField()
    count = serializers.IntegerField()
    error = serializers.CharField()
    status_url = serializers.CharField()
    download_url = serializers.CharField()


def _may_import(user) -> bool:
    scope = scope_for(user)
    return scope.is_admin or bool(scope.act_paths)


def _import_job_answer(request, job: dict) -> dict:
    return {
        "id": job["id"], "state": job.get("state", "pending"), "progress": job.get("progress", 0),
        "dry_run": bool(job.get("dry_run")), **({"ok": job["ok"]} if "ok" in job else {}),
        "summary": job.get("summary") or {}, "problems": job.get("problems") or [], "error": job.get("error", ""),
        "status_url": request.build_absolute_uri(f"/api/v1/residents/import/jobs/{job['id']}/"),
    }


class ImportTemplateView(APIView):
    """The import form: one sheet with the columns (Chinese headers; English names are accepted too) and
    one example row, and a sheet saying what each column takes."""

    @extend_schema(responses={(200, importer.XLSX_TYPE): OpenApiTypes.BINARY}, tags=["residents"])
    def get(self, request):
        response = HttpResponse(importer.template_xlsx(), content_type=importer.XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{importer.TEMPLATE_FILENAME}"'
        return response


class ResidentImportView(APIView):
    """Check (``dry_run``) or import a CSV/XLSX form of residents, all or nothing."""

    parser_classes = API_PARSERS

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: OpenApiResponse(ImportResultSerializer, description="Dry run: every bad row (none: ok)."),
            201: OpenApiResponse(ImportResultSerializer, description="Imported: what was added."),
            202: OpenApiResponse(ImportJobSerializer, description="A large file: a worker checks or imports it."),
            400: OpenApiResponse(ImportErrorSerializer, description="The request is not valid, or the file has bad "
                                                                    "rows (``problems``: every one); nothing was "
                                                                    "written."),
        },
        tags=["residents"],
    )
    def post(self, request):
        if not _may_import(request.user):
            raise PermissionDenied(_("Your role may not import residents."))
        serializer = ImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload, dry_run = serializer.validated_data["file"], serializer.validated_data["dry_run"]
        fmt = importer.file_format(upload.name or "")
        if fmt is None:
            raise ValidationError({"file": [_("Only .csv and .xlsx files can be imported.")]})
        if upload.size > importer.INLINE_MAX_BYTES:
            job = importer.start_job(upload.read(), fmt, user=request.user, dry_run=dry_run, filename=upload.name)
            return Response(_import_job_answer(request, job), status=status.HTTP_202_ACCEPTED)
        content = upload.read()
        if dry_run:
            result = importer.check_file(content, fmt, user=request.user)
            return Response({"dry_run": True, "ok": result.ok, "summary": result.summary(),
                             "problems": [p.as_dict() for p in result.problems]})
        try:
            written = importer.import_file(content, fmt, user=request.user)
        except importer.ResidentImportError as exc:
            count = len(exc.problems)
            return Response({
                "detail": ngettext("The file has %(count)d problem; nothing was imported.",
                                   "The file has %(count)d problems; nothing was imported.", count) % {"count": count},
                "code": "invalid_rows", "dry_run": False, "ok": False, "summary": {"problems": count},
                "problems": [p.as_dict() for p in exc.problems],
            }, status=status.HTTP_400_BAD_REQUEST)
        return Response({"dry_run": False, "ok": True, "summary": written.as_dict(), "problems": []},
                        status=status.HTTP_201_CREATED)


def _own_job(job: dict | None, user) -> dict:
    if not job or job.get("user_id") != user.pk:  # another user's job does not exist for you
        raise NotFound(_("No such job."))
    return job


class ResidentImportJobView(APIView):
    """A large import's job: state, progress, and once done the summary and every bad row."""

    @extend_schema(responses={200: ImportJobSerializer}, tags=["residents"])
    def get(self, request, job_id: str):
        job = _own_job(importer.get_job(job_id), request.user)
        return Response(_import_job_answer(request, job))


def _export_job_answer(request, job: dict) -> dict:
    base = f"/api/v1/residents/export/jobs/{job['id']}/"
    return {"id": job["id"], "state": job.get("state", "pending"), "progress": job.get("progress", 0),
            "count": job.get("count", 0), "error": job.get("error", ""),
            "status_url": request.build_absolute_uri(base),
            "download_url": request.build_absolute_uri(base + "download/") if job.get("state") == "done" else ""}


class ResidentExportView(APIView):
    """Residents in your scope as CSV or XLSX, ID and phone numbers masked; every export is logged with
    its reason. A large one (more than ``parties.exports.INLINE_MAX_ROWS``) answers 202 with a job."""

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, exports.CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY,
                   (200, "text/csv"): OpenApiTypes.BINARY, 202: ExportJobSerializer},
        tags=["residents"],
    )
    def get(self, request):
        query = ExportQuerySerializer(data=query_values(request))
        query.is_valid(raise_exception=True)
        data = query.validated_data
        selection = exports.ExportFilter(data["area"], data["residence_kind"], data["include_moved_out"])
        count = exports.residents_for_export(request.user, selection).count()
        if count > exports.INLINE_MAX_ROWS:
            job = exports.start_export_job(request.user, selection, data["file_format"], reason=data["reason"],
                                           count=count)
            return Response(_export_job_answer(request, job), status=status.HTTP_202_ACCEPTED)
        content, filename, _count = exports.export_residents(request.user, selection, data["file_format"],
                                                             reason=data["reason"])
        response = HttpResponse(content, content_type=exports.CONTENT_TYPES[data["file_format"]])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class ResidentExportJobView(APIView):
    @extend_schema(responses={200: ExportJobSerializer}, tags=["residents"])
    def get(self, request, job_id: str):
        return Response(_export_job_answer(request, _own_job(exports.get_job(job_id), request.user)))


class ResidentExportDownloadView(APIView):
    @extend_schema(responses={(200, exports.CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY,
                              (200, "text/csv"): OpenApiTypes.BINARY}, tags=["residents"])
    def get(self, request, job_id: str):
        job = _own_job(exports.get_job(job_id), request.user)
        if job.get("state") != "done" or not job.get("file") or not default_storage.exists(job["file"]):
            raise NotFound(_("The export is not ready."))
        return FileResponse(default_storage.open(job["file"], "rb"), as_attachment=True, filename=job["filename"],
                            content_type=exports.CONTENT_TYPES.get(job.get("fmt"), "application/octet-stream"))


JOB_ID = "(?P<job_id>[0-9a-f]{32})"
urlpatterns = [
    path("residents/import/template.xlsx", ImportTemplateView.as_view(), name="resident-import-template"),
    path("residents/import/", ResidentImportView.as_view(), name="resident-import"),
    re_path(f"^residents/import/jobs/{JOB_ID}/$", ResidentImportJobView.as_view(), name="resident-import-job"),
    path("residents/export/", ResidentExportView.as_view(), name="resident-export"),
    re_path(f"^residents/export/jobs/{JOB_ID}/$", ResidentExportJobView.as_view(), name="resident-export-job"),
    re_path(f"^residents/export/jobs/{JOB_ID}/download/$", ResidentExportDownloadView.as_view(),
         name="resident-export-download"),
]
