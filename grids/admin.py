from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.gis.db import models as gis_models
from django.utils.translation import gettext_lazy as _

from grids.models import Area, Centre, Department, GridProfile, Membership

# No map widget: the admin must work with no internet (OpenLayers comes from a CDN). Boundaries are
# edited as WKT or GeoJSON text, or imported in bulk with `manage.py import_areas`.
GEOMETRY_AS_TEXT = {
    gis_models.MultiPolygonField: {"widget": forms.Textarea(attrs={"rows": 4, "cols": 80})},
    gis_models.PointField: {"widget": forms.Textarea(attrs={"rows": 1, "cols": 80})},
}


class GridProfileInline(admin.StackedInline):
    model = GridProfile
    can_delete = False
    readonly_fields = ["outside_guidance"]


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "grid_outside_guidance"]
    list_filter = ["level", "profile__kind", "profile__outside_guidance"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path", "centroid"]
    formfield_overrides = GEOMETRY_AS_TEXT
    list_select_related = ["parent", "profile"]
    inlines = [GridProfileInline]
    show_full_result_count = False

    @admin.display(boolean=True, description=_("far outside the size guidance"))
    def grid_outside_guidance(self, area: Area) -> bool | None:
        profile = getattr(area, "profile", None)
        return profile.outside_guidance if profile else None

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None and obj.is_grid else []


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ["name", "level", "area"]
    list_filter = ["level"]
    search_fields = ["name", "area__name", "area__code"]
    autocomplete_fields = ["area"]
    list_select_related = ["area"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "area", "is_active"]
    list_filter = ["kind", "area__level", "is_active"]
    search_fields = ["name", "area__name", "area__code"]
    autocomplete_fields = ["area"]
    list_select_related = ["area"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "area", "department", "coefficient"]
    list_filter = ["role", "area__level"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "area__name", "department__name"]
    autocomplete_fields = ["user", "area", "department"]
    list_select_related = ["user", "area", "department"]
    show_full_result_count = False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["area", "department"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class GovGridUserAdmin(UserAdmin):
    inlines = [MembershipInline]


admin.site.site_header = _("GovGrid administration")
admin.site.site_title = _("GovGrid")
admin.site.index_title = _("Grid-based governance")
