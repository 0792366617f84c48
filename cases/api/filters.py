from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.choices import OPEN_STATUSES, Channel, EmergencyLevel, Light, Stage, Status, Supervision, Urgency
from cases.models import Activation, Case, Category, Dispatch, Notification
from grids.api.filters import BoundedIsoDateTimeFilter, StrictBooleanFilter, SubtreeFilter


class CaseFilterSet(django_filters.FilterSet):
    # The multiple-choice filters say distinct=False: they test the case row itself (django-filter's
    # default adds DISTINCT, which over a city's cases reads every match before the first page).
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    open = StrictBooleanFilter(method="filter_open", label=_("open cases only"))
    category = django_filters.CharFilter(
        method="filter_category", label=_("category code (a family includes its leaves)")
    )
    within = SubtreeFilter(path_field="area_path")
    centre = django_filters.NumberFilter(field_name="centre_id")
    department = django_filters.NumberFilter(method="filter_department", label=_("dispatched to this department"))
    light = django_filters.MultipleChoiceFilter(choices=[c for c in Light.choices if c[0]], distinct=False,
                                                method="filter_light")
    stage = django_filters.MultipleChoiceFilter(choices=[c for c in Stage.choices if c[0]], distinct=False)
    overdue = StrictBooleanFilter(method="filter_overdue", label=_("past the current deadline"))
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, distinct=False)
    supervision = django_filters.MultipleChoiceFilter(choices=[c for c in Supervision.choices if c[0]], distinct=False)
    urgency = django_filters.MultipleChoiceFilter(choices=Urgency.choices, distinct=False)
    reported_after = BoundedIsoDateTimeFilter(field_name="reported_at", lookup_expr="gte")
    reported_before = BoundedIsoDateTimeFilter(field_name="reported_at", lookup_expr="lt")
    closed_after = BoundedIsoDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    closed_before = BoundedIsoDateTimeFilter(field_name="closed_at", lookup_expr="lt")
    due_before = BoundedIsoDateTimeFilter(field_name="due_at", lookup_expr="lt")
    reporter = django_filters.NumberFilter(field_name="reporter_id")
    mine = StrictBooleanFilter(method="filter_mine", label=_("reported by me"))
    suspended = StrictBooleanFilter(field_name="suspended_at", lookup_expr="isnull", exclude=True)
    emergency = StrictBooleanFilter(field_name="is_emergency", label=_("reported under emergency mode"))
    q = django_filters.CharFilter(method="filter_text", label=_("text in description or address"))

    class Meta:
        model = Case
        fields = []

    def filter_open(self, queryset, name, value):
        return queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)

    def filter_category(self, queryset, name, value):
        return queryset.filter(Q(category__code=value) | Q(category__parent__code=value))

    def filter_department(self, queryset, name, value):
        # EXISTS, not a join: a join repeats a case once per dispatch and would need DISTINCT, which
        # reads and sorts every matching row before the first page (bench/pages.py).
        return queryset.filter(Exists(Dispatch.objects.filter(case=OuterRef("pk"), department_id=value)))

    def filter_light(self, queryset, name, value):
        # Red through `is_red` (light = 'red'), whose partial index lists red cases newest first;
        # `light` itself has no index (a light change stays a HOT update, see Case.is_red).
        lights = set(value)
        wanted = Q(light__in=sorted(lights - {Light.RED})) if lights - {Light.RED} else Q(pk__in=[])
        if Light.RED in lights:
            wanted |= Q(is_red=True)
        return queryset.filter(wanted)

    def filter_overdue(self, queryset, name, value):
        overdue = Q(due_at__lt=timezone.now(), suspended_at__isnull=True)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_mine(self, queryset, name, value):
        user = self.request.user
        return queryset.filter(reporter=user) if value else queryset.exclude(reporter=user)

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(description__icontains=value) | Q(address__icontains=value))


class CategoryFilterSet(django_filters.FilterSet):
    citizen_allowed = StrictBooleanFilter()

    class Meta:
        model = Category
        fields = ["parent", "urgency", "citizen_allowed"]


class NotificationFilterSet(django_filters.FilterSet):
    read_at__isnull = StrictBooleanFilter(field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = ["case"]


class ActivationFilterSet(django_filters.FilterSet):
    active = StrictBooleanFilter(method="filter_active", label=_("in force now"))
    level = django_filters.MultipleChoiceFilter(choices=EmergencyLevel.choices)

    class Meta:
        model = Activation
        fields = []

    def filter_active(self, queryset, name, value):
        from govgrid import clock

        active = queryset.active(clock.now()).values("pk")
        return queryset.filter(pk__in=active) if value else queryset.exclude(pk__in=active)
