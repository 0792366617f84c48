"""``manage.py seed_demo_cases [--count N] [--if-empty]``: a month of cases through the real actions."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from cases.demo import generate, generate_if_empty


class Command(BaseCommand):
    help = "Play demo cases through the pipeline (every state, stage and light) in the seeded city."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, default=300)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any case exists")

    def handle(self, *args, count: int, seed: int, if_empty: bool, **options) -> None:
        started = time.monotonic()
        try:
            totals = generate_if_empty(count, seed=seed) if if_empty else generate(count, seed=seed)
        except ValueError as exc:
            if if_empty:  # `make run` on a database holding another city: nothing to play, not an error
                self.stdout.write(f"No demo cases: {exc}")
                return
            raise CommandError(str(exc)) from exc
        if totals is None:
            self.stdout.write("Cases already exist; not adding demo cases (--if-empty).")
            return
        summary = ", ".join(f"{status} {n}" for status, n in sorted(totals.items()))
        self.stdout.write(f"Demo cases in {time.monotonic() - started:.1f} s: {summary}")
