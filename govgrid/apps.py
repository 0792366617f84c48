from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovgridConfig(AppConfig):
    name = "govgrid"
    verbose_name = _("GovGrid")

    def ready(self) -> None:
        # Imported for their side effects: the system check registers itself, and the work calendar
        # connects the signal receivers that drop its cache when an override changes.
        from govgrid import checks, versioned, workcalendar  # noqa: F401

        versioned.connect()  # the per-process caches of centres, categories, activations and scopes
