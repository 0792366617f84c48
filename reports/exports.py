"""Exports of the reports: CSV and XLSX of the dashboard's tables, the case list, and the monthly
safety report 平安报表 as PDF; the Celery tasks that build the large ones.

Small aggregate tables are written in the request (their cost follows areas and days). The case-level
export reads every case of an area and period, so it always runs in a worker (``build_export``): the
job's state lives in the cache under ``export:<id>`` and its file in the default storage under
``exports/<id>.<ext>``, served only to the user who asked for it. Beat builds each town's report of
the previous month on the 1st (``monthly_reports``), kept under ``reports/monthly/<yyyy-mm>/<code>.pdf``
and served through a view that checks scope.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.choices import Light
from cases.models import Case
from cases.selectors import visible_cases
from govgrid import replica
from grids.choices import Level
from grids.models import Area
from grids.scope import visible_areas
from reports import kpis, scoring
from reports.dashboard import (
    TABLES,
    Period,
    Table,
    auto_trend_period,
    category_table,
    department_table,
    dispute_figures,
    fmt_value,
    kpi_table,
    month_bounds,
    overdue_table,
    previous_month,
    ranking_table,
)

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
JOB_TIMEOUT = 24 * 3600  # a finished export's state (and link) stays a day
PROGRESS_EVERY = 500  # rows between two progress writes of the case export


# --- cells --------------------------------------------------------------------------------------


def _kind(column, row: dict[str, Any]) -> str:
    if column.kind == "mixed":  # the KPI table: each row says what it holds
        return {"count": "int"}.get(row["kind"], row["kind"])
    return column.kind


def _light_label(value: str) -> str:
    return str(dict(Light.choices).get(value, "")) if value else ""


def safe_text(value: Any) -> Any:
    """A text that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``) is quoted: names come
    from people, and a grid called ``=HYPERLINK(…)`` must stay a name in Excel."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_value(value: Any, kind: str) -> Any:
    """Rates as percentages with one decimal (the header says %), datetimes local, nothing as empty."""
    if value is None:
        return ""
    if kind == "rate":
        return round(value * 100, 1)
    if kind == "light":
        return _light_label(value)
    if kind == "datetime":
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return safe_text(value)


def csv_cells():
    """``csv_value`` for a million rows: the labels, the words for yes and no and the time zone looked up
    once, not once a cell (the same output; bench/exports.py)."""
    zone = timezone.get_current_timezone()
    lights = {value: str(label) for value, label in Light.choices}
    yes, no = _("yes"), _("no")

    def cell(value: Any, kind: str) -> Any:
        if value is None:
            return ""
        if kind == "datetime":
            return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        if kind == "light":
            return lights.get(value, "")
        if isinstance(value, bool):
            return yes if value else no
        if kind == "rate":
            return round(value * 100, 1)
        return safe_text(value)

    return cell


def header(column) -> str:
    return f"{column.label} (%)" if column.kind == "rate" else column.label


def table_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark: Excel on a Chinese Windows opens it without garbling."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header(column) for column in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(row.get(column.key), _kind(column, row)) for column in table.columns])
    return out.getvalue().encode("utf-8-sig")


LIGHT_FILLS = {"green": "1E8E3E", "yellow": "E6A100", "red": "D93025"}
NUMBER_FORMATS = {"rate": "0.0%", "hours": "0.0", "datetime": "yyyy-mm-dd hh:mm"}


def _sheet_title(title: str) -> str:
    for char in "[]:*?/\\":
        title = title.replace(char, " ")
    return title[:31] or "Sheet"


