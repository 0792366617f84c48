"""Default safety indicators (per 10,000 residents) and score rules; administrators tune them."""

from decimal import Decimal

from django.db import migrations

DEFAULT_INDICATORS = [
    # name, measure, family, weight
    ("治安隐患", "reported", "08", Decimal("2.0")),
    ("矛盾纠纷", "reported", "07", Decimal("1.5")),
    ("安全隐患", "reported", "09", Decimal("1.5")),
    ("逾期未办结", "overdue", "", Decimal("3.0")),
    ("突发事件", "reported", "04", Decimal("3.0")),
]
DEFAULT_RULES = [
    ("valid_report", Decimal("2")), ("self_resolved", Decimal("3")), ("report_only", Decimal("0.5")),
    ("verified_on_time", Decimal("1")), ("verified_late", Decimal("-1")), ("rejected_report", Decimal("-1")),
]


def seed(apps, schema_editor):
    SafetyIndicator = apps.get_model("reports", "SafetyIndicator")
    ScoreRule = apps.get_model("reports", "ScoreRule")
    ScoringSettings = apps.get_model("reports", "ScoringSettings")
    ScoringSettings.objects.get_or_create(pk=1)
    for order, (name, measure, family, weight) in enumerate(DEFAULT_INDICATORS):
        SafetyIndicator.objects.get_or_create(name=name, defaults={
            "measure": measure, "family_code": family, "weight": weight, "sort_order": order})
    for deed, points in DEFAULT_RULES:
        ScoreRule.objects.get_or_create(deed=deed, defaults={"points": points})


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_scoring_models")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
