"""Query parameters and answers of the reports API (also what the OpenAPI schema shows)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from reports.kpis import BREAKDOWNS, PERIODS, RATE_NAMES
from reports.models import MEASURES

DEFAULT_DAYS = 30
MAX_DAYS = 732  # two years of days per request: enough for a year on year, and a bound on the rows read


# The days a period may name: the years MonthQuerySerializer allows. Far from date.min and date.max, so
# the arithmetic on a period (its default start, its weeks and months) cannot overflow into a 500.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


class PeriodDateField(serializers.DateField):
    default_error_messages = {"range": _("The date must lie between {first} and {last}.")}

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not FIRST_DAY <= day <= LAST_DAY:
            self.fail("range", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
        return day


class PeriodQuerySerializer(serializers.Serializer):
    area = serializers.CharField(max_length=32, help_text=_("Area code; the figures cover its whole subtree."))
    start = PeriodDateField(required=False, help_text=_("First local day (default: 29 days before end)."))
    end = PeriodDateField(required=False, help_text=_("Last local day, included (default: today)."))

    def validate(self, data):
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"end": [_("The period ends before it starts.")]})
        if (end - start).days + 1 > MAX_DAYS:
            raise serializers.ValidationError(
                {"start": [_("A period is at most %(days)s days.") % {"days": MAX_DAYS}]}
            )
        return {**data, "start": start, "end": end}


class KpiQuerySerializer(PeriodQuerySerializer):
    by = serializers.ChoiceField(choices=BREAKDOWNS, required=False,
                                 help_text=_("Add one row per child area, category, family, department, "
                                             "channel, day, week or month."))


class TrendQuerySerializer(PeriodQuerySerializer):
    period = serializers.ChoiceField(choices=PERIODS, default="day")


class OverdueQuerySerializer(serializers.Serializer):
    area = serializers.CharField(max_length=32)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)


CountsSerializer = type(
    "ReportCountsSerializer", (serializers.Serializer,),
    {name: serializers.IntegerField(help_text=str(label)) for name, label in MEASURES},
)
RatesSerializer = type(
    "ReportRatesSerializer", (serializers.Serializer,),
    {name: serializers.FloatField(allow_null=True) for name in RATE_NAMES},
)


class AreaInfoSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()


class RowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("Area or category code, department id, channel, or first day."))
    label = serializers.CharField()
    level = serializers.IntegerField(required=False, help_text=_("Child area rows: the area level."))
    counts = CountsSerializer()
    rates = RatesSerializer()


class KpiSerializer(serializers.Serializer):
    area = AreaInfoSerializer()
    start = serializers.DateField()
    end = serializers.DateField()
    counts = CountsSerializer(help_text=_("Legacy cases left out."))
    rates = RatesSerializer()
    legacy = CountsSerializer(help_text=_("Legacy cases (历史遗留), outside every rate."))
    widened = serializers.BooleanField(help_text=_(
        "True when the period reached back before the days kept one by one: there it was counted by whole "
        "months, and start and end are the days counted."
    ))
    by = serializers.CharField(required=False)
    rows = RowSerializer(many=True, required=False)


class TrendSerializer(serializers.Serializer):
    area = AreaInfoSerializer()
    start = serializers.DateField()
    end = serializers.DateField()
    period = serializers.CharField()
    rows = RowSerializer(many=True)


class DepartmentInfoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    area = serializers.CharField()


class DepartmentRowSerializer(serializers.Serializer):
    department = DepartmentInfoSerializer()
    dispatched = serializers.IntegerField(help_text=_("Dispatches made in the period."))
    returned = serializers.IntegerField(help_text=_("Of those dispatches, the ones returned since."))
    dispatch_accuracy = serializers.FloatField(allow_null=True)
    due = serializers.IntegerField(help_text=_("Cases whose handling deadline falls in the period, less the "
                                               "suspended ones."))
    closed = serializers.IntegerField(help_text=_("Of those cases, the ones closed."))
    closed_on_time = serializers.IntegerField(help_text=_("Of those cases, the ones closed on time."))
    on_time_rate = serializers.FloatField(allow_null=True)
    handled = serializers.IntegerField(help_text=_("Cases first handled in the period."))
    reworked = serializers.IntegerField(help_text=_("Of those cases, the ones reworked since."))
    rework_rate = serializers.FloatField(allow_null=True)
    surveyed = serializers.IntegerField()
    satisfaction_rate = serializers.FloatField(allow_null=True)
    supervised = serializers.IntegerField()
    overdue = serializers.IntegerField()
    extended = serializers.IntegerField()
    avg_handle_hours = serializers.FloatField(allow_null=True)


class DepartmentLeagueSerializer(serializers.Serializer):
    area = AreaInfoSerializer()
    start = serializers.DateField()
    end = serializers.DateField()
    rows = DepartmentRowSerializer(many=True)


class OverdueCaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    category = serializers.CharField()
    grid = serializers.CharField()
    status = serializers.CharField()
    stage = serializers.CharField()
    due_at = serializers.DateTimeField()
    overdue_hours = serializers.FloatField()
    light = serializers.CharField()
    supervision = serializers.CharField()
    urgency = serializers.CharField()


class OverdueSerializer(serializers.Serializer):
    area = AreaInfoSerializer()
    rows = OverdueCaseSerializer(many=True)


class MonthQuerySerializer(serializers.Serializer):
    area = serializers.CharField(help_text="area code; the figures cover its whole subtree")
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    month = serializers.IntegerField(min_value=1, max_value=12)


class SafetyIndicatorSerializer(serializers.Serializer):
    name = serializers.CharField()
    measure = serializers.CharField()
    family = serializers.CharField()
    count = serializers.IntegerField()
    per_10k = serializers.FloatField()
    points_off = serializers.FloatField()


class SafetyIndexSerializer(serializers.Serializer):
    area = serializers.DictField()
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    population = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True)
    light = serializers.CharField()
    indicators = SafetyIndicatorSerializer(many=True)


class SafetyReportSerializer(SafetyIndexSerializer):
    children = SafetyIndexSerializer(many=True)


class ScoresSerializer(serializers.Serializer):
    area = serializers.DictField()
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    rows = serializers.ListField(child=serializers.DictField())


# --- unit evaluation 三考合一 ---------------------------------------------------------------------------


def _points(help_text=None, **extra) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False, help_text=help_text,
                                    **extra)


class EvaluationUnitSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("department:<id> or centre:<id>"))
    kind = serializers.ChoiceField(choices=["department", "centre"])
    id = serializers.IntegerField()
    name = serializers.CharField()
    area = serializers.CharField(help_text=_("The area the unit serves."))


class EvaluationComponentSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=["cases", "work", "plans", "campaigns"])
    label = serializers.CharField()
    value = _points(_("0–100; null when the part does not apply to the unit."), allow_null=True)
    weight = _points(_("The configured weight, percent."))
    applied_weight = _points(_("The weight scaled over the parts that apply, percent."), allow_null=True)
    points = _points(_("value × applied weight ÷ 100."), allow_null=True)
    detail = serializers.DictField(help_text=_("What the value was made from."))


class EvaluationRowSerializer(serializers.Serializer):
    unit = EvaluationUnitSerializer()
    components = EvaluationComponentSerializer(many=True)
    weighted = _points(_("Sum of the points, before the negative list."), allow_null=True)
    negative_events = serializers.IntegerField()
    deduction = _points(_("Points of the negative-list events of the period."))
    score = _points(_("Weighted total less the deduction, at least 0; null when no part applies."), allow_null=True)
    rank = serializers.IntegerField(allow_null=True)


class EvaluationWeightSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    weight = _points()


class EvaluationSerializer(serializers.Serializer):
    area = AreaInfoSerializer()
    start = serializers.DateField()
    end = serializers.DateField()
    as_of = serializers.DateField(help_text=_("The day progress and campaigns are read on."))
    weights = EvaluationWeightSerializer(many=True)
    rows = EvaluationRowSerializer(many=True)
