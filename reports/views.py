"""Report pages: the dashboard, the big screen 大屏, exports and the monthly safety reports 平安报表.

Every page takes its area from ``reports.dashboard.report_area`` (``visible_areas``: outside scope →
404) and its figures from ``reports.kpis`` (the counters). Only officials, centre staff and admins
reach them, as the navigation offers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from govgrid.replica import replica_reads
from grids.choices import Level
from grids.models import Area
from grids.scope import visible_areas
from reports import dashboard as board
from reports import exports
from reports.evaluation import COMPONENTS, evaluation_report


def reports_page(view):
    """Logged in, and one of those the reports are for (officials, centre staff, admins). The page's own
    reads may go to the read replica (govgrid.replica); who may see it is asked of the primary."""

    reads = replica_reads(view)

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not board.may_see_reports(request.user):
            raise PermissionDenied
        return reads(request, *args, **kwargs)

    return wrapped


def _query(code: str, period: board.Period, *, trend: bool = True) -> str:
    """``area=…`` and the period as asked (a quick range stays a quick range: a bookmark moves with time)."""
    params = {"area": code}
    if period.range:
        params["range"] = period.range
    else:
        params.update(start=period.start.isoformat(), end=period.end.isoformat())
    if trend:
        params["period"] = period.trend
    return urlencode(params)


def _drill(code: str, period: board.Period) -> str:
    """The dashboard of ``code`` over the same period."""
    return f"{reverse('reports:dashboard')}?{_query(code, period, trend=False)}"


def _context(request: HttpRequest) -> tuple[Area, board.Period, board.PeriodForm]:
    period, form = board.parse_period(request.GET)
    area = board.report_area(request.user, request.GET.get("area") or None)
    return area, period, form


@reports_page
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    area, period, form = _context(request)
    data = board.dashboard(request.user, area, period)
    for row in data["ranking"].rows if data["ranking"] else []:
        row["url"] = _drill(row["code"], period)
    query = _query(area.code, period)
    month_year, month = (period.start.year, period.start.month)
    if (month_year, month) == (board.today().year, board.today().month):
        month_year, month = board.previous_month(board.today())
    return render(request, "reports/dashboard.html", {
        **data, "form": form, "query": query, "breadcrumb": _crumbs(request.user, area, period),
        "top_areas": board.top_areas(request.user), "quick_ranges": board.QUICK_RANGES,
        "trend_periods": board.TREND_PERIODS, "child_level": _child_level(area),
        "monthly_url": reverse("reports:monthly_pdf", args=[f"{month_year:04d}-{month:02d}", area.code]),
        "monthly_label": f"{month_year:04d}-{month:02d}",
        "activations": active_activations(request.user, area),
        "export_tables": [("kpis", _("Key figures")), ("ranking", _("Ranking")), ("trend", _("Trend")),
                          ("categories", _("Categories")), ("departments", _("Departments")),
                          ("overdue", _("Overdue cases"))],
    })


def active_activations(user, area: Area) -> list:
    """Emergency activations in force over or inside the area shown (cases.emergency), strictest first."""
    from cases.access import activations_for
    from govgrid import clock

    return list(activations_for(user).active(clock.now()).intersecting([area.path]).select_related("area")
                .order_by("level", "-starts_at")[:10])


def _crumbs(user, area: Area, period: board.Period) -> list[dict]:
    return [{"code": a.code, "name": a.name, "url": _drill(a.code, period)} for a in board.breadcrumb(user, area)]


def _child_level(area: Area) -> str:
    return str(Level(area.level + 1).label) if area.level < Level.GRID else ""


@reports_page
@require_GET
def map_json(request: HttpRequest) -> JsonResponse:
    """Child-area boundaries (simplified) with their figures, for the choropleth."""
    area, period, _form = _context(request)
    data = board.map_features(area, period.start, period.end)
    for feature in data["features"]:
        if feature["properties"]["drill"]:
            feature["properties"]["url"] = _drill(feature["properties"]["code"], period)
    return JsonResponse(data)


SCREEN_TILES = ("reported", "accepted", "closed", "closure_rate", "on_time_rate", "satisfaction_rate")


@reports_page
@require_GET
def screen(request: HttpRequest) -> HttpResponse:
    """The big screen 大屏: this month so far, the last 30 days' trend; refreshes itself every minute."""
    period, _form = board.parse_period(request.GET)
    area = board.report_area(request.user, request.GET.get("area") or None)
    data = board.dashboard(request.user, area, period, overdue_limit=8)
    day = board.today()
    data["charts"]["trend"] = board.trend_chart(board.trend_table(area, day - timedelta(days=29), day, "day"))
    query = _query(area.code, period)
    context = {**data, "query": query, "now": timezone.now(),
               "screen_tiles": [tile for tile in data["tiles"] if tile["name"] in SCREEN_TILES],
               "map_url": f"{reverse('reports:map_json')}?{query}",
               "breadcrumb": [{**crumb, "url": f"{reverse('reports:screen')}?area={crumb['code']}"}
                              for crumb in _crumbs(request.user, area, period)]}
    if request.headers.get("HX-Request"):
        return render(request, "reports/_screen_live.html", context)
    return render(request, "reports/screen.html", context)


