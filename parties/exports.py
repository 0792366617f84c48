"""Exports of residents as CSV or XLSX: the people in the user's scope, ID and phone numbers masked.

An export is personal data leaving the system, masked or not (names, birth dates and addresses are
personal data too), so every one is logged through ``parties.actions.log_export`` (who, when, what,
how many rows, why) before the file is handed over, and needs a stated reason. The file holds only the
``*_masked`` columns: nothing is decrypted. A small export is written in the request; a large one
(more than ``INLINE_MAX_ROWS``) by a worker (``build_resident_export``), its state in the cache under
``resident-export:<id>`` and its file under ``exports/residents/<id>.<fmt>``, served only to the user
who asked, like reports' export jobs.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from grids.models import Area
from parties import actions, selectors
from parties.choices import RelationToHead, ResidenceKind, Sex
from parties.models import Resident

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
INLINE_MAX_ROWS = 20_000
PROGRESS_EVERY = 2000
JOB_TIMEOUT = 24 * 3600


@dataclass(frozen=True)
class ExportFilter:
    """Which residents: an area subtree (a code the user can see), a residence kind, moved-out ones too."""

    area_code: str = ""
    residence_kind: str = ""
    include_moved_out: bool = False

    def describe(self) -> str:
        parts = [self.area_code or _("all in scope")]
        if self.residence_kind:
            parts.append(str(ResidenceKind(self.residence_kind).label))
        if self.include_moved_out:
            parts.append(_("moved out included"))
        return ", ".join(parts)


def columns() -> list[tuple[str, str]]:
    return [
        ("name", _("Name")), ("id_number", _("ID card number (masked)")), ("sex", _("Sex")),
        ("birth_date", _("Birth date")), ("phone", _("Phone number (masked)")),
        ("residence_kind", _("Residence kind")), ("grid_code", _("Grid code")), ("grid", _("Grid")),
        ("address", _("Address")), ("unit", _("Unit")), ("room", _("Room")), ("household", _("Household number")),
        ("relation", _("Relation to the head of household")), ("moved_in", _("Moved in on")),
        ("moved_out", _("Moved out on")),
    ]


def residents_for_export(user, selection: ExportFilter) -> QuerySet[Resident]:
    """The residents ``user`` may see (``user=None``: everyone, for the system), narrowed by ``selection``.

    An area code outside the user's scope selects nobody, the same as a code that does not exist.
    """
    queryset = selectors.visible_residents(user) if user is not None else Resident.objects.all()
    if selection.area_code:
        path = Area.objects.filter(code=selection.area_code).values_list("path", flat=True).first()
        queryset = queryset.filter(area_path__startswith=path) if path else queryset.none()
    if selection.residence_kind:
        queryset = queryset.filter(residence_kind=selection.residence_kind)
    if not selection.include_moved_out:
        queryset = queryset.filter(moved_out_on__isnull=True)
    return queryset


def safe_text(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is quoted: names come from people (and from imports)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _rows(queryset: QuerySet[Resident]) -> Iterator[list[Any]]:
    kinds, sexes, relations = dict(ResidenceKind.choices), dict(Sex.choices), dict(RelationToHead.choices)
    values = queryset.order_by("area_path", "pk").values_list(
        "name", "id_number_masked", "sex", "birth_date", "phone_masked", "residence_kind", "grid__code",
        "grid__name", "house__building__address", "house__unit", "house__room", "household__number",
        "relation_to_head", "moved_in_on", "moved_out_on",
    )
    for (name, id_masked, sex, birth, phone_masked, kind, grid_code, grid, address, unit, room, household,
         relation, moved_in, moved_out) in values.iterator(chunk_size=2000):
        yield [safe_text(name), id_masked, str(sexes.get(sex, "")), birth, phone_masked, str(kinds.get(kind, kind)),
               grid_code, safe_text(grid), safe_text(address or ""), safe_text(unit or ""), safe_text(room or ""),
               safe_text(household or ""), str(relations.get(relation, "")) if relation else "", moved_in, moved_out]


def write_residents(fmt: str, queryset: QuerySet[Resident], *, count: int = 0,
                    progress: Callable[[int, int], None] | None = None) -> bytes:
    """CSV (UTF-8 with a BOM, so Excel on a Chinese Windows opens it) or XLSX (write-only: flat memory)."""
    heads = [label for _key, label in columns()]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(heads)
        for index, row in enumerate(_rows(queryset), 1):
            writer.writerow(["" if v is None else v for v in row])
            if progress and index % PROGRESS_EVERY == 0:
                progress(index, count)
        return out.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Residents")[:31])
    sheet.freeze_panes = "A2"
    head_cells = []
    for label in heads:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        head_cells.append(cell)
    sheet.append(head_cells)
    for index, row in enumerate(_rows(queryset), 1):
        sheet.append(row)
        if progress and index % PROGRESS_EVERY == 0:
            progress(index, count)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_filename(selection: ExportFilter, fmt: str) -> str:
    # Only code characters reach the header: a name from the query string must not split it.
    code = re.sub(r"[^0-9A-Za-z_-]", "", selection.area_code or "")[:40]
    return f"residents-{code or 'scope'}.{fmt}"


def export_residents(user, selection: ExportFilter, fmt: str, *, reason: str) -> tuple[bytes, str, int]:
    """Write the export now and log it: (content, file name, rows). The reason is checked (and the
    log row written) before the file is made, so a refused reason costs nothing."""
    queryset = residents_for_export(user, selection)
    count = queryset.count()
    actions.log_export(user, _("residents (masked), %(what)s, %(fmt)s") % {"what": selection.describe(),
                                                                           "fmt": fmt.upper()}, count, reason)
    return write_residents(fmt, queryset, count=count), export_filename(selection, fmt), count


# --- jobs (large exports) -------------------------------------------------------------------------


def job_key(job_id: str) -> str:
    return f"resident-export:{job_id}"


def get_job(job_id: str) -> dict[str, Any] | None:
    return cache.get(job_key(job_id))


def set_job(job_id: str, **changes: Any) -> dict[str, Any]:
    job = {**(get_job(job_id) or {}), **changes}
    cache.set(job_key(job_id), job, JOB_TIMEOUT)
    return job


def start_export_job(user, selection: ExportFilter, fmt: str, *, reason: str, count: int) -> dict[str, Any]:
    """Log the export (the reason is checked here, in the request), record the job, send it to a worker."""
    actions.log_export(user, _("residents (masked), %(what)s, %(fmt)s") % {"what": selection.describe(),
                                                                           "fmt": fmt.upper()}, count, reason)
    job_id = uuid.uuid4().hex
    job = set_job(job_id, id=job_id, state="pending", progress=0, fmt=fmt, user_id=user.pk, file="", error="",
                  filename=export_filename(selection, fmt), count=count)
    arguments = {"job_id": job_id, "user_id": user.pk, "fmt": fmt, "area_code": selection.area_code,
                 "residence_kind": selection.residence_kind, "include_moved_out": selection.include_moved_out,
                 "language": translation.get_language()}
    try:
        if build_resident_export.app.conf.task_always_eager:
            build_resident_export.apply_async(kwargs=arguments)
            return get_job(job_id) or job
        with build_resident_export.app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            build_resident_export.apply_async(kwargs=arguments, retry=False, ignore_result=True, producer=producer)
    except Exception:
        logger.warning("could not enqueue resident export %s", job_id, exc_info=True)
        return set_job(job_id, state="failed", error=_("The export could not be started; try again later."))
    return job


@shared_task(acks_late=True)
def build_resident_export(job_id: str, user_id: int, fmt: str, area_code: str = "", residence_kind: str = "",
                          include_moved_out: bool = False, language: str | None = None) -> str:
    """Write one logged export to storage as ``user_id`` (scope read again here); progress in the job."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    with translation.override(language or settings.LANGUAGE_CODE):
        if user is None:
            set_job(job_id, state="failed", error=_("No such user."))
            return job_id
        set_job(job_id, state="running", progress=1)
        selection = ExportFilter(area_code, residence_kind, include_moved_out)
        queryset = residents_for_export(user, selection)
        count = queryset.count()
        try:
            content = write_residents(fmt, queryset, count=count, progress=lambda done, total: set_job(
                job_id, progress=min(99, int(done * 100 / max(total, 1)))))
            path = default_storage.save(f"exports/residents/{job_id}.{fmt}", ContentFile(content))
        except Exception as exc:
            logger.exception("resident export %s failed", job_id)
            set_job(job_id, state="failed", error=str(exc)[:200])
            raise
    set_job(job_id, state="done", progress=100, file=path)
    return job_id


# The worker finds tasks in ``tasks`` and ``exports`` modules (govgrid/celery.py); the import job lives
# beside its importer, so it is registered from here.
from parties.importer import run_import_job  # noqa: E402, F401
