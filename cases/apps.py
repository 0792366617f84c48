from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    verbose_name = _("cases")
    name = "cases"

    def ready(self) -> None:
        # The tasks module registers the outbox hooks that enqueue notifications and triage.
        from cases import (
            receivers,
            tasks,  # noqa: F401
        )
        from grids.signals import area_moved

        # Inside the move's transaction: the cases' copies of the paths move with the areas, or not at all.
        area_moved.connect(receivers.carry_cases, dispatch_uid="cases_carry_cases")
        area_moved.connect(receivers.carry_activations, dispatch_uid="cases_carry_activations")
