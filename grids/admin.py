from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.gis.db import models as gis_models
from django.utils.translation import gettext_lazy as _

from govgrid.admin import ConfigHistoryMixin
from govgrid.errors import ActionError
from grids.actions import check_area_move, move_area
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


# A new parent or code re-paths the whole subtree, its cases and the counters: grids.actions.move_area.
MOVE_FIELDS = frozenset({"parent", "code"})


class AreaAdminForm(forms.ModelForm):
    # A refusal that came from the move itself (e.g. cases no centre would cover), set by AreaAdmin
    # when it shows the same POST again, so the reason appears in the form beside the field.
    move_error: ActionError | None = None

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None or not MOVE_FIELDS & set(self.changed_data):
            return cleaned
        if any(name in self.errors for name in ("parent", "code", "level")):
            return cleaned
        error = self.move_error
        if error is None:
            try:
                # self.instance still holds the stored row here: the form's values are applied after clean().
                check_area_move(self.instance, parent=cleaned.get("parent"), code=cleaned.get("code") or "",
                                level=cleaned.get("level", self.instance.level))
            except ActionError as refused:
                error = refused
        if error is not None:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


@admin.register(Area)
class AreaAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    form = AreaAdminForm
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

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refused = getattr(request, "_area_move_error", None)
        if refused is not None:
            form = type(form.__name__, (form,), {"move_error": refused})
        return form

    def save_model(self, request, obj, form, change):
        if change and MOVE_FIELDS & set(form.changed_data):
            move_area(obj, actor=request.user, parent=obj.parent, code=obj.code)
        else:
            super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ActionError as refused:
            if getattr(request, "_area_move_error", None) is not None:
                raise
            # The admin's transaction has rolled the whole move back; show the same form with the reason.
            request._area_move_error = refused
            return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(Centre)
class CentreAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    list_display = ["name", "level", "area"]
    list_filter = ["level"]
    search_fields = ["name", "area__name", "area__code"]
    autocomplete_fields = ["area"]
    list_select_related = ["area"]


@admin.register(Department)
class DepartmentAdmin(ConfigHistoryMixin, admin.ModelAdmin):
    list_display = ["name", "name_en", "kind", "area", "is_active"]
    list_filter = ["kind", "area__level", "is_active"]
    search_fields = ["name", "name_en", "area__name", "area__code"]
    autocomplete_fields = ["area"]
    list_select_related = ["area"]


@admin.register(Membership)
class MembershipAdmin(ConfigHistoryMixin, admin.ModelAdmin):
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
class GovGridUserAdmin(ConfigHistoryMixin, UserAdmin):
    history_children = ((Membership, "user"),)
    inlines = [MembershipInline]


admin.site.site_header = _("GovGrid administration")
admin.site.site_title = _("GovGrid")
admin.site.index_title = _("Grid-based governance")
