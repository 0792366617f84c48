"""``manage.py seed_categories``: write the seed case categories (see cases/categories_seed.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from cases.categories_seed import load_categories


class Command(BaseCommand):
    # A plain string, not gettext_lazy: argparse's help formatter runs a regex over it and fails on a
    # lazy proxy (TypeError on --help).
    help = (
        "Create or update the seed case categories (families, leaves and default lead departments). "
        "Safe to run again: rows are matched by code."
    )

    def handle(self, *args: object, **options: object) -> None:
        families, leaves = load_categories()
        self.stdout.write(
            _("Seeded %(families)d category families and %(leaves)d leaf categories.")
            % {"families": families, "leaves": leaves}
        )
