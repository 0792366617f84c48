from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    verbose_name = _("reports")
    name = "reports"

    def ready(self) -> None:
        from cases.actions import event_recorded
        from cases.models import CaseEvent
        from grids.signals import area_moved
        from reports import counters, relocate

        # Inside the action's transaction: the counters commit or roll back with the event.
        event_recorded.connect(counters.record_event, sender=CaseEvent, dispatch_uid="reports_counters")
        # Inside the area move's transaction: the ancestors' counters move with the area, or not at all.
        area_moved.connect(relocate.carry_counters, dispatch_uid="reports_carry_counters")
