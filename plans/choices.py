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


class CampaignFamily(models.TextChoices):
    """全民创无 "10+N" (a place without X) or 平安细胞 (a safe cell: village, school, hospital …)."""

    NO_X = "no_x", _("创无 (without X)")
    SAFE_CELL = "safe_cell", _("平安细胞 (safe cell)")


class Entrant(models.TextChoices):
    """What enters a campaign of a type: an area (village, community, grid) or an organisation."""

    AREA = "area", _("area")
    ORGANISATION = "organisation", _("organisation")


class EntryStatus(models.TextChoices):
    """An entry's standing on a day, computed from its inspections and certifications."""

    ENTERED = "entered", _("entered, not inspected")
    INSPECTED = "inspected", _("inspection passed, not certified")
    FAILED = "failed", _("inspection failed")
    CERTIFIED = "certified", _("certified")
    REVOKED = "revoked", _("certification revoked")
    EXPIRED = "expired", _("certification expired")
    WITHDRAWN = "withdrawn", _("withdrawn")
