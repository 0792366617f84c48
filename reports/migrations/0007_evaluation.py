# The weights of the unit evaluation 三考合一, and its default row.

import django.core.validators
import django.db.models.expressions
import django.db.models.lookups
from django.db import migrations, models

# Case handling 30, the work (department) score 20, plan progress 30, campaign results 20: the brief of
# issue #15; negative-list events take their points off the total. Administrators tune them.
DEFAULT_WEIGHTS = {"weight_cases": 30, "weight_work": 20, "weight_plans": 30, "weight_campaigns": 20}


def seed(apps, schema_editor):
    EvaluationSettings = apps.get_model("reports", "EvaluationSettings")
    EvaluationSettings.objects.get_or_create(pk=1, defaults=DEFAULT_WEIGHTS)


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0006_patrols'),
    ]

    operations = [
        migrations.CreateModel(
            name='EvaluationSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weight_cases', models.DecimalField(decimal_places=2, default=30, max_digits=5, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='weight of case handling (on-time closure)')),
                ('weight_work', models.DecimalField(decimal_places=2, default=20, max_digits=5, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='weight of the work score (department score)')),
                ('weight_plans', models.DecimalField(decimal_places=2, default=30, max_digits=5, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='weight of plan progress')),
                ('weight_campaigns', models.DecimalField(decimal_places=2, default=20, max_digits=5, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='weight of campaign results')),
            ],
            options={
                'verbose_name': 'evaluation settings',
                'verbose_name_plural': 'evaluation settings',
                'constraints': [models.CheckConstraint(condition=django.db.models.lookups.Exact(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('weight_cases'), '+', models.F('weight_work')), '+', models.F('weight_plans')), '+', models.F('weight_campaigns')), 100), name='evaluationsettings_weights_sum_100', violation_error_message='The weights of the evaluation must add up to 100.')],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
