# Departments seeded before grids 0004 get their English name (the seed runs only on an empty database).

import pgtrigger
from django.db import migrations


def fill(apps, schema_editor):
    from grids.department_names import english_name

    Department = apps.get_model("grids", "Department")
    rows = []
    for department in Department.objects.filter(name_en="").select_related("area").iterator(chunk_size=2000):
        department.name_en = english_name(department.area.name, department.name)
        if department.name_en:
            rows.append(department)
    # django-pgtrigger installs the history triggers after migrating (PGTRIGGER_INSTALL_ON_MIGRATE), so
    # here the department's history trigger is still the one from before name_en, while its event table
    # (govgrid 0004) already has the NOT NULL column: skip that trigger for this derived fill.
    with pgtrigger.ignore("grids.Department:update_update"):
        Department.objects.bulk_update(rows, ["name_en"], batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ('grids', '0004_department_name_en'),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
