"""Admin for the dispute-resolution centres and their mediators (configuration), and a read-only view of
the screening reports. Disputes themselves change only through cases.actions.disputes."""

from django.contrib import admin

from cases.disputes import Mediator, ResolutionCentre, ScreeningReport
from govgrid.admin import ReadOnlyAdmin


class MediatorInline(admin.TabularInline):
    model = Mediator
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(ResolutionCentre)
class ResolutionCentreAdmin(admin.ModelAdmin):
    list_display = ["name", "area"]
    search_fields = ["name", "name_en", "area__code", "area__name"]
    autocomplete_fields = ["area"]
    filter_horizontal = ["departments"]
    list_select_related = ["area"]
    inlines = [MediatorInline]


@admin.register(ScreeningReport)
class ScreeningReportAdmin(ReadOnlyAdmin):
    list_display = ["grid", "month", "is_zero", "reported_by", "reported_at"]
    list_filter = ["month", "is_zero"]
    list_select_related = ["grid", "reported_by"]
