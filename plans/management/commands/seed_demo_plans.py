"""``manage.py seed_demo_plans [--if-empty]``: the demo city's work plan, through the real actions."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from plans.demo import generate, generate_if_empty


class Command(BaseCommand):
    help = "A district's work plan (任务清单) in progress, with tasks of each light, in the seeded city."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any work plan exists")

    def handle(self, *args, if_empty: bool, **options) -> None:
        if if_empty and not (plan := generate_if_empty()):
            self.stdout.write("A work plan exists, or no district has staff and handlers; nothing added.")
            return
        if not if_empty:
            plan = generate()
        if plan is None:
            self.stdout.write("No district has a centre with staff and departments with handlers.")
            return
        self.stdout.write(f"Demo work plan: {plan} ({plan.tasks.count()} tasks)")
