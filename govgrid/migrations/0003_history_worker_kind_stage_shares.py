# The fields added to memberships (worker kind) and categories (yellow share per stage) join their history.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0006_dispatch_unit_stage_shares'),
        ('govgrid', '0002_config_history'),
        ('grids', '0003_membership_worker_kind'),
    ]

    operations = [
        # Events written before: every membership got the field's default when grids 0003 added it.
        migrations.AddField(
            model_name='membershipevent',
            name='worker_kind',
            field=models.CharField(default='full_time', max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='categoryevent',
            name='accept_yellow_share',
            field=models.DecimalField(decimal_places=2, max_digits=3, null=True),
        ),
        migrations.AddField(
            model_name='categoryevent',
            name='sign_yellow_share',
            field=models.DecimalField(decimal_places=2, max_digits=3, null=True),
        ),
        migrations.AddField(
            model_name='categoryevent',
            name='verify_yellow_share',
            field=models.DecimalField(decimal_places=2, max_digits=3, null=True),
        ),
    ]
