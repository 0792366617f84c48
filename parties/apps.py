from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartiesConfig(AppConfig):
    verbose_name = _("people and organisations")
    name = "parties"
