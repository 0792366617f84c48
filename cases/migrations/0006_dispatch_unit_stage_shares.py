from decimal import Decimal

import django.core.validators
from django.db import migrations, models

SHARE_VALIDATORS = [
    django.core.validators.MinValueValidator(Decimal("0.05")),
    django.core.validators.MaxValueValidator(Decimal("0.99")),
]


def backfill_dispatch_limits(apps, schema_editor):
    """Dispatches made before the limit was stored ran on their category's limit."""
    schema_editor.execute(
        "UPDATE cases_dispatch d SET time_limit = cat.time_limit, time_unit = cat.time_unit "
        "FROM cases_case c JOIN cases_category cat ON cat.id = c.category_id WHERE c.id = d.case_id"
    )


def share_field(label):
    return models.DecimalField(
        blank=True, decimal_places=2, help_text="Empty: the default share.", max_digits=3, null=True,
        validators=SHARE_VALIDATORS, verbose_name=label,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0005_open_due_index"),
    ]

    operations = [
        migrations.AddField("category", "accept_yellow_share", share_field("yellow light share, acceptance")),
        migrations.AddField("category", "sign_yellow_share", share_field("yellow light share, signing")),
        migrations.AddField("category", "verify_yellow_share", share_field("yellow light share, verification")),
        migrations.AddField(
            "dispatch", "time_limit",
            models.DecimalField(decimal_places=2, max_digits=6, null=True, verbose_name="time limit"),
        ),
        migrations.AddField(
            "dispatch", "time_unit",
            models.CharField(max_length=16, null=True, verbose_name="time unit", choices=[
                ("natural_minutes", "natural minutes"), ("natural_hours", "natural hours"),
                ("natural_days", "natural days"), ("working_hours", "working hours"),
                ("working_days", "working days")]),
        ),
        migrations.RunPython(backfill_dispatch_limits, migrations.RunPython.noop),
        migrations.AlterField(
            "dispatch", "time_limit", models.DecimalField(decimal_places=2, max_digits=6, verbose_name="time limit"),
        ),
        migrations.AlterField(
            "dispatch", "time_unit",
            models.CharField(max_length=16, verbose_name="time unit", choices=[
                ("natural_minutes", "natural minutes"), ("natural_hours", "natural hours"),
                ("natural_days", "natural days"), ("working_hours", "working hours"),
                ("working_days", "working days")]),
        ),
    ]
