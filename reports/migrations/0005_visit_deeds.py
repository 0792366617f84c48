"""Key-person visits count in the worker scores: one on time earns a point, a late one costs one."""

from decimal import Decimal

from django.db import migrations, models

RULES = [("visit_on_time", Decimal("1")), ("visit_late", Decimal("-1"))]


def seed(apps, schema_editor):
    ScoreRule = apps.get_model("reports", "ScoreRule")
    for deed, points in RULES:
        ScoreRule.objects.get_or_create(deed=deed, defaults={"points": points})


def unseed(apps, schema_editor):
    apps.get_model("reports", "ScoreRule").objects.filter(deed__in=[deed for deed, _points in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_cohort_measures")]
    operations = [
        migrations.AlterField(
            model_name="scorerule",
            name="deed",
            field=models.CharField(
                choices=[("valid_report", "report accepted"), ("self_resolved", "resolved on the spot"),
                         ("report_only", "report-only filing"), ("verified_on_time", "verification on time"),
                         ("verified_late", "verification late"), ("rejected_report", "report not accepted"),
                         ("visit_on_time", "key-person visit on time"), ("visit_late", "key-person visit late")],
                max_length=24, unique=True, verbose_name="deed",
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