def table_xlsx(table: Table, *, title: str = "") -> bytes:
    """One sheet: a bold header row (frozen), rates as Excel percentages, lights as coloured cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(table.title)
    workbook.properties.title = title or table.title
    sheet.append([column.label for column in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        values = []
        for column in table.columns:
            value, kind = row.get(column.key), _kind(column, row)
            if kind == "light":
                value = _light_label(value)
            elif kind == "datetime" and value is not None:
                value = timezone.localtime(value).replace(tzinfo=None)
            values.append(safe_text(value))
        sheet.append(values)
        for index, column in enumerate(table.columns):
            kind = _kind(column, row)
            cell = sheet.cell(row=sheet.max_row, column=index + 1)
            if kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[kind]
            if kind == "light" and row.get(column.key) in LIGHT_FILLS:
                cell.fill = PatternFill("solid", fgColor=LIGHT_FILLS[row[column.key]])
                cell.font = Font(color="FFFFFF", bold=True)
    for index, column in enumerate(table.columns, 1):
        width = max([len(column.label)] + [len(str(row.get(column.key) or "")) for row in table.rows[:200]])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(8, width * 1.6), 40)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def table_file(name: str, fmt: str, user, area: Area, period: Period) -> tuple[bytes, str]:
    """(content, file name) of one dashboard table."""
    table = TABLES[name](user, area, period)
    filename = f"{area.code}-{name}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt}"
    title = f"{area.name} · {table.title} · {period.start} – {period.end}"
    return (table_csv(table) if fmt == "csv" else table_xlsx(table, title=title)), filename


def evaluation_xlsx(report: dict[str, Any], *, period_label: str = "") -> bytes:
    """The unit evaluation 三考合一 (``reports.evaluation.evaluation_report``) as one sheet: per unit its
    rank, each component's value, applied weight and points, the negative-list deduction and the score;
    a second sheet holds the configured weights."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(_("Unit evaluation"))
    workbook.properties.title = f"{report['area']['name']} · {_('Unit evaluation')} · {period_label}"
    head = [_("Rank"), _("Unit"), _("Kind"), _("Area served")]
    for weight in report["weights"]:
        head += [f"{weight['label']}", f"{weight['label']} · {_('weight (%)')}", f"{weight['label']} · {_('points')}"]
    head += [_("Weighted total"), _("Negative-list events"), _("Points deducted"), _("Score")]
    sheet.append(head)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    kinds = {"department": _("department"), "centre": _("centre")}
    for row in report["rows"]:
        values: list[Any] = [row["rank"], safe_text(row["unit"]["name"]), str(kinds[row["unit"]["kind"]]),
                             safe_text(row["unit"]["area"])]
        for component in row["components"]:
            values += [component["value"], component["applied_weight"], component["points"]]
        values += [row["weighted"], row["negative_events"], row["deduction"], row["score"]]
        sheet.append(values)
    for index, label in enumerate(head, 1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(8, len(str(label)) * 1.6), 30)
    sheet.freeze_panes = "C2"
    weights = workbook.create_sheet(_sheet_title(_("Weights")))
    weights.append([_("Component"), _("weight (%)")])
    for weight in report["weights"]:
        weights.append([weight["label"], weight["weight"]])
    weights.append([])
    weights.append([_("Period"), period_label or f"{report['start']} – {report['end']}"])
    weights.append([_("As of"), report["as_of"].isoformat()])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- the case list (large: always in a worker) ----------------------------------------------------


def local_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=zone), datetime.combine(end + timedelta(days=1), time.min,
                                                                              tzinfo=zone))


def case_columns() -> list[tuple[str, str, str]]:
    return [
        ("number", _("Number"), "text"), ("family", _("Category family"), "text"),
        ("category", _("Category"), "text"), ("status", _("Status"), "text"), ("channel", _("Channel"), "text"),
        ("grid_code", _("Grid code"), "text"), ("grid", _("Grid"), "text"),
        ("reported_at", _("Reported at"), "datetime"), ("accepted_at", _("Accepted at"), "datetime"),
        ("handle_due_at", _("Handle by"), "datetime"), ("closed_at", _("Closed at"), "datetime"),
        ("closed_on_time", _("Closed on time"), "bool"), ("light", _("Light"), "light"),
        ("supervision", _("Supervision"), "text"), ("satisfaction", _("Satisfaction"), "text"),
        ("legacy", _("Legacy issue"), "bool"),
    ]


