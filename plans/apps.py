from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    verbose_name = _("work plans")
    name = "plans"

    def ready(self) -> None:
        from plans import tasks  # noqa: F401  (registers the beat task)
