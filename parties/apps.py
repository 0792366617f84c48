from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartiesConfig(AppConfig):
    verbose_name = _("people and organisations")
    name = "parties"

    def ready(self) -> None:
        from grids.signals import area_moved
        from parties import receivers

        area_moved.connect(receivers.carry_people, dispatch_uid="parties_carry_people")
