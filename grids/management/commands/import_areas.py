"""``manage.py import_areas FILE.geojson``: load the area tree from GeoJSON, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from grids.importer import AreaImportError, import_areas, summary


class Command(BaseCommand):
    help = (
        "Import areas and grids from a GeoJSON FeatureCollection (properties code, name, level, parent; "
        "households, population, buildings, kind for grids). The whole file is checked first; if any "
        "feature is bad every problem is listed and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a UTF-8 GeoJSON file in WGS84")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            # utf-8-sig: files saved by Windows tools often start with a byte-order mark.
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc}) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(_("%(file)s is not UTF-8 text: %(error)s") % {"file": file, "error": exc}) from exc

        try:
            result = import_areas(text)
        except AreaImportError as exc:
            count = len(exc.problems)
            header = ngettext(
                "%(count)d problem in %(file)s; nothing was imported:",
                "%(count)d problems in %(file)s; nothing was imported:",
                count,
            ) % {"count": count, "file": file}
            raise CommandError("\n".join([header, *(str(p) for p in exc.problems)])) from exc

        self.stdout.write(self.style.SUCCESS("\n".join(summary(result))))
