"""Project-wide models that belong to no single app: the work calendar's override table."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkdayOverride(models.Model):
    """One date whose working status an admin fixes by hand (工作日历调整).

    An override wins over the ``chinesecalendar`` package and over the Monday–Friday fallback for
    years the package does not know, so admins can enter a newly published holiday schedule before
    the package is upgraded, or a local day off. The work calendar caches these rows; see
    ``govgrid.workcalendar`` for how a change reaches every process.
    """

    date = models.DateField(_("date"), unique=True, error_messages={"unique": _("This date already has an override.")})
    is_workday = models.BooleanField(
        _("working day"), help_text=_("Ticked: a working day. Not ticked: a day off (holiday).")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("workday override")
        verbose_name_plural = _("workday overrides")
        ordering = ["-date"]

    def __str__(self) -> str:
        status = _("working day") if self.is_workday else _("day off")
        return f"{self.date.isoformat()} {status}"


# The configuration history's event models (one per tracked model) belong to this app; they are built
# in govgrid.history from the tracked models, which is why the import comes last.
from govgrid.history import EVENT_MODELS  # noqa: E402,F401
