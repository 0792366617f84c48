"""Admin for project-wide models, and the work calendar banner on the admin index page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from govgrid import workcalendar
from govgrid.history import model_events, model_history, object_history
from govgrid.models import WorkdayOverride


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible for audit; the rows are written by the pipeline's actions and tasks, never in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ConfigHistoryMixin:
    """The change page's "History" shows the configuration history (govgrid.history) instead of the admin's
    own log: every recorded change, made here or anywhere else, with who, when and each field before and after.
    The list page gets a "History" button too: every change of the model's rows, deleted rows included.

    ``history_children`` adds the changes of child rows edited inline on the page, as (model, foreign key)
    pairs, e.g. a category's lead departments.
    """

    history_children: tuple[tuple[type[models.Model], str], ...] = ()
    history_per_page = 50
    change_list_template = "admin/config_history_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        # Before the admin's own: its "<path:object_id>/" would take "history/" for an object id.
        name = f"{self.opts.app_label}_{self.opts.model_name}_model_history"
        return [path("history/", self.admin_site.admin_view(self.model_history_view), name=name), *super().get_urls()]

    def model_history_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        paginator = self.get_paginator(request, model_events(self.model), self.history_per_page)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        title = _("Change history: %s") % self.opts.verbose_name_plural
        return self._history_response(request, page, model_history(self.model, page.object_list), title, None)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
                     ) -> HttpResponse:
        opts = self.model._meta
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        paginator = self.get_paginator(request, object_history(obj, self.history_children), self.history_per_page)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        return self._history_response(request, page, page.object_list, _("Change history: %s") % obj, obj,
                                      extra_context)

    def _history_response(self, request: HttpRequest, page: Any, entries: list[Any], title: str,
                          obj: models.Model | None, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        paginator = page.paginator
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "page": page,
            "entries": entries,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "module_name": str(self.opts.verbose_name_plural).capitalize(),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/config_history.html", context)


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(ConfigHistoryMixin, admin.ModelAdmin):
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
