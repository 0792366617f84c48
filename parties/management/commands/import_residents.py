"""``manage.py import_residents FILE [--dry-run]``: load residents from a CSV or XLSX form, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parties.importer import ResidentImportError, check_file, file_format, import_file


class Command(BaseCommand):
    help = (
        "Import residents from a .csv or .xlsx file laid out like the template (GET "
        "/api/v1/residents/import/template.xlsx). The whole file is checked first; if any row is bad every "
        "problem is listed by row number and nothing is written. --dry-run only checks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .csv (UTF-8 or GBK) or .xlsx file")
        parser.add_argument("--dry-run", action="store_true",
                            help="check the file and list its problems; write nothing")

    def handle(self, *args: Any, file: Path, dry_run: bool, **options: Any) -> None:
        fmt = file_format(file.name)
        if fmt is None:
            raise CommandError(_("Only .csv and .xlsx files can be imported."))
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc}) from exc

        if dry_run:
            result = check_file(content, fmt)
            if not result.ok:
                raise CommandError(self._problems(result.problems, file))
            summary = result.summary()
            self.stdout.write(self.style.SUCCESS(
                _("%(file)s: %(rows)d rows, no problems; an import would add %(residents)d residents, "
                  "%(buildings)d buildings, %(houses)d houses and %(households)d households. Nothing was written.")
                % {"file": file, "rows": summary["rows"], "residents": summary["residents"],
                   "buildings": summary["new_buildings"], "houses": summary["new_houses"],
                   "households": summary["new_households"]}))
            return
        try:
            written = import_file(content, fmt)
        except ResidentImportError as exc:
            raise CommandError(self._problems(exc.problems, file)) from exc
        self.stdout.write(self.style.SUCCESS(
            _("Imported %(residents)d residents; added %(buildings)d buildings, %(houses)d houses and "
              "%(households)d households.")
            % {"residents": written.residents, "buildings": written.buildings, "houses": written.houses,
               "households": written.households}))

    @staticmethod
    def _problems(problems: list, file: Path) -> str:
        count = len(problems)
        header = ngettext(
            "%(count)d problem in %(file)s; nothing was imported:",
            "%(count)d problems in %(file)s; nothing was imported:",
            count,
        ) % {"count": count, "file": file}
        return "\n".join([header, *(str(p) for p in problems)])
