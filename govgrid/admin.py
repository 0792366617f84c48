"""Admin for project-wide models, and the work calendar banner on the admin index page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from govgrid import workcalendar
from govgrid.models import WorkdayOverride


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible for audit; the rows are written by the pipeline's actions and tasks, never in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "weekday", "is_workday", "calendar_default", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "date"
    ordering = ("-date",)

    @admin.display(description=_("weekday"))
    def weekday(self, obj: WorkdayOverride) -> str:
        return date_format(obj.date, "l")  # the weekday name in the active language

    @admin.display(description=_("without the override"))
    def calendar_default(self, obj: WorkdayOverride) -> str:
        """What the package (or the fallback) says, so an admin sees whether the row changes anything."""
        if not workcalendar.package_is_workday(obj.date):
            return str(_("day off"))
        if not workcalendar.package_knows_year(obj.date.year):
            return str(_("working day (Monday–Friday fallback)"))
        return str(_("working day"))


_site_index = admin.site.index


def _index_with_calendar_warning(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin index with the work calendar warning for templates/admin/index.html.

    Wrapped on the default site instance because that needs neither a custom AdminSite (a settings
    change) nor a template tag library; the URLconf reads ``admin.site.index`` after admin modules load.
    """
    years = workcalendar.unknown_years()
    context = {"workcalendar_warning": workcalendar.unknown_years_message(years) if years else ""}
    return _site_index(request, extra_context={**context, **(extra_context or {})})


admin.site.index = _index_with_calendar_warning  # type: ignore[method-assign]
