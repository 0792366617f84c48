# The deadline sweep's clock in a narrow table of its own (issue #16 item 5, bench/sweep.py).
#
# A light change used to be a non-HOT update of cases_case: `light` (case_light_reported) and
# `next_check_at` (case_next_check_open) were indexed, so each changed case wrote a new entry into all
# of the table's indexes. Now:
# - cases_caseclock holds (case, next_check_at) for the cases whose light can still change, with the
#   index the sweep reads; the trigger below keeps it in step with cases_case.next_check_at whoever
#   writes that column (actions, replanning, the sweep, COPY, a plain UPDATE);
# - the red-light list reads a partial index on the stored column `is_red` (light = 'red'), so only a
#   change to or from red touches an index of cases_case;
# - cases_caseevent loses its case_id index, a prefix of event_case_at (case_id, at);
# - fillfactor 90 leaves room on each page for the new row version (a HOT update stays on its page).
#   Adding the stored column rewrites the table, so the existing rows get that room too.
#
# The rewrite takes an ACCESS EXCLUSIVE lock on cases_case for its duration (~1–2 min at 1M cases on
# the bench machine): run it in a quiet hour.

import django.db.models.deletion
from django.db import migrations, models

CLOCK_SQL = """
CREATE FUNCTION cases_case_clock_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.next_check_at IS NULL THEN
        DELETE FROM cases_caseclock WHERE case_id = NEW.id;
    ELSE
        INSERT INTO cases_caseclock (case_id, next_check_at) VALUES (NEW.id, NEW.next_check_at)
        ON CONFLICT (case_id) DO UPDATE SET next_check_at = EXCLUDED.next_check_at;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cases_case_clock_insert AFTER INSERT ON cases_case
    FOR EACH ROW WHEN (NEW.next_check_at IS NOT NULL) EXECUTE FUNCTION cases_case_clock_sync();
CREATE TRIGGER cases_case_clock_update AFTER UPDATE OF next_check_at ON cases_case
    FOR EACH ROW WHEN (OLD.next_check_at IS DISTINCT FROM NEW.next_check_at)
    EXECUTE FUNCTION cases_case_clock_sync();
INSERT INTO cases_caseclock (case_id, next_check_at)
    SELECT id, next_check_at FROM cases_case WHERE next_check_at IS NOT NULL;
"""

CLOCK_REVERSE_SQL = """
DROP TRIGGER IF EXISTS cases_case_clock_update ON cases_case;
DROP TRIGGER IF EXISTS cases_case_clock_insert ON cases_case;
DROP FUNCTION IF EXISTS cases_case_clock_sync();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0019_grid_open_summary'),
    ]

    operations = [
        migrations.CreateModel(
            name='CaseClock',
            fields=[
                ('case', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name='clock', serialize=False, to='cases.case',
                                              verbose_name='case')),
                ('next_check_at', models.DateTimeField(db_index=True, verbose_name='next light check')),
            ],
            options={
                'verbose_name': 'light clock',
                'verbose_name_plural': 'light clocks',
            },
        ),
        migrations.RunSQL(CLOCK_SQL, CLOCK_REVERSE_SQL),
        migrations.RemoveIndex(
            model_name='case',
            name='case_next_check_open',
        ),
        migrations.RemoveIndex(
            model_name='case',
            name='case_light_reported',
        ),
        # Before the column: its rewrite of the table then packs the pages to 90 %.
        migrations.RunSQL('ALTER TABLE cases_case SET (fillfactor = 90)',
                          'ALTER TABLE cases_case RESET (fillfactor)'),
        migrations.AddField(
            model_name='case',
            name='is_red',
            field=models.GeneratedField(
                db_persist=True,
                expression=models.ExpressionWrapper(models.Q(('light', 'red')), output_field=models.BooleanField()),
                output_field=models.BooleanField(), verbose_name='red light',
            ),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('is_red', True)), fields=['reported_at', 'id'],
                               name='case_red_reported'),
        ),
        # A prefix of event_case_at (case, at): one index fewer to write per event. Only the index goes
        # (AlterField alone would drop and re-validate the foreign key over every event).
        migrations.RunSQL(
            'DROP INDEX IF EXISTS "cases_caseevent_case_id_6c6031ac"',
            'CREATE INDEX IF NOT EXISTS "cases_caseevent_case_id_6c6031ac" ON "cases_caseevent" ("case_id")',
            state_operations=[
                migrations.AlterField(
                    model_name='caseevent',
                    name='case',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name='events', to='cases.case'),
                ),
            ],
        ),
    ]