def export_cases(user, area: Area, start: date, end: date):
    """Cases of ``area``'s subtree reported in the period that ``user`` may see: (count, row iterator)."""
    since, until = local_day_bounds(start, end)
    cases = visible_cases(user) if user is not None else Case.objects.all()
    queryset = cases.filter(area_path__startswith=area.path, reported_at__gte=since, reported_at__lt=until)
    fields = Case._meta
    labels = {name: dict(fields.get_field(name).choices) for name in ("status", "channel", "supervision",
                                                                        "satisfaction")}
    values = queryset.order_by("reported_at", "id").values_list(
        "id", "category__parent__name", "category__name", "status", "channel", "grid__code", "grid__name",
        "reported_at", "accepted_at", "handle_due_at", "closed_at", "closed_on_time", "light", "supervision",
        "satisfaction", "is_legacy",
    )

    def rows():
        for (pk, family, category, status, channel, grid_code, grid, reported_at, accepted_at, due, closed_at,
             on_time, light, supervision, satisfaction, legacy) in values.iterator(chunk_size=2000):
            yield {
                "number": f"{reported_at:%Y%m%d}-{pk:06d}", "family": family or "", "category": category,  # Case.number
                "status": str(labels["status"].get(status, status)), "channel": str(labels["channel"].get(channel,
                                                                                                        channel)),
                "grid_code": grid_code, "grid": grid, "reported_at": reported_at, "accepted_at": accepted_at,
                "handle_due_at": due, "closed_at": closed_at, "closed_on_time": on_time, "light": light,
                "supervision": str(labels["supervision"].get(supervision, "")) if supervision else "",
                "satisfaction": str(labels["satisfaction"].get(satisfaction, "")) if satisfaction else "",
                "legacy": legacy,
            }

    return queryset.count(), rows()


def write_cases(fmt: str, count: int, rows, progress, out) -> None:
    """The case list as CSV or XLSX into the binary file ``out``, a row at a time: memory stays flat
    whatever the number of cases (CSV through a text wrapper; XLSX in openpyxl's write-only mode, whose
    sheet goes to a temporary file until the workbook is zipped into ``out``). bench/exports.py."""
    columns = case_columns()
    if fmt == "csv":
        cell = csv_cells()
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow([label for _key, label, _kind in columns])
        for index, row in enumerate(rows, 1):
            writer.writerow([cell(row[key], kind) for key, _label, kind in columns])
            if index % PROGRESS_EVERY == 0:
                progress(index, count)
        text.flush()
        text.detach()  # leave ``out`` open for the caller
        return
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(_("Cases")))
    sheet.freeze_panes = "A2"
    head = []
    for _key, label, _kind in columns:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        head.append(cell)
    sheet.append(head)
    zone = timezone.get_current_timezone()
    lights = {value: str(label) for value, label in Light.choices}
    for index, row in enumerate(rows, 1):
        values = []
        for key, _label, kind in columns:
            value = row[key]
            if kind == "datetime" and value is not None:
                cell = WriteOnlyCell(sheet, value=value.astimezone(zone).replace(tzinfo=None))
                cell.number_format = NUMBER_FORMATS["datetime"]
                values.append(cell)
                continue
            values.append(lights.get(value, "") if kind == "light" else safe_text(value))
        sheet.append(values)
        if index % PROGRESS_EVERY == 0:
            progress(index, count)
    workbook.save(out)


# --- jobs -----------------------------------------------------------------------------------------


def job_key(export_id: str) -> str:
    return f"export:{export_id}"


def get_job(export_id: str) -> dict[str, Any] | None:
    return cache.get(job_key(export_id))


