"""Admin: the counters and the drift checks, read-only (only the pipeline's events change them); the
settings an administrator tunes, written through ``reports.actions``."""

from django.contrib import admin

from govgrid.admin import ConfigHistoryMixin, ReadOnlyAdmin
from reports import actions
from reports.models import (
    EVALUATION_WEIGHT_FIELDS,
    MEASURE_NAMES,
    AreaDailyCount,
    AreaMonthlyCount,
    CounterDrift,
    DailyCount,
    EvaluationSettings,
    MonthlyCount,
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


@admin.register(MonthlyCount)
class MonthlyCountAdmin(ReadOnlyAdmin):
    list_display = ["month", "area", "category", "department", "channel", "legacy", "reported", "accepted",
                    "dispatched", "closed", "closed_on_time", "due"]
    list_filter = ["legacy", "channel", "area__level"]
    search_fields = ["area__code", "area__name", "category__code", "category__name"]
    list_select_related = ["area", "category", "department"]
    date_hierarchy = "month"
    show_full_result_count = False
    fields = ["month", "area", "category", "department", "channel", "legacy", *MEASURE_NAMES]


@admin.register(AreaMonthlyCount)
class AreaMonthlyCountAdmin(ReadOnlyAdmin):
    list_display = ["month", "area", "legacy", "reported", "accepted", "dispatched", "closed", "closed_on_time",
                    "due", "overdue"]
    list_filter = ["legacy", "area__level"]
    search_fields = ["area__code", "area__name"]
    list_select_related = ["area"]
    date_hierarchy = "month"
    show_full_result_count = False
    fields = ["month", "area", "legacy", *MEASURE_NAMES]


@admin.register(CounterDrift)
class CounterDriftAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "cases", "events", "daily_rows", "area_rows", "states", "cells",
                    "repaired"]
    list_filter = ["repaired"]
    date_hierarchy = "started_at"


class ActionsAdmin(admin.ModelAdmin):
    """Saves and deletes (one row, or the list's bulk delete) through the model's actions, named here."""

    save_action = delete_action = ""

    def save_model(self, request, obj, form, change):
        getattr(actions, self.save_action)(obj, actor=request.user)

    def delete_model(self, request, obj):
        getattr(actions, self.delete_action)(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            getattr(actions, self.delete_action)(obj, actor=request.user)


@admin.register(SafetyIndicator)
class SafetyIndicatorAdmin(ConfigHistoryMixin, ActionsAdmin):
    list_display = ["name", "measure", "family_code", "weight", "is_active", "sort_order"]
    list_editable = ["weight", "is_active", "sort_order"]
    save_action, delete_action = "save_safety_indicator", "delete_safety_indicator"


@admin.register(ScoreRule)
class ScoreRuleAdmin(ConfigHistoryMixin, ActionsAdmin):
    list_display = ["deed", "points"]
    list_editable = ["points"]
    save_action, delete_action = "save_score_rule", "delete_score_rule"


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    """One row: thresholds of the safety-index lights and the weights of the department score."""

    def has_add_permission(self, request):
        return not ScoringSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        actions.update_scoring_settings(actor=request.user,
                                        **{name: getattr(obj, name) for name in actions.SETTINGS_FIELDS})


@admin.register(EvaluationSettings)
class EvaluationSettingsAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    """One row: the weights of the unit evaluation 三考合一 (percent, adding up to 100)."""

    list_display = ["__str__", *EVALUATION_WEIGHT_FIELDS]

    def has_add_permission(self, request):
        return not EvaluationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        actions.update_evaluation_settings(actor=request.user,
                                           **{name: getattr(obj, name) for name in EVALUATION_WEIGHT_FIELDS})