@reports_page
def export_table(request: HttpRequest, table: str, fmt: str) -> HttpResponse:
    """``/reports/export/<table>.<csv|xlsx>``: a dashboard table, written now; the case list, by a worker."""
    if table == "cases":
        return _start_case_export(request, fmt)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    if table not in board.TABLES:
        raise Http404
    period, form = board.parse_period(request.GET)
    if form.errors:
        return HttpResponse("; ".join(str(e) for errors in form.errors.values() for e in errors), status=400,
                            content_type="text/plain; charset=utf-8")
    area = board.report_area(request.user, request.GET.get("area") or None)
    content, filename = exports.table_file(table, fmt, request.user, area, period)
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def _start_case_export(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.GET or request.POST
    period, _form = board.parse_period(params)
    area = board.report_area(request.user, params.get("area") or None)
    export_id = exports.new_job("cases", fmt, area, period.start, period.end, request.user)
    exports.enqueue_export(export_id, "cases", fmt, area, period.start, period.end, request.user,
                           language=get_language())
    return redirect("reports:export_status", export_id=export_id)


def _job(request: HttpRequest, export_id: str) -> dict:
    job = exports.get_job(export_id)
    if not job or job.get("user_id") != request.user.pk:  # another user's export does not exist for you
        raise Http404
    return job


@reports_page
@require_GET
def export_status(request: HttpRequest, export_id: str) -> HttpResponse:
    """Progress of an export (htmx polls the partial every 2 s) and its link once written."""
    job = _job(request, export_id)
    context = {"job": job, "export_id": export_id}
    if request.headers.get("HX-Request"):
        return render(request, "reports/_export_status.html", context)
    return render(request, "reports/export_status.html", context)


@reports_page
@require_GET
def export_download(request: HttpRequest, export_id: str) -> FileResponse:
    job = _job(request, export_id)
    if job.get("state") != "done" or not job.get("file") or not default_storage.exists(job["file"]):
        raise Http404
    return FileResponse(default_storage.open(job["file"], "rb"), as_attachment=True,
                        filename=job.get("filename") or job["file"].rsplit("/", 1)[-1],
                        content_type=exports.CONTENT_TYPES.get(job.get("fmt"), "application/octet-stream"))


@reports_page
@require_GET
def monthly(request: HttpRequest) -> HttpResponse:
    """The stored monthly reports of the towns in scope, newest month first, and any area on demand."""
    areas = visible_areas(request.user).defer("boundary")
    towns = {a.code: a for a in areas.filter(level=Level.TOWN).order_by("path")}
    stored = exports.stored_monthly(set(towns))
    months: dict[str, list[dict]] = {}
    for item in stored:
        months.setdefault(item["month"], []).append({**item, "area": towns[item["code"]],
                                                      "url": reverse("reports:monthly_pdf",
                                                                     args=[item["month"], item["code"]])})
    year, month = board.previous_month(board.today())
    return render(request, "reports/monthly.html", {
        "months": list(months.items()), "default_month": f"{year:04d}-{month:02d}",
        "areas": list(areas.filter(level__lte=Level.TOWN).order_by("path")),
    })


MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@reports_page
@require_GET
def monthly_pdf(request: HttpRequest, month: str, code: str) -> HttpResponse:
    """One area's report of one month: the stored file when beat wrote it, else made now."""
    match = MONTH.match(month)
    if not match or not 1 <= int(match[2]) <= 12:
        raise Http404
    year, number = int(match[1]), int(match[2])
    area = board.report_area(request.user, code)
    filename = f"{area.code}-{year:04d}-{number:02d}.pdf"
    path = exports.monthly_path(year, number, area.code)
    inline = request.GET.get("download") != "1"
    if default_storage.exists(path):
        return FileResponse(default_storage.open(path, "rb"), as_attachment=not inline, filename=filename,
                            content_type="application/pdf")
    content = exports.monthly_pdf(area, year, number, user=request.user)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


@reports_page
@require_GET
def monthly_go(request: HttpRequest) -> HttpResponse:
    """The monthly page's form: ``?area=&month=`` → that report."""
    month, code = request.GET.get("month", ""), request.GET.get("area", "")
    if not MONTH.match(month) or not code:
        return redirect("reports:monthly")
    return redirect("reports:monthly_pdf", month=month, code=code)


# --- unit evaluation 三考合一 ------------------------------------------------------------------------

EVALUATION_PERIODS = (("month", gettext_lazy("Month")), ("quarter", gettext_lazy("Quarter")),
                      ("year", gettext_lazy("Year")))


class EvaluationPeriodForm(forms.Form):
    """``?area=&period=month|quarter|year&year=&month=&quarter=``; what is left out is this month's,
    this quarter's or this year's."""

    area = forms.CharField(required=False, max_length=32)
    period = forms.ChoiceField(label=gettext_lazy("Period"), required=False, choices=EVALUATION_PERIODS)
    year = forms.IntegerField(label=gettext_lazy("Year"), required=False, min_value=2000, max_value=2100)
    month = forms.IntegerField(label=gettext_lazy("Month"), required=False, min_value=1, max_value=12)
    quarter = forms.IntegerField(label=gettext_lazy("Quarter"), required=False, min_value=1, max_value=4)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        day = board.today()
        kind = data.get("period") or "month"
        year = data.get("year") or day.year
        if kind == "month":
            number = data.get("month") or day.month
            start, end = board.month_bounds(year, number)
            label = f"{year:04d}-{number:02d}"
        elif kind == "quarter":
            number = data.get("quarter") or (day.month - 1) // 3 + 1
            start, end = board.month_bounds(year, number * 3 - 2)[0], board.month_bounds(year, number * 3)[1]
            label = _("%(year)s Q%(quarter)s") % {"year": year, "quarter": number}
        else:
            number = None
            start, end = board.month_bounds(year, 1)[0], board.month_bounds(year, 12)[1]
            label = str(year)
        data.update(period=kind, year=year, number=number, start=start, end=end, label=label,
                    quarter_of_month=(start.month - 1) // 3 + 1)
        return data


def _evaluation_query(area: Area, data: dict) -> str:
    params = {"area": area.code, "period": data["period"], "year": data["year"]}
    if data["period"] in ("month", "quarter"):
        params[data["period"]] = data["number"]
    return urlencode(params)


def _bad_period(form: EvaluationPeriodForm) -> str:
    """What was wrong with the period, each error after its field's label."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        parts.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return " ".join(parts)


@reports_page
@require_GET
def evaluation(request: HttpRequest) -> HttpResponse:
    """Units of an area ranked by their evaluation score (三考合一), each with its breakdown."""
    area = board.report_area(request.user, request.GET.get("area") or None)
    form = EvaluationPeriodForm(request.GET)
    context = {"area": area, "form": form, "top_areas": board.top_areas(request.user),
               "periods": EVALUATION_PERIODS, "components": [(name, label) for name, _f, label in COMPONENTS],
               "months": range(1, 13), "quarters": range(1, 5),
               "children": visible_areas(request.user).filter(parent=area, level__lte=Level.TOWN)
               .defer("boundary").order_by("code")}
    if not form.is_valid():
        return render(request, "reports/evaluation.html", {**context, "error": _bad_period(form)}, status=400)
    data = form.cleaned_data
    report = evaluation_report(area, data["start"], data["end"])
    return render(request, "reports/evaluation.html", {
        **context, **report, "period": data, "query": _evaluation_query(area, data),
    })


@reports_page
@require_GET
def evaluation_xlsx(request: HttpRequest) -> HttpResponse:
    """The evaluation page's table as XLSX: the same rows and numbers, one column per part of the score."""
    area = board.report_area(request.user, request.GET.get("area") or None)
    form = EvaluationPeriodForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_bad_period(form), status=400, content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    report = evaluation_report(area, data["start"], data["end"])
    filename = f"{area.code}-evaluation-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.xlsx"
    response = HttpResponse(exports.evaluation_xlsx(report, period_label=data["label"]),
                            content_type=exports.CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
