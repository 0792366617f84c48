"""An area's ``centroid`` always lies inside it: the centroid, or ``ST_PointOnSurface`` where an
irregular shape (a real outline cut into Voronoi cells, grids/outlines.py) has its centroid outside.
Pages and the demo place points "in the grid" at it, and point → grid must find that grid back."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION grids_area_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
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
        -- A point in the area: its centroid, unless that falls outside an irregular shape.
        NEW.centroid := ST_Centroid(NEW.boundary);
        IF NOT ST_Covers(NEW.boundary, NEW.centroid) THEN
            NEW.centroid := ST_PointOnSurface(NEW.boundary);
        END IF;
    ELSE
        NEW.centroid := NULL;
    END IF;
    RETURN NEW;
END $$;

UPDATE grids_area SET centroid = ST_PointOnSurface(boundary)
WHERE boundary IS NOT NULL AND NOT ST_Covers(boundary, centroid);
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION grids_area_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""


class Migration(migrations.Migration):
    dependencies = [("grids", "0005_fill_department_name_en")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
