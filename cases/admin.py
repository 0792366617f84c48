"""Admin for categories (editable) and a read-only view of cases: only cases.actions changes a case."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cases.models import (
    Activation,
    ActivationEvent,
    Case,
    CaseEvent,
    Category,
    CategoryLead,
    Dispatch,
    ExtensionRequest,
    Notification,
)
from cases.patrols import CheckIn, Patrol
from govgrid.admin import ConfigHistoryMixin, ReadOnlyAdmin


class CategoryLeadInline(admin.TabularInline):
    model = CategoryLead
    extra = 0


@admin.register(Category)
class CategoryAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    history_children = ((CategoryLead, "category"),)
    list_display = ["code", "name", "parent", "time_limit", "time_unit", "urgency", "yellow_share",
                    "duplicate_radius_m", "citizen_allowed", "is_active"]
    list_filter = ["parent", "urgency", "time_unit", "citizen_allowed", "is_active"]
    search_fields = ["code", "name", "name_en"]
    list_select_related = ["parent"]
    inlines = [CategoryLeadInline]


class DispatchInline(admin.TabularInline):
    model = Dispatch
    extra = 0
    can_delete = False
    fields = ["department", "role", "status", "dispatched_at", "due_at", "signed_at", "handled_at", "returned_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "actor", "from_status", "to_status", "note"]
    readonly_fields = fields
    ordering = ["at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "number", "category", "status", "stage", "light", "due_at", "centre", "grid", "reported_at"]
    list_filter = ["status", "light", "stage", "channel", "supervision", "urgency", "is_emergency"]
    search_fields = ["description", "address", "grid__code", "grid__name"]
    list_select_related = ["category", "centre", "grid"]
    date_hierarchy = "reported_at"
    show_full_result_count = False
    inlines = [DispatchInline, EventInline]

    @admin.display(description=_("case number"))
    def number(self, case: Case) -> str:
        return case.number


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "case", "action", "actor", "from_status", "to_status"]
    list_filter = ["action"]
    list_select_related = ["case__category", "actor"]
    show_full_result_count = False


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "dispatch", "amount", "unit", "status", "decided_at"]
    list_filter = ["status"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "message", "read_at"]
    list_select_related = ["recipient"]
    show_full_result_count = False


class ActivationEventInline(admin.TabularInline):
    model = ActivationEvent
    extra = 0
    can_delete = False
    fields = ["at", "change", "actor", "old_level", "new_level", "note"]
    readonly_fields = fields
    ordering = ["at", "id"]


class CheckInInline(admin.TabularInline):
    model = CheckIn
    extra = 0
    can_delete = False
    fields = ["at", "place", "building", "note", "photo"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Activation)
class ActivationAdmin(ReadOnlyAdmin):
    """Emergency activations for audit; officials switch them on the emergency pages (cases.actions.emergency)."""

    list_display = ["id", "area", "level", "starts_at", "ends_at", "switched_off_at", "created_by"]
    list_filter = ["level"]
    list_select_related = ["area", "created_by"]
    search_fields = ["area__name", "area__code", "reason"]
    inlines = [ActivationEventInline]


@admin.register(Patrol)
class PatrolAdmin(ReadOnlyAdmin):
    """Patrols 巡查, read-only: only cases.actions.patrols changes them."""

    list_display = ["started_at", "worker", "grid", "status", "ended_at", "end_reason", "distance_m", "point_count"]
    list_filter = ["status", "end_reason"]
    search_fields = ["worker__username", "grid__code", "grid__name"]
    list_select_related = ["worker", "grid"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    exclude = ["track"]
    inlines = [CheckInInline]


import cases.dispute_admin  # noqa: E402, F401 (disputes: resolution centres, mediators, screening)
import cases.open311.admin  # noqa: E402, F401  (Open311 keys and citizens' appeals)
