"""Patrols count in the worker scores: points per hour patrolled and per kilometre walked."""

from decimal import Decimal

from django.db import migrations, models

RULES = [("patrol_hour", Decimal("1")), ("patrol_km", Decimal("0.5"))]


def seed(apps, schema_editor):
    ScoreRule = apps.get_model("reports", "ScoreRule")
    for deed, points in RULES:
        ScoreRule.objects.get_or_create(deed=deed, defaults={"points": points})


def unseed(apps, schema_editor):
    apps.get_model("reports", "ScoreRule").objects.filter(deed__in=[deed for deed, _points in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_visit_deeds")]
    operations = [
        migrations.AlterField(
            model_name="scorerule",
            name="deed",
            field=models.CharField(
                choices=[("valid_report", "report accepted"), ("self_resolved", "resolved on the spot"),
                         ("report_only", "report-only filing"), ("verified_on_time", "verification on time"),
                         ("verified_late", "verification late"), ("rejected_report", "report not accepted"),
                         ("visit_on_time", "key-person visit on time"), ("visit_late", "key-person visit late"),
                         ("patrol_hour", "hour of patrol"), ("patrol_km", "kilometre of patrol")],
                max_length=24, unique=True, verbose_name="deed",
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