def set_job(export_id: str, **changes: Any) -> dict[str, Any]:
    job = {**(get_job(export_id) or {}), **changes}
    cache.set(job_key(export_id), job, JOB_TIMEOUT)
    return job


def new_job(kind: str, fmt: str, area: Area, start: date, end: date, user) -> str:
    export_id = uuid.uuid4().hex
    set_job(export_id, state="pending", progress=0, url="", kind=kind, fmt=fmt, area=area.code,
            area_name=area.name, start=start.isoformat(), end=end.isoformat(), user_id=user.pk, file="",
            filename=f"{area.code}-{kind}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}", error="")
    return export_id


def enqueue_export(export_id: str, kind: str, fmt: str, area: Area, start: date, end: date, user, *,
                   language: str | None = None) -> bool:
    """Send the job to a worker; False (and the job marked failed) when the broker cannot be reached."""
    arguments = {"kind": kind, "area_code": area.code, "start": start.isoformat(), "end": end.isoformat(),
                 "user_id": user.pk, "fmt": fmt, "export_id": export_id, "language": language}
    try:
        if build_export.app.conf.task_always_eager:
            build_export.apply_async(kwargs=arguments)
            return True
        with build_export.app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            build_export.apply_async(kwargs=arguments, retry=False, ignore_result=True, producer=producer)
    except Exception:  # the broker is down: say so now rather than poll forever
        logger.warning("could not enqueue export %s", export_id, exc_info=True)
        set_job(export_id, state="failed", error=_("The export could not be started; try again later."))
        return False
    return True


@shared_task(acks_late=True)
def build_export(kind: str, area_code: str, start: str, end: str, user_id: int | None, fmt: str = "xlsx",
                 export_id: str | None = None, language: str | None = None) -> str:
    """Write one export to ``exports/<id>.<fmt>`` and keep its progress in the cache; returns the id.

    ``kind`` is ``"cases"`` (every case of the area reported in the period, as the user may see them)
    or the name of a dashboard table. Scope is checked again here: the job runs as ``user_id``. It reads
    from the read replica where allowed (govgrid.replica): not while that user's own changes may be
    missing there.
    """
    export_id = export_id or uuid.uuid4().hex
    return replica.reads_on_replica(
        lambda: _build_export(kind, area_code, start, end, user_id, fmt, export_id, language), user_id)


def _build_export(kind: str, area_code: str, start: str, end: str, user_id: int | None, fmt: str,
                  export_id: str, language: str | None) -> str:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id else None
    with translation.override(language or settings.LANGUAGE_CODE):
        try:
            area = (visible_areas(user) if user is not None else Area.objects).defer("boundary").get(code=area_code)
        except Area.DoesNotExist:
            set_job(export_id, state="failed", progress=0, error=_("No such area."))
            return export_id
        if get_job(export_id) is None:  # called directly, not through a page
            set_job(export_id, kind=kind, fmt=fmt, area=area.code, area_name=area.name, start=start, end=end,
                    user_id=user_id, filename=f"{area.code}-{kind}-{first:%Y%m%d}-{last:%Y%m%d}.{fmt}", error="")
        set_job(export_id, state="running", progress=0)

        def progress(done: int, total: int) -> None:
            set_job(export_id, progress=min(99, int(done * 100 / max(total, 1))))

        try:
            if kind == "cases":
                count, rows = export_cases(user, area, first, last)
                # Written to a temporary file and handed to the storage as a file: a million cases
                # never sit in memory whole.
                with tempfile.TemporaryFile() as out:
                    write_cases(fmt, count, rows, progress, out)
                    out.seek(0)
                    path = default_storage.save(f"exports/{export_id}.{fmt}", File(out))
            else:
                period = Period(first, last, "", auto_trend_period(first, last))
                content, _name = table_file(kind, fmt, user, area, period)
                path = default_storage.save(f"exports/{export_id}.{fmt}", ContentFile(content))
        except Exception as exc:
            logger.exception("export %s failed", export_id)
            set_job(export_id, state="failed", error=str(exc)[:200])
            raise
    set_job(export_id, state="done", progress=100, file=path,
            url=reverse("reports:export_download", args=[export_id]))
    return export_id


