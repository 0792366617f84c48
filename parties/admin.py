"""Admin: read-only views of the registry (masked numbers only) and of the personal data access log.

Changes go through parties.actions (API, pages, import); the admin never writes these tables, and
the access log cannot be changed by anyone (a database trigger refuses UPDATE and DELETE).
"""

from django.contrib import admin

from parties.models import (
    Building,
    BuildingRole,
    House,
    Household,
    KeyPerson,
    Organisation,
    PartyMember,
    PartyOrganisation,
    PiiAccessLog,
    Resident,
    ResidentMove,
    Visit,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "kind", "field", "resident", "organisation", "count", "reason"]
    list_filter = ["kind", "field"]
    search_fields = ["actor__username", "reason", "description"]
    date_hierarchy = "at"
    list_select_related = ["actor", "resident", "organisation"]


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    list_display = ["name", "id_number_masked", "phone_masked", "residence_kind", "grid", "moved_out_on"]
    list_filter = ["residence_kind", "sex"]
    search_fields = ["name"]
    list_select_related = ["grid"]
    # The cipher text and the hashes stay out of sight; the masks are what the admin reads.
    exclude = ["id_number_enc", "id_number_hash", "phone_enc", "phone_hash"]
    raw_id_fields = ["household", "house", "grid"]


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "contact_name", "contact_phone_masked", "grid"]
    list_filter = ["kind"]
    search_fields = ["name"]
    exclude = ["contact_phone_enc", "contact_phone_hash"]
    raw_id_fields = ["building", "house", "grid"]


@admin.register(Building)
class BuildingAdmin(ReadOnlyAdmin):
    list_display = ["address", "number", "grid", "floors", "units"]
    search_fields = ["address", "number"]
    raw_id_fields = ["grid"]


@admin.register(House)
class HouseAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "use", "is_rental", "is_vacant"]
    list_filter = ["use", "is_rental", "is_vacant"]
    raw_id_fields = ["building", "owner", "grid"]


@admin.register(KeyPerson)
class KeyPersonAdmin(ReadOnlyAdmin):
    list_display = ["resident", "category", "attention_level", "worker", "next_visit_due", "overdue_since"]
    list_filter = ["category", "attention_level", "is_active"]
    raw_id_fields = ["resident", "worker", "grid"]


@admin.register(PartyOrganisation)
class PartyOrganisationAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "area", "compound", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "compound"]
    list_select_related = ["area", "parent"]
    raw_id_fields = ["area", "parent"]


@admin.register(PartyMember)
class PartyMemberAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "organisation", "joined_on", "is_grid_worker", "is_building_head"]
    list_filter = ["is_grid_worker", "is_building_head"]
    list_select_related = ["organisation", "resident", "user"]
    raw_id_fields = ["organisation", "resident", "user", "building"]


for model in (Household, ResidentMove, Visit, BuildingRole):
    admin.site.register(model, ReadOnlyAdmin)
