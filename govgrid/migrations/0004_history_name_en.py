# The English names of categories and departments join their history (events before had none).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0008_category_name_en'),
        ('govgrid', '0003_history_worker_kind_stage_shares'),
        ('grids', '0004_department_name_en'),
    ]

    operations = [
        migrations.AddField(
            model_name='categoryevent',
            name='name_en',
            field=models.CharField(default='', max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='departmentevent',
            name='name_en',
            field=models.CharField(default='', max_length=100),
            preserve_default=False,
        ),
    ]
