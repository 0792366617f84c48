"""``manage.py seed_demo_plans [--if-empty]``: the demo city's work plan and campaigns, through the real actions."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from plans.demo import generate, generate_campaigns, generate_campaigns_if_empty, generate_if_empty


class Command(BaseCommand):
    help = ("A district's work plan (任务清单) in progress, with tasks of each light, and two campaigns "
            "(平安村居, 无医闹) with entries in each state, in the seeded city.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when any work plan (campaign) exists")

    def handle(self, *args, if_empty: bool, **options) -> None:
        self._plan(if_empty)
        made = generate_campaigns_if_empty() if if_empty else generate_campaigns()
        if made:
            self.stdout.write("Demo campaigns: " + ", ".join(f"{c} ({c.entries.count()} entries)" for c in made))
        else:
            self.stdout.write("Campaigns exist, or no district has staff and handlers; no campaign added.")

    def _plan(self, if_empty: bool) -> None:
        if if_empty and not (plan := generate_if_empty()):
            self.stdout.write("A work plan exists, or no district has staff and handlers; nothing added.")
            return
        if not if_empty:
            plan = generate()
        if plan is None:
            self.stdout.write("No district has a centre with staff and departments with handlers.")
            return
        self.stdout.write(f"Demo work plan: {plan} ({plan.tasks.count()} tasks)")
