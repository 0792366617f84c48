"""Filters of the parties API. ``within=<area code>`` is a subtree (one prefix match on area_path)."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from grids.api.filters import BoundedIsoDateTimeFilter, StrictBooleanFilter, SubtreeFilter
from parties import pii
from parties.choices import (
    AttentionLevel,
    HouseUse,
    KeyPersonCategory,
    OrganisationKind,
    PartyOrganisationKind,
    ResidenceKind,
)
from parties.models import Building, House, KeyPerson, Organisation, PartyMember, PartyOrganisation, Resident, Visit


class BuildingFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area_path")
    number = django_filters.CharFilter()
    road = django_filters.CharFilter()

    class Meta:
        model = Building
        fields = ["within", "number", "road"]


class HouseFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area_path")
    building = django_filters.NumberFilter(field_name="building_id")
    use = django_filters.ChoiceFilter(choices=HouseUse.choices)
    is_rental = StrictBooleanFilter()
    is_vacant = StrictBooleanFilter()

    class Meta:
        model = House
        fields = ["within", "building", "use", "is_rental", "is_vacant"]


class ResidentFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area_path")
    residence_kind = django_filters.ChoiceFilter(choices=ResidenceKind.choices)
    key_person_category = django_filters.ChoiceFilter(
        choices=KeyPersonCategory.choices, method="filter_category",
        label=_("an active key person of this category"),
    )
    household = django_filters.NumberFilter(field_name="household_id")
    house = django_filters.NumberFilter(field_name="house_id")
    present = StrictBooleanFilter(field_name="moved_out_on", lookup_expr="isnull", label=_("not moved out"))
    id_number = django_filters.CharFilter(method="filter_id_number", label=_("exact ID card number"))
    phone = django_filters.CharFilter(method="filter_phone", label=_("exact phone number"))

    class Meta:
        model = Resident
        fields = ["within", "residence_kind", "key_person_category", "household", "house", "present"]

    def filter_category(self, queryset, name, value):
        return queryset.filter(Exists(KeyPerson.objects.filter(resident=OuterRef("pk"), category=value,
                                                               is_active=True)))

    # Exact numbers are found through the keyed hash: nothing is decrypted to search.
    def filter_id_number(self, queryset, name, value):
        return queryset.filter(id_number_hash=pii.id_hash(value))

    def filter_phone(self, queryset, name, value):
        return queryset.filter(phone_hash=pii.phone_hash(value))


class OrganisationFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area_path")
    kind = django_filters.ChoiceFilter(choices=OrganisationKind.choices)
    building = django_filters.NumberFilter(field_name="building_id")

    class Meta:
        model = Organisation
        fields = ["within", "kind", "building"]


class KeyPersonFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area_path")
    category = django_filters.ChoiceFilter(choices=KeyPersonCategory.choices)
    attention_level = django_filters.ChoiceFilter(choices=AttentionLevel.choices)
    worker = django_filters.NumberFilter(field_name="worker_id")
    is_active = StrictBooleanFilter()
    overdue = StrictBooleanFilter(field_name="overdue_since", lookup_expr="isnull", exclude=True,
                                  label=_("marked overdue"))
    due_before = BoundedIsoDateTimeFilter(field_name="next_visit_due", lookup_expr="lte")

    class Meta:
        model = KeyPerson
        fields = ["within", "category", "attention_level", "worker", "is_active", "overdue", "due_before"]


class VisitFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area_path")
    key_person = django_filters.NumberFilter(field_name="key_person_id")
    worker = django_filters.NumberFilter(field_name="worker_id")
    on_time = StrictBooleanFilter()
    after = BoundedIsoDateTimeFilter(field_name="visited_at", lookup_expr="gte")
    before = BoundedIsoDateTimeFilter(field_name="visited_at", lookup_expr="lt")

    class Meta:
        model = Visit
        fields = ["within", "key_person", "worker", "on_time", "after", "before"]


class PartyOrganisationFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area_path")
    kind = django_filters.ChoiceFilter(choices=PartyOrganisationKind.choices)
    parent = django_filters.NumberFilter(field_name="parent_id")

    class Meta:
        model = PartyOrganisation
        fields = ["within", "kind", "parent"]


class PartyMemberFilterSet(django_filters.FilterSet):
    within = SubtreeFilter(path_field="area_path")
    organisation = django_filters.NumberFilter(field_name="organisation_id")
    is_grid_worker = StrictBooleanFilter()
    is_building_head = StrictBooleanFilter()

    class Meta:
        model = PartyMember
        fields = ["within", "organisation", "is_grid_worker", "is_building_head"]
