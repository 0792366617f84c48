# Categories get an English name, shown on English pages (empty: the Chinese name).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0007_client_uuid'),
    ]

    operations = [
        migrations.AddField(
            model_name='category',
            name='name_en',
            field=models.CharField(blank=True, default='', help_text='Shown on English pages; empty: the Chinese name.', max_length=100, verbose_name='English name'),
            preserve_default=False,
        ),
    ]
