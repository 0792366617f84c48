"""Admin: Open311 client applications and their keys (issued here, shown once), and a read-only list
of citizens' appeals (masked; only cases.actions.appeals writes them)."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.open311.models import ApiKey, Appeal
from govgrid.admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "rate_limit", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "contact", "prefix"]
    readonly_fields = ["prefix", "created_at"]
    actions = ["issue_new_key"]

    def save_model(self, request, obj, form, change):
        key = None
        if not change:
            key = ApiKey.new_key()
            obj.set_key(key)
        super().save_model(request, obj, form, change)
        if key:
            self._show(request, obj, key)

    def _show(self, request, obj, key):
        messages.warning(request, _("The API key of %(name)s is %(key)s — copy it now: it is shown only once.")
                         % {"name": obj.name, "key": key})

    @admin.action(description=gettext_lazy("Issue a new key (the old one stops working)"))
    def issue_new_key(self, request, queryset):
        for obj in queryset:
            key = ApiKey.new_key()
            obj.set_key(key)
            obj.save(update_fields=["prefix", "key_hash"])
            self._show(request, obj, key)


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "channel", "service_code", "api_key", "name_masked", "phone_masked", "answered",
                    "created_at"]
    list_filter = ["channel", "answered"]
    fields = ["case", "channel", "api_key", "operator", "service_code", "attributes", "address_id", "media_url",
              "device_id", "account_id", "name_masked", "phone_masked", "answered", "created_at"]
    readonly_fields = fields