# --- the monthly safety report 平安报表 (PDF) ----------------------------------------------------------

FONT = "STSong-Light"
_font_registered = False


def _register_font() -> None:
    global _font_registered
    if not _font_registered:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _font_registered = True


def _party_section(area: Area, user, grid, styles) -> list[Any]:
    """The party-building network (两网融合) of the area when the report is made (parties.party_figures)."""
    from reportlab.platypus import Paragraph

    from parties.party_figures import COMPOUND_MEMBERS, party_figures

    figures = party_figures(user, area)
    total = figures["total"]

    def dash(value) -> str:
        return "—" if value is None else str(value)

    rows = [[_("Area"), _("Party groups on grids"), _("Party grid workers"), _("Households per worker"),
             _("Party-member building heads"), _("Compounds with their own organisation")]]
    rows += [[row["area"].name, row["grid_groups"], row["grid_workers"], dash(row["households_per_worker"]),
              row["building_heads"], f"{row['compounds_with_org']} / {row['compounds']}"] for row in figures["rows"]]
    return [
        Paragraph(_("Party network"), styles["h2"]),
        Paragraph(_("%(groups)s party groups on %(grids)s grids (%(per_grid)s per grid); %(workers)s party grid "
                    "workers, %(households)s households each; %(heads)s party-member building heads; %(share)s of "
                    "compounds with %(n)s or more party members have their own party organisation.") % {
            "groups": total["grid_groups"], "grids": total["grids"], "per_grid": dash(total["groups_per_grid"]),
            "workers": total["grid_workers"], "households": dash(total["households_per_worker"]),
            "heads": total["building_heads"], "n": COMPOUND_MEMBERS,
            "share": "—" if total["compound_share"] is None else f"{total['compound_share']} %"}, styles["summary"]),
        grid(rows, [0.25, 0.15, 0.15, 0.15, 0.15, 0.15]),
    ]


