"""Case events are append-only: the database refuses UPDATE and DELETE of any row.

TRUNCATE (used by test flushes and by an operator's deliberate reset) is not a row operation and is
not blocked.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION cases_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case events are append-only: % refused on event %', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER cases_event_append_only
    BEFORE UPDATE OR DELETE ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION cases_event_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS cases_event_append_only ON cases_caseevent;
DROP FUNCTION IF EXISTS cases_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
