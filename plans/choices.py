from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskStatus(models.TextChoices):
    ACTIVE = "active", _("under way")
    DONE = "done", _("done")


class Light(models.TextChoices):
    """Lights by lag against the schedule (亮灯预警)."""

    GREEN = "green", _("green")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")


class NegativeKind(models.TextChoices):
    """Kinds of a negative-list event (负面清单) held against a unit."""

    MAJOR_INCIDENT = "major_incident", _("major incident")
    MASS_PETITION = "mass_petition", _("mass petition")
    SUPERVISION_FAILED = "supervision_failed", _("supervision not acted on")
    FALSE_REPORT = "false_report", _("false report")
    OTHER = "other", _("other")