def monthly_pdf(area: Area, year: int, month: int, *, user=None, now: datetime | None = None) -> bytes:
    """One to three A4 pages: title, period, KPIs against the month before, child areas with lights,
    categories, the department league and the longest overdue cases."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    _register_font()
    start, end = month_bounds(year, month)
    change = kpis.change_from_previous(area, start, end)
    now = now or timezone.now()
    title = _("%(area)s monthly safety report") % {"area": area.name}
    styles = {
        "title": ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, alignment=TA_CENTER,
                                spaceAfter=2 * mm),
        "sub": ParagraphStyle("sub", fontName=FONT, fontSize=9, leading=13, alignment=TA_CENTER,
                              textColor=colors.HexColor("#5d6b7a")),
        "h2": ParagraphStyle("h2", fontName=FONT, fontSize=12, leading=16, spaceBefore=5 * mm, spaceAfter=2 * mm,
                             textColor=colors.HexColor("#b3261e"), keepWithNext=1),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=11),
        "summary": ParagraphStyle("summary", fontName=FONT, fontSize=10.5, leading=16, borderPadding=(6, 8, 6, 8),
                                  backColor=colors.HexColor("#f4f6f9"), borderColor=colors.HexColor("#dde3ea"),
                                  borderWidth=0.5, spaceBefore=2 * mm),
        "note": ParagraphStyle("note", fontName=FONT, fontSize=8, leading=11, textColor=colors.HexColor("#5d6b7a")),
    }
    width = A4[0] - 30 * mm

    def grid(rows: list[list[Any]], widths: list[float], *, numbers_from: int = 1,
             lights: list[tuple[int, int, str]] = ()) -> PdfTable:
        data = [[Paragraph(str(value), styles["cell"]) if isinstance(value, str) and len(value) > 18 else value
                 for value in row] for row in rows]
        table = PdfTable(data, colWidths=[w * width for w in widths], repeatRows=1)
        style = [
            ("FONT", (0, 0), (-1, -1), FONT, 8.5), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.HexColor("#3c4650")),
            ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#dde3ea")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (numbers_from, 0), (-1, -1), "RIGHT"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ]
        for column, row, light in lights:
            style += [("BACKGROUND", (column, row), (column, row), colors.HexColor("#" + LIGHT_FILLS[light])),
                      ("TEXTCOLOR", (column, row), (column, row), colors.white),
                      ("ALIGN", (column, row), (column, row), "CENTER")]
        table.setStyle(TableStyle(style))
        return table

    def pct(value: float | None) -> str:
        return fmt_value(value, "rate")

    story: list[Any] = [
        Paragraph(title, styles["title"]),
        Paragraph(_("%(start)s to %(end)s · compared with %(pstart)s to %(pend)s · made %(now)s") % {
            "start": start, "end": end, "pstart": change["previous"]["start"], "pend": change["previous"]["end"],
            "now": timezone.localtime(now).strftime("%Y-%m-%d %H:%M")}, styles["sub"]),
        Spacer(1, 3 * mm),
        Paragraph(_("In the month %(reported)s cases were reported and %(accepted)s accepted; %(closed)s were "
                    "closed, %(on_time)s of those due on time (previous month: %(previous)s).") % {
            "reported": change["counts"]["reported"]["current"], "accepted": change["counts"]["accepted"]["current"],
            "closed": change["counts"]["closed"]["current"], "on_time": pct(change["rates"]["on_time_rate"]["current"]),
            "previous": pct(change["rates"]["on_time_rate"]["previous"])}, styles["summary"]),
    ]
    safety = scoring.safety_index(area, year, month)
    story.append(Paragraph(_("Safety index"), styles["h2"]))
    rows = [[_("Safety index"), _("Residents"), _("Indicator"), _("Cases"), _("Per 10,000 residents"),
             _("Points off")]]
    score = "—" if safety["score"] is None else f"{safety['score']:.1f}"
    for index, term in enumerate(safety["indicators"] or [{}]):
        rows.append([score if index == 0 else "", f"{safety['population']:,}" if index == 0 else "",
                     term.get("name", ""), term.get("count", ""), term.get("per_10k", ""), term.get("points_off", "")])
    table = grid(rows, [0.14, 0.14, 0.27, 0.13, 0.18, 0.14], numbers_from=3,
                 lights=[(0, 1, safety["light"])] if safety["light"] else [])
    table.setStyle(TableStyle([("SPAN", (0, 1), (0, -1)), ("SPAN", (1, 1), (1, -1)), ("FONT", (0, 1), (0, 1), FONT, 20),
                               ("ALIGN", (0, 1), (1, -1), "CENTER")]))
    story.append(table)
    story.append(Paragraph(_("100 less, for each indicator, its weight times its cases per 10,000 residents."),
                           styles["note"]))
    story.append(Paragraph(_("Key figures"), styles["h2"]))
    kpi = kpi_table(change)
    rows = [[_("Indicator"), _("This month"), _("Previous month"), _("Change on previous month")]]
    for row in kpi.rows:
        kind = row["kind"]
        now_value = fmt_value(row["current"], "int" if kind == "count" else kind)
        then_value = fmt_value(row["previous"], "int" if kind == "count" else kind)
        delta = row["delta"]
        if delta is None or delta == 0:
            moved = "—" if delta is None else "="
        elif kind == "count":
            moved = f"{'+' if delta > 0 else ''}{delta}"
        elif kind == "rate":
            moved = _("%(points)s pts") % {"points": f"{delta * 100:+.1f}"}
        else:
            moved = _("%(hours)s h") % {"hours": f"{delta:+.1f}"}
        rows.append([row["name"], now_value, then_value, moved])
    story.append(grid(rows, [0.4, 0.2, 0.2, 0.2]))

    if not area.is_grid:
        ranking = ranking_table(area, start, end)
        indices = {row["area"]["code"]: row for row in scoring.safety_ranking(area, year, month)}
        story.append(Paragraph(_("Ranking of areas by on-time closure"), styles["h2"]))
        rows = [[_("Rank"), _("Area"), _("Light"), _("On-time closure rate"), _("Reported"), _("Due and closed"),
                 _("Went overdue"), _("Safety index")]]
        lights = []
        for index, row in enumerate(ranking.rows, 1):
            safe = indices.get(row["code"], {})
            rows.append([row["rank"], row["name"], _light_label(row["light"]) or "—", pct(row["on_time_rate"]),
                         row["reported"], row["closed"], row["overdue"],
                         "—" if safe.get("score") is None else f"{safe['score']:.1f}"])
            if row["light"]:
                lights.append((2, index, row["light"]))
            if safe.get("light"):
                lights.append((7, index, safe["light"]))
        story.append(grid(rows, [0.07, 0.27, 0.09, 0.15, 0.1, 0.1, 0.11, 0.11], numbers_from=3, lights=lights))
        story.append(Paragraph(_("Lights: green at %(green)s or more on time, yellow at %(yellow)s or more, red "
                                 "below.") % {"green": pct(0.9), "yellow": pct(0.75)}, styles["note"]))

    categories = category_table(area, start, end)
    story.append(Paragraph(_("Cases by category"), styles["h2"]))
    rows = [[_("Category"), _("Reported"), _("Share of reports"), _("Due"), _("On-time closure rate")]]
    for row in categories.rows:
        rows.append([row["name"], row["reported"], pct(row["share"]), row["due"], pct(row["on_time_rate"])])
    if len(rows) == 1:
        rows.append([_("No cases in the period."), "", "", "", ""])
    story.append(grid(rows, [0.36, 0.16, 0.16, 0.16, 0.16]))

    departments = department_table(area, start, end)
    story.append(Paragraph(_("Department league table"), styles["h2"]))
    rows = [[_("Rank"), _("Department"), _("On-time closure rate"), _("Dispatches"), _("Dispatched and returned"),
             _("Rework rate"), _("Satisfaction rate"), _("Supervisions")]]
    lights = []
    for index, row in enumerate(departments.rows[:15], 1):
        rows.append([row["rank"], row["name"], pct(row["on_time_rate"]), row["dispatched"], row["returned"],
                     pct(row["rework_rate"]), pct(row["satisfaction_rate"]), row["supervised"]])
        if row["light"]:
            lights.append((2, index, row["light"]))
    if len(rows) == 1:
        rows.append(["", _("No dispatches in the period."), "", "", "", "", "", ""])
    story.append(grid(rows, [0.06, 0.29, 0.12, 0.1, 0.1, 0.1, 0.12, 0.11], numbers_from=2, lights=lights))

    disputes = dispute_figures(area, start, end)
    coverage = disputes["coverage"]
    story.append(Paragraph(_("Disputes: screening and resolution"), styles["h2"]))
    total = disputes["total"][0]
    story.append(Paragraph(_("Screening coverage %(rate)s (%(reported)s of %(grids)s grids reported, %(zero)s zero "
                             "reports); %(accepted)s disputes accepted, %(resolved)s resolved by mediation "
                             "(resolution rate %(resolution)s).") % {
        "rate": pct(coverage.rate), "reported": coverage.reported, "grids": coverage.grids, "zero": coverage.zero,
        "accepted": total.accepted, "resolved": total.resolved, "resolution": pct(total.rate)}, styles["summary"]))
    rows = [[_("Dispute type"), _("Accepted"), _("Resolved"), _("Resolution rate")]]
    rows += [[row.label, row.accepted, row.resolved, pct(row.rate)] for row in disputes["by_type"]]
    rows += [[_("%(level)s centres") % {"level": row.label}, row.accepted, row.resolved, pct(row.rate)]
             for row in disputes["by_level"]]
    if len(rows) == 1:
        rows.append([_("No disputes registered in the period."), "", "", ""])
    story.append(grid(rows, [0.46, 0.18, 0.18, 0.18]))
    if disputes["children"]:
        rows = [[_("Area"), _("Grids"), _("Reported"), _("Zero reports"), _("Coverage")]]
        rows += [[row.area.name, row.grids, row.reported, row.zero, pct(row.rate)] for row in disputes["children"]]
        story.append(grid(rows, [0.36, 0.16, 0.16, 0.16, 0.16]))

    story += _party_section(area, user, grid, styles)

    overdue = overdue_table(area, user, limit=10, now=now)
    story.append(Paragraph(_("Longest overdue open cases"), styles["h2"]))
    rows = [[_("Number"), _("Category"), _("Grid"), _("Deadline"), _("Hours overdue")]]
    for row in overdue.rows:
        rows.append([row["number"], row["category"], row["grid"], fmt_value(row["due_at"], "datetime"),
                     f"{row['overdue_hours']:.1f}"])
    if len(rows) == 1:
        rows.append([_("No overdue cases."), "", "", "", ""])
    story.append(grid(rows, [0.22, 0.22, 0.22, 0.2, 0.14], numbers_from=3))
    story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(_("Figures of the month come from the case counters; overdue cases are those open "
                             "and past their deadline when the report was made."), styles["note"]))

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#5d6b7a"))
        canvas.drawString(15 * mm, 10 * mm, f"{title} · {year}-{month:02d}")
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, _("Page %(page)s") % {"page": doc.page})
        canvas.restoreState()

    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
                                 bottomMargin=16 * mm, title=f"{title} {year}-{month:02d} ({area.code})",
                                 author="GovGrid", subject=area.code)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def monthly_path(year: int, month: int, code: str) -> str:
    return f"reports/monthly/{year:04d}-{month:02d}/{code}.pdf"


def store_monthly(area: Area, year: int, month: int) -> str:
    path = monthly_path(year, month, area.code)
    if default_storage.exists(path):  # a rerun replaces the month's file rather than adding a copy
        default_storage.delete(path)
    return default_storage.save(path, ContentFile(monthly_pdf(area, year, month)))


@shared_task(acks_late=True)
def monthly_reports(year: int | None = None, month: int | None = None) -> dict[str, Any]:
    """Beat, on the 1st at 06:00: the previous month's report of every town, stored for the monthly page.

    Each town's report reads the counters of one town and two months, so a city of a few hundred towns
    takes seconds; a failing town is logged and the others still get theirs.
    """
    if year is None or month is None:
        year, month = previous_month(timezone.localdate())
    written, failed = [], []
    with translation.override(settings.LANGUAGE_CODE):
        for town in Area.objects.filter(level=Level.TOWN).defer("boundary").order_by("path"):
            try:
                written.append(store_monthly(town, year, month))
            except Exception:
                logger.exception("monthly report of %s for %04d-%02d failed", town.code, year, month)
                failed.append(town.code)
    return {"month": f"{year:04d}-{month:02d}", "written": len(written), "failed": failed}


def stored_monthly(codes: set[str] | None) -> list[dict[str, Any]]:
    """Stored monthly reports, newest month first: ``[{"month", "code"}]``, limited to ``codes`` if given."""
    try:
        months, _files = default_storage.listdir("reports/monthly")
    except FileNotFoundError:
        return []
    found = []
    for month in sorted(months, reverse=True):
        _dirs, files = default_storage.listdir(f"reports/monthly/{month}")
        for name in sorted(files):
            code = name.removesuffix(".pdf")
            if name.endswith(".pdf") and (codes is None or code in codes):
                found.append({"month": month, "code": code})
    return found
