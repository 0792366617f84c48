"""The area tree's invariants, kept by the database.

Before a row is written the trigger looks up the parent, refuses a level that is not below the
parent's, and writes ``path`` (parent's path + code + '/') and ``centroid``. When a row's path
changes, its children are touched (an AFTER trigger fires only for columns named in the UPDATE, so
the touch names parent_id) so that their paths follow, level by level. Doing this in the
database rather than in ``save()`` means bulk inserts, the admin, imports and raw SQL all get it.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION grids_area_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_level smallint;
    parent_path varchar;
BEGIN
    IF NEW.parent_id IS NULL THEN
        NEW.path := NEW.code || '/';
    ELSE
        SELECT level, path INTO parent_level, parent_path FROM grids_area WHERE id = NEW.parent_id;
        IF parent_level IS NULL THEN
            RAISE EXCEPTION 'area % has no parent row %', NEW.code, NEW.parent_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF NEW.level <= parent_level THEN
            RAISE EXCEPTION 'area % (level %) cannot be under an area of level %', NEW.code, NEW.level, parent_level
                USING ERRCODE = 'check_violation', CONSTRAINT = 'area_level_below_parent';
        END IF;
        IF TG_OP = 'UPDATE' AND parent_path LIKE OLD.path || '%' THEN
            RAISE EXCEPTION 'area % cannot be placed under itself or its own descendant', NEW.code
                USING ERRCODE = 'check_violation', CONSTRAINT = 'area_no_cycle';
        END IF;
        NEW.path := parent_path || NEW.code || '/';
    END IF;
    IF NEW.boundary IS NOT NULL THEN
        NEW.centroid := ST_Centroid(NEW.boundary);
    ELSE
        NEW.centroid := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER grids_area_before_write
    BEFORE INSERT OR UPDATE OF parent_id, code, level, boundary, path ON grids_area
    FOR EACH ROW EXECUTE FUNCTION grids_area_before_write();

CREATE FUNCTION grids_area_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.path IS DISTINCT FROM OLD.path THEN
        -- Touching parent_id re-runs the before-trigger on each child, which rebuilds its path
        -- from this row's new one and recurses further down.
        UPDATE grids_area SET parent_id = parent_id WHERE parent_id = NEW.id;
    END IF;
    IF NEW.level IS DISTINCT FROM OLD.level AND EXISTS (
        SELECT 1 FROM grids_area WHERE parent_id = NEW.id AND level <= NEW.level
    ) THEN
        RAISE EXCEPTION 'area % (level %) would not be above its children', NEW.code, NEW.level
            USING ERRCODE = 'check_violation', CONSTRAINT = 'area_level_below_parent';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER grids_area_after_update
    AFTER UPDATE OF parent_id, code, level, path ON grids_area
    FOR EACH ROW EXECUTE FUNCTION grids_area_after_update();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS grids_area_after_update ON grids_area;
DROP FUNCTION IF EXISTS grids_area_after_update();
DROP TRIGGER IF EXISTS grids_area_before_write ON grids_area;
DROP FUNCTION IF EXISTS grids_area_before_write();
"""


class Migration(migrations.Migration):
    dependencies = [("grids", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
