"""Admin: campaign types and their checklists are configuration, set here; campaigns, entries,
inspections and certifications are shown read-only (only plans.campaigns writes them)."""

from django.contrib import admin

from govgrid.admin import ReadOnlyAdmin
from plans.models import (
    Campaign,
    CampaignCriterion,
    CampaignEntry,
    CampaignType,
    Certification,
    Inspection,
    NegativeEvent,
    PlanTask,
    ProgressReport,
    WorkPlan,
)


class CampaignCriterionInline(admin.TabularInline):
    model = CampaignCriterion
    extra = 1
    fields = ["order", "text", "text_en", "required"]


@admin.register(CampaignType)
class CampaignTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "family", "entrant", "validity_months", "inspection_valid_days",
                    "is_active", "order"]
    list_filter = ["family", "entrant", "is_active"]
    search_fields = ["code", "name", "name_en"]
    inlines = [CampaignCriterionInline]


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["title", "type", "area", "year", "lead_department", "lead_centre", "owner"]
    list_filter = ["type", "year"]
    search_fields = ["title"]
    list_select_related = ["type", "area", "lead_department", "lead_centre", "owner"]


@admin.register(CampaignEntry)
class CampaignEntryAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "area", "organisation", "entered_on", "withdrawn_on"]
    list_select_related = ["campaign", "area", "organisation"]


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ["entry", "inspector", "at", "passed"]
    list_filter = ["passed"]
    list_select_related = ["entry", "inspector"]


@admin.register(Certification)
class CertificationAdmin(ReadOnlyAdmin):
    list_display = ["entry", "certified_on", "valid_until", "by", "revoked_on", "revoke_reason"]
    list_select_related = ["entry", "by"]


# Work plans are written by plans.actions only (pages and REST): the admin shows them read-only.
@admin.register(WorkPlan)
class WorkPlanAdmin(ReadOnlyAdmin):
    list_display = ["year", "title", "area", "owner", "created_at"]
    list_filter = ["year"]
    search_fields = ["title"]
    list_select_related = ["area", "owner"]


@admin.register(PlanTask)
class PlanTaskAdmin(ReadOnlyAdmin):
    list_display = ["title", "plan", "lead_department", "lead_centre", "starts_on", "deadline", "status",
                    "percent_done"]
    list_filter = ["status"]
    search_fields = ["title"]
    list_select_related = ["plan", "lead_department", "lead_centre"]


@admin.register(ProgressReport)
class ProgressReportAdmin(ReadOnlyAdmin):
    list_display = ["task", "department", "centre", "by", "at", "percent"]
    list_select_related = ["task", "department", "centre", "by"]


@admin.register(NegativeEvent)
class NegativeEventAdmin(ReadOnlyAdmin):
    list_display = ["date", "kind", "plan", "department", "centre", "points", "recorded_by"]
    list_filter = ["kind"]
    list_select_related = ["plan", "department", "centre", "recorded_by"]
