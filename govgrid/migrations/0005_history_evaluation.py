# The weights of the unit evaluation (reports.EvaluationSettings) join the configuration history.

import django.db.models.deletion
from django.db import migrations, models


def record_baseline(apps, schema_editor):
    """The row migration reports 0007 seeded, as it is now (label "baseline"), so that the first change
    shows a "before"; the triggers are installed after migrate."""
    schema_editor.execute(
        "INSERT INTO govgrid_evaluationsettingsevent (pgh_created_at, pgh_label, pgh_obj_id, id, weight_cases, "
        "weight_work, weight_plans, weight_campaigns) SELECT NOW(), 'baseline', id, id, weight_cases, weight_work, "
        "weight_plans, weight_campaigns FROM reports_evaluationsettings"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('govgrid', '0004_history_name_en'),
        ('pghistory', '0007_auto_20250421_0444'),
        ('reports', '0007_evaluation'),
    ]

    operations = [
        migrations.CreateModel(
            name='EvaluationSettingsEvent',
            fields=[
                ('pgh_id', models.AutoField(primary_key=True, serialize=False)),
                ('pgh_created_at', models.DateTimeField(auto_now_add=True)),
                ('pgh_label', models.TextField(help_text='The event label.')),
                ('id', models.BigIntegerField()),
                ('weight_cases', models.DecimalField(decimal_places=2, max_digits=5)),
                ('weight_work', models.DecimalField(decimal_places=2, max_digits=5)),
                ('weight_plans', models.DecimalField(decimal_places=2, max_digits=5)),
                ('weight_campaigns', models.DecimalField(decimal_places=2, max_digits=5)),
                ('pgh_context', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='pghistory.context')),
                ('pgh_obj', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='reports.evaluationsettings')),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.RunPython(record_baseline, migrations.RunPython.noop),
    ]
