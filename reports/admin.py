"""Admin: the counters and the drift checks, read-only (only the pipeline's events change them)."""

from django.contrib import admin

from govgrid.admin import ConfigHistoryMixin, ReadOnlyAdmin
from reports.models import (
    MEASURE_NAMES,
    AreaDailyCount,
    CounterDrift,
    DailyCount,
    SafetyIndicator,
    ScoreRule,
    ScoringSettings,
)


@admin.register(DailyCount)
class DailyCountAdmin(ReadOnlyAdmin):
    list_display = ["day", "area", "category", "department", "channel", "legacy", "reported", "accepted",
                    "dispatched", "closed", "closed_on_time", "due"]
    list_filter = ["legacy", "channel", "area__level"]
    search_fields = ["area__code", "area__name", "category__code", "category__name"]
    list_select_related = ["area", "category", "department"]
    date_hierarchy = "day"
    show_full_result_count = False
    fields = ["day", "area", "category", "department", "channel", "legacy", *MEASURE_NAMES]


@admin.register(AreaDailyCount)
class AreaDailyCountAdmin(ReadOnlyAdmin):
    list_display = ["day", "area", "legacy", "reported", "accepted", "dispatched", "closed", "closed_on_time",
                    "due", "overdue"]
    list_filter = ["legacy", "area__level"]
    search_fields = ["area__code", "area__name"]
    list_select_related = ["area"]
    date_hierarchy = "day"
    show_full_result_count = False
    fields = ["day", "area", "legacy", *MEASURE_NAMES]


@admin.register(CounterDrift)
class CounterDriftAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "cases", "events", "daily_rows", "area_rows", "states", "cells",
                    "repaired"]
    list_filter = ["repaired"]
    date_hierarchy = "started_at"


@admin.register(SafetyIndicator)
class SafetyIndicatorAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    list_display = ["name", "measure", "family_code", "weight", "is_active", "sort_order"]
    list_editable = ["weight", "is_active", "sort_order"]


@admin.register(ScoreRule)
class ScoreRuleAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    list_display = ["deed", "points"]
    list_editable = ["points"]


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    """One row: thresholds of the safety-index lights and the weights of the department score."""

    def has_add_permission(self, request):
        return not ScoringSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
