from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError

from grids.choices import DepartmentKind, Level
from grids.models import Area, Department


class StrictBooleanField(forms.Field):
    """``true`` or ``false``, as the OpenAPI schema says; anything else is a 400. (django-filter reads a
    value it does not know, "1", "yes" or "maybe", as "no filter" and answers the whole list.)"""

    default_error_messages = {"invalid": _("Give true or false.")}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class SubtreeFilter(django_filters.CharFilter):
    """``within=<code>``: the area with that code and everything under it (one prefix match).

    The code is looked up among every area, not only visible ones, but the queryset it filters is
    already scoped, so an area outside scope yields an empty list rather than a leak.
    """

    def __init__(self, *args, path_field: str = "path", **kwargs):
        self.path_field = path_field
        kwargs.setdefault("label", _("within the area with this code (its whole subtree)"))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        path = Area.objects.filter(code=value).values_list("path", flat=True).first()
        if path is None:
            raise ValidationError({self.field_name: [_("No area has the code %(code)s.") % {"code": value}]})
        return qs.filter(**{f"{self.path_field}__startswith": path})


class AreaFilterSet(django_filters.FilterSet):
    within = SubtreeFilter()
    level = django_filters.TypedMultipleChoiceFilter(choices=Level.choices, coerce=int)
    parent = django_filters.NumberFilter(field_name="parent_id")
    parent_code = django_filters.CharFilter(field_name="parent__code")
    code = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Area
        fields = ["within", "level", "parent", "parent_code", "code", "name"]


class GridFilterSet(AreaFilterSet):
    outside_guidance = StrictBooleanFilter(field_name="profile__outside_guidance")
    kind = django_filters.CharFilter(field_name="profile__kind")

    class Meta(AreaFilterSet.Meta):
        fields = [*AreaFilterSet.Meta.fields, "outside_guidance", "kind"]


class DepartmentFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area__path")
    kind = django_filters.MultipleChoiceFilter(choices=DepartmentKind.choices)
    area = django_filters.NumberFilter(field_name="area_id")
    area_code = django_filters.CharFilter(field_name="area__code")
    level = django_filters.TypedChoiceFilter(field_name="area__level", choices=Level.choices, coerce=int)
    name = django_filters.CharFilter(lookup_expr="icontains")
    is_active = StrictBooleanFilter()

    class Meta:
        model = Department
        fields = ["within", "kind", "area", "area_code", "level", "name", "is_active"]


# Real UTC offsets run from -12:00 to +14:00 (PostgreSQL refuses beyond ±15:59, with a 500 if unchecked);
# years outside these bounds hold no record and, near year 1 or 9999, overflow when moved to UTC.
MAX_UTC_OFFSET = timedelta(hours=14)
FIRST_YEAR, LAST_YEAR = 1900, 2999


class BoundedIsoDateTimeField(IsoDateTimeField):
    default_error_messages = {
        "offset": _("The UTC offset must lie between -14:00 and +14:00."),
        "year": _("The year must lie between %(first)s and %(last)s."),
    }

    def to_python(self, value):
        result = super().to_python(value)
        if result is None:
            return result
        offset = result.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError(self.error_messages["offset"], code="offset")
        if not FIRST_YEAR <= result.year <= LAST_YEAR:
            raise forms.ValidationError(self.error_messages["year"], code="year",
                                        params={"first": FIRST_YEAR, "last": LAST_YEAR})
        return result


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter that answers 400 for an offset or a year no record can have."""

    field_class = BoundedIsoDateTimeField
