"""System checks for project-wide configuration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError
from django.utils.translation import gettext as _

from govgrid import workcalendar


@register("govgrid")
def check_work_calendar(
    app_configs: Sequence[AppConfig] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """govgrid.W002: a year in use runs on the Monday–Friday fallback of the work calendar.

    It runs only when the check is given databases (``migrate``, ``check --database default``), so that
    it is said once at deployment rather than before every management command; the admin index page
    shows the same warning all the time.
    """
    if not databases:
        return []
    try:
        years = workcalendar.unknown_years(include_overrides=bool(databases))
    except DatabaseError:
        # Before migrate has created the override table: the years without overrides still count.
        years = workcalendar.unknown_years(include_overrides=False)
    if not years:
        return []
    return [
        CheckWarning(
            workcalendar.unknown_years_message(years),
            hint=_("Until then, deadlines in such a year ignore statutory holidays and swapped working weekends."),
            id="govgrid.W002",
        )
    ]
