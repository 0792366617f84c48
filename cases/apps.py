from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    verbose_name = _("cases")
    name = "cases"

    def ready(self) -> None:
        # The tasks module registers the outbox hooks that enqueue notifications and triage.
        from cases import (
            live,
            receivers,
            tasks,  # noqa: F401
        )
        from cases import tiles as case_tiles
        from cases.actions import event_recorded
        from cases.models import CaseEvent
        from grids.signals import area_moved

        # Inside the move's transaction: the cases' copies of the paths move with the areas, or not at all.
        area_moved.connect(receivers.carry_cases, dispatch_uid="cases_carry_cases")
        # At the end of each action's transaction: the live screens get the new case, status or light
        # once it commits (govgrid.live; never inside the transaction, never failing the action).
        event_recorded.connect(live.publish_case_event, sender=CaseEvent, dispatch_uid="cases_live")
        area_moved.connect(receivers.carry_activations, dispatch_uid="cases_carry_activations")
        # The map's case tiles (cases.tiles) are cached: each committed event, or a move, bumps their version.
        event_recorded.connect(case_tiles.cases_changed, sender=CaseEvent, dispatch_uid="cases_tiles")
        area_moved.connect(case_tiles.cases_changed, dispatch_uid="cases_tiles_moved")
        # … and the summary of open cases that its low zooms add up follows a move as the cases do.
        area_moved.connect(case_tiles.carry_summary, dispatch_uid="cases_tiles_carry_summary")
