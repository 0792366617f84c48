"""``manage.py seed_city --preset demo``: write a synthetic city (see grids/seed.py)."""

from __future__ import annotations

from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from grids.models import Area
from grids.seed import PRESETS, SeedRefused, seed_city, summary_lines


class Command(BaseCommand):
    # A plain string: argparse cannot format a lazy translation.
    help = (
        "Generate a synthetic city (areas with boundaries, grid profiles, centres, departments, staff) "
        "from a preset. Every synthetic user's password is DEMO_PASSWORD (default govgrid-demo)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--preset", required=True, choices=sorted(PRESETS), help="which city")
        parser.add_argument(
            "--if-empty", action="store_true",
            help="do nothing when the database already holds any area (for make run)",
        )
        parser.add_argument(
            "--population", type=int, default=None,
            help="residents to generate with households, houses, buildings, organisations, key persons and "
                 "visits (parties/seed.py; default: 3000 for demo, none for the other presets)",
        )

    def handle(self, *args: object, preset: str, if_empty: bool, population: int | None = None,
               **options: object) -> None:
        if if_empty and Area.objects.exists():
            self.stdout.write(_("Areas already exist; not seeding (--if-empty)."))
            return
        try:
            result = seed_city(preset, stdout=self.stdout)
        except SeedRefused as exc:
            raise CommandError(str(exc)) from exc
        for line in summary_lines(result):
            self.stdout.write(line)
        # People live in the map's grids (parties depends on grids; this command only calls in).
        from parties.seed import DEMO_POPULATION, seed_people, summary_line

        if population is None:
            population = DEMO_POPULATION if preset == "demo" else 0
        if population > 0:
            self.stdout.write(summary_line(seed_people(result.city, population=population, stdout=self.stdout)))
