"""Admin: campaign types and their checklists are configuration, set here; campaigns, entries,
inspections and certifications are shown read-only (only plans.campaigns writes them)."""

from django.contrib import admin

from govgrid.admin import ReadOnlyAdmin
from plans.models import Campaign, CampaignCriterion, CampaignEntry, CampaignType, Certification, Inspection


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
