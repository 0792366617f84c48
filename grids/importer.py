"""Import the area tree (city > district > town > community > grid) from a GeoJSON FeatureCollection.

All or nothing: the whole file is checked first and every problem is collected, each named by the
feature's code and the line where the feature starts. Only a file without problems is written, in
one transaction, parents before children (the tree trigger of migration 0002 needs a row's parent
to exist before the row).

Each feature's ``properties``:

- ``code`` (required): letters, digits, ``-`` and ``_``; a JSON integer is taken as its digits, because
  statistical division codes are often written as numbers.
- ``name`` (required).
- ``level`` (required): ``city|district|town|community|grid``, 1–5, or 市, 区/县, 镇/乡/街道, 村/社区, 网格.
- ``parent``: the parent's code, in this file (in any order) or already in the database; absent or
  null only for a city.
- grids only: ``households``, ``population``, ``buildings`` (non-negative integers) and ``kind``
  (``territorial`` / ``specialised``) go to the grid profile. On other levels they are ignored, since
  census-style files often carry a population on every level.

The geometry is a WGS84 Polygon or MultiPolygon, stored as a MultiPolygon. It may be null for areas
above grid level (a boundary is useful there, not essential), but a grid needs one because the
point → grid lookup depends on it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.geos import GEOSException, LinearRing, MultiPolygon, Polygon
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from govgrid import versioned
from grids.choices import GridKind, Level
from grids.models import Area, GridProfile, analyze_map_tables

CODE_RE = re.compile(r"^[0-9A-Za-z_-]+$")
CODE_MAX_LENGTH = Area._meta.get_field("code").max_length
NAME_MAX_LENGTH = Area._meta.get_field("name").max_length
# PositiveIntegerField is a PostgreSQL integer.
PROFILE_INT_MAX = 2**31 - 1
PROFILE_INT_FIELDS = ("households", "population", "buildings")

LEVEL_ALIASES: dict[str, Level] = {
    "city": Level.CITY, "市": Level.CITY,
    "district": Level.DISTRICT, "区": Level.DISTRICT, "县": Level.DISTRICT,
    "town": Level.TOWN, "镇": Level.TOWN, "乡": Level.TOWN, "街道": Level.TOWN,
    "community": Level.COMMUNITY, "村": Level.COMMUNITY, "社区": Level.COMMUNITY,
    "grid": Level.GRID, "网格": Level.GRID,
}
KIND_ALIASES: dict[str, GridKind] = {
    "territorial": GridKind.TERRITORIAL, "综合网格": GridKind.TERRITORIAL,
    "specialised": GridKind.SPECIALISED, "specialized": GridKind.SPECIALISED, "专属网格": GridKind.SPECIALISED,
}
# Names under which a GeoJSON 2008 "crs" member may say WGS84; anything else is refused rather than
# stored in the wrong place.
WGS84_CRS_NAMES = {
    "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326",
}
BULK_BATCH_SIZE = 500

_WHITESPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with the file: the feature's code (None if it has none), its line, the message."""

    code: str | None
    line: int | None
    message: str
    # Only a JSON syntax error has a column.
    column: int | None = field(default=None, kw_only=True)

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        if self.code is None and self.column is not None:
            return _("line %(line)d, column %(column)d: %(problem)s") % {
                "line": self.line, "column": self.column, "problem": self.message,
            }
        return _("%(code)s (line %(line)d): %(problem)s") % {
            "code": self.code if self.code is not None else _("(no code)"),
            "line": self.line,
            "problem": self.message,
        }


class AreaImportError(Exception):
    """The file has problems; nothing was written. ``problems`` lists every one of them."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class ParsedFeature:
    """One feature as read from the file.

    A field is None only where a problem was reported for it (or, for ``parent_code``, ``boundary``
    and ``profile``, where the file leaves it out), so a feature list without problems is complete.
    """

    line: int
    code: str | None = None
    name: str | None = None
    level: Level | None = None
    parent_code: str | None = None
    boundary: MultiPolygon | None = None
    profile: dict[str, Any] | None = None
    # The parent's row id when the parent is already in the database, filled in by validation.
    existing_parent_id: int | None = None


@dataclass
class ImportResult:
    """What was written: areas per level and grid profiles."""

    counts: dict[Level, int]
    profiles: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _BadGeometry(Exception):
    """Raised inside geometry parsing to carry one message out of the nested loops."""


class _Report:
    """Collects problems, each tied to a feature's code and line."""

    def __init__(self) -> None:
        self.problems: list[ImportProblem] = []

    def add(self, feature: ParsedFeature, message: str) -> None:
        self.problems.append(ImportProblem(feature.code, feature.line, message))


def validate_geojson(text: str) -> tuple[list[ParsedFeature], list[ImportProblem]]:
    """Parse and check a whole GeoJSON file; return its features and every problem found.

    Reads the database once (the codes in the file and the parents they name), whatever the size.
    The problems are in file order; the features are complete only when there are none.
    """
    text = text.removeprefix("\ufeff")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [ImportProblem(None, exc.lineno, _("not valid JSON: %(reason)s") % {"reason": exc.msg},
                                  column=exc.colno)]

    file_problem = _check_collection(document, text)
    if file_problem is not None:
        return [], [file_problem]

    report = _Report()
    features = [
        _parse_feature(raw, line, report) for raw, line in zip(document["features"], _feature_lines(text), strict=True)
    ]
    _check_tree(features, report)
    # Tree problems are found after the per-feature ones; sort so the list reads top to bottom.
    problems = sorted(report.problems, key=lambda p: p.line or 0)
    return features, problems


def import_areas(text: str) -> ImportResult:
    """Check a GeoJSON file and, if it has no problems, write all its areas in one transaction.

    Raises ``AreaImportError`` listing every problem, with nothing written, when the file is bad or
    the database refuses a row (for example a code inserted by someone else since the check).
    """
    features, problems = validate_geojson(text)
    if problems:
        raise AreaImportError(problems)
    try:
        result = _write(features)
    except IntegrityError as exc:
        raise AreaImportError(
            [ImportProblem(None, None, _("the database refused the import, nothing was written: %(error)s")
                           % {"error": str(exc).strip()})]
        ) from exc
    analyze_map_tables()
    return result


# --- reading the file ---------------------------------------------------------------------------


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _check_collection(document: Any, text: str) -> ImportProblem | None:
    """The file-level problem, if any: not a FeatureCollection, no features, a CRS other than WGS84."""
    start_line = _line_of(text, _WHITESPACE.match(text).end())
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        return ImportProblem(None, start_line, _("the file is not a GeoJSON FeatureCollection (found %(found)s)")
                             % {"found": found})
    if not isinstance(document.get("features"), list):
        return ImportProblem(None, start_line, _("the FeatureCollection has no \"features\" list"))
    if not document["features"]:
        return ImportProblem(None, start_line, _("the FeatureCollection has no features"))
    crs = document.get("crs")
    if crs is not None:
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if not isinstance(name, str) or name not in WGS84_CRS_NAMES:
            return ImportProblem(None, start_line, _("the file declares the CRS %(crs)s; only WGS84 "
                                                     "(EPSG:4326, CRS84) is accepted") % {"crs": json.dumps(crs)})
    return None


def _feature_lines(text: str) -> list[int]:
    """The line where each element of the top-level ``features`` array starts.

    ``json`` gives no positions, so walk the top-level object with ``raw_decode``, which decodes one
    value at a given offset and says where it ended. The text is known to be valid JSON whose top
    level is an object with a ``features`` list, so the walk need not check the syntax. If the key
    appears twice the last one wins, as in ``json.loads``.
    """
    decoder = json.JSONDecoder()

    def skip(pos: int) -> int:
        return _WHITESPACE.match(text, pos).end()

    offsets: list[int] = []
    pos = skip(skip(0) + 1)  # past "{"
    while text[pos] != "}":
        key, pos = decoder.raw_decode(text, pos)
        pos = skip(skip(pos) + 1)  # past ":"
        if key == "features" and text[pos] == "[":
            offsets = []
            pos = skip(pos + 1)
            while text[pos] != "]":
                offsets.append(pos)
                _, pos = decoder.raw_decode(text, pos)
                pos = skip(pos)
                if text[pos] == ",":
                    pos = skip(pos + 1)
            pos += 1
        else:
            _, pos = decoder.raw_decode(text, pos)
        pos = skip(pos)
        if text[pos] == ",":
            pos = skip(pos + 1)

    # Count newlines from one feature to the next rather than from the top each time: a 5,000-feature
    # file would otherwise be scanned 5,000 times.
    lines, line, previous = [], 1, 0
    for offset in offsets:
        line += text.count("\n", previous, offset)
        previous = offset
        lines.append(line)
    return lines


def _parse_feature(raw: Any, line: int, report: _Report) -> ParsedFeature:
    feature = ParsedFeature(line=line)
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        report.add(feature, _("not a GeoJSON Feature"))
        return feature
    properties = raw.get("properties")
    if not isinstance(properties, dict):
        properties = {}

    code = properties.get("code")
    feature.code = _clean_code(code)
    if feature.code is None:
        if _is_blank(code):
            report.add(feature, _("the code is missing"))
        else:
            report.add(feature, _("the code %(value)s is not 1–%(max)d letters, digits, '-' or '_'")
                       % {"value": json.dumps(code, ensure_ascii=False), "max": CODE_MAX_LENGTH})
    feature.name = _parse_name(properties.get("name"), feature, report)
    feature.level = _parse_level(properties.get("level"), feature, report)
    parent = properties.get("parent")
    if not _is_blank(parent):
        feature.parent_code = _clean_code(parent)
        if feature.parent_code is None:
            report.add(feature, _("the parent code %(value)s is not a valid code")
                       % {"value": json.dumps(parent, ensure_ascii=False)})

    geometry = raw.get("geometry")
    if geometry is None:
        if feature.level == Level.GRID:
            report.add(feature, _("a grid needs a boundary (Polygon or MultiPolygon geometry)"))
    else:
        try:
            feature.boundary = _parse_boundary(geometry)
        except _BadGeometry as exc:
            report.add(feature, str(exc))

    if feature.level == Level.GRID:
        feature.profile = _parse_profile(properties, feature, report)
    return feature


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean_code(value: Any) -> str | None:
    """The code as stored, or None if it is not one. Integers count: codes are often numbers in files."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not CODE_RE.match(value) or len(value) > CODE_MAX_LENGTH:
        return None
    return value


def _parse_name(value: Any, feature: ParsedFeature, report: _Report) -> str | None:
    if not isinstance(value, str) or not value.strip():
        report.add(feature, _("the name is missing"))
        return None
    value = value.strip()
    if len(value) > NAME_MAX_LENGTH:
        report.add(feature, _("the name is longer than %(max)d characters") % {"max": NAME_MAX_LENGTH})
        return None
    return value


def _parse_level(value: Any, feature: ParsedFeature, report: _Report) -> Level | None:
    if isinstance(value, str):
        value = value.strip()
        if value.isdigit():
            value = int(value)
        else:
            level = LEVEL_ALIASES.get(value.lower())
            if level is not None:
                return level
    if isinstance(value, int) and not isinstance(value, bool) and value in Level.values:
        return Level(value)
    if value is None or value == "":
        report.add(feature, _("the level is missing"))
    else:
        report.add(feature, _("unknown level %(level)s; use city, district, town, community, grid or 1–5")
                   % {"level": json.dumps(value, ensure_ascii=False)})
    return None


def _parse_profile(properties: dict[str, Any], feature: ParsedFeature, report: _Report) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    for name in PROFILE_INT_FIELDS:
        value = properties.get(name)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= PROFILE_INT_MAX:
            profile[name] = value
        else:
            report.add(feature, _("%(field)s must be a whole number from 0, not %(value)s")
                       % {"field": name, "value": json.dumps(value, ensure_ascii=False)})
    kind = properties.get("kind")
    if kind is not None:
        found = KIND_ALIASES.get(kind.strip().lower()) if isinstance(kind, str) else None
        if found is None:
            report.add(feature, _("unknown grid kind %(kind)s; use territorial or specialised")
                       % {"kind": json.dumps(kind, ensure_ascii=False)})
        else:
            profile["kind"] = found
    return profile


def _parse_boundary(geometry: Any) -> MultiPolygon:
    """A WGS84 MultiPolygon from a GeoJSON Polygon or MultiPolygon, or ``_BadGeometry`` saying why not.

    Built from the coordinates with GEOS directly, so every position is checked on the way and the
    message can say which check failed; GEOS's ``valid_reason`` then names self-intersections etc.
    """
    if not isinstance(geometry, dict):
        raise _BadGeometry(_("the geometry is not a GeoJSON geometry object"))
    geometry_type = geometry.get("type")
    if geometry_type not in ("Polygon", "MultiPolygon"):
        raise _BadGeometry(_("geometry type %(type)s is not accepted; use Polygon or MultiPolygon")
                           % {"type": json.dumps(geometry_type)})
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry_type == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise _BadGeometry(_("the %(type)s has no coordinates") % {"type": geometry_type})

    try:
        boundary = MultiPolygon(*(_polygon(rings) for rings in polygons), srid=4326)
    except (GEOSException, ValueError, TypeError) as exc:
        # _polygon checks what it can first, so this is GEOS refusing something unforeseen.
        raise _BadGeometry(_("the geometry cannot be built: %(error)s") % {"error": exc}) from exc
    if not boundary.valid:
        raise _BadGeometry(_("invalid polygon: %(reason)s") % {"reason": boundary.valid_reason})
    return boundary


def _polygon(rings: Any) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise _BadGeometry(_("a polygon needs at least one ring of positions"))
    return Polygon(*(_ring(positions) for positions in rings))


def _ring(positions: Any) -> LinearRing:
    if not isinstance(positions, list) or len(positions) < 4:
        raise _BadGeometry(_("a polygon ring needs at least 4 positions"))
    points = [_position(p) for p in positions]
    if points[0] != points[-1]:
        raise _BadGeometry(_("a polygon ring must end where it starts"))
    return LinearRing(points)


def _position(value: Any) -> tuple[float, float]:
    """(lon, lat) from a GeoJSON position; a third (height) value is dropped, the field is 2D."""
    if (
        not isinstance(value, list)
        or len(value) < 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value[:2])
    ):
        raise _BadGeometry(_("malformed position %(position)s") % {"position": json.dumps(value)[:60]})
    lon, lat = value[0], value[1]
    # Written so that NaN and infinities (which json accepts) fail too.
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _BadGeometry(_("position %(lon)s, %(lat)s is outside longitude -180..180 / latitude -90..90")
                           % {"lon": lon, "lat": lat})
    return float(lon), float(lat)


# --- checking the tree --------------------------------------------------------------------------


def _check_tree(features: list[ParsedFeature], report: _Report) -> None:
    """Duplicate codes, parents that cannot be found, and levels out of order, in one query."""
    by_code: dict[str, ParsedFeature] = {}
    for feature in features:
        if feature.code is None:
            continue
        first = by_code.get(feature.code)
        if first is None:
            by_code[feature.code] = feature
        else:
            report.add(feature, _("duplicate code, first used on line %(first)d") % {"first": first.line})

    wanted = set(by_code) | {f.parent_code for f in features if f.parent_code is not None}
    in_database = {row["code"]: row for row in Area.objects.filter(code__in=wanted).values("id", "code", "level")}

    for feature in features:
        if feature.code in in_database:
            report.add(feature, _("code already in the database; the import does not update areas"))
        _check_parent(feature, by_code, in_database, report)


def _check_parent(
    feature: ParsedFeature,
    by_code: dict[str, ParsedFeature],
    in_database: dict[str, dict[str, Any]],
    report: _Report,
) -> None:
    level = feature.level
    parent_code = feature.parent_code
    if parent_code is None:
        if level is not None and level != Level.CITY:
            report.add(feature, _("level out of order: a %(level)s needs a parent") % {"level": level.label})
        return
    if parent_code == feature.code:
        report.add(feature, _("the area is its own parent"))
        return

    # A code both in the file and in the database is already an error; the file's row is the one
    # its children mean.
    if parent_code in by_code:
        parent_level = by_code[parent_code].level
    elif parent_code in in_database:
        parent_level = Level(in_database[parent_code]["level"])
        feature.existing_parent_id = in_database[parent_code]["id"]
    else:
        report.add(feature, _("parent %(parent)s not found in the file or the database") % {"parent": parent_code})
        return

    if level == Level.CITY:
        report.add(feature, _("level out of order: a city has no parent, but %(parent)s is given")
                   % {"parent": parent_code})
    elif level is not None and parent_level is not None and level <= parent_level:
        report.add(feature, _("level out of order: a %(level)s cannot be under %(parent)s, a %(parent_level)s")
                   % {"level": level.label, "parent": parent_code, "parent_level": parent_level.label})


# --- writing ------------------------------------------------------------------------------------


@transaction.atomic
def _write(features: list[ParsedFeature]) -> ImportResult:
    versioned.bump("centres", "scope")  # the areas are bulk-written below
    """Insert level by level: a parent's level is always lower, so it is written in an earlier round.

    The tree trigger fills ``path`` and ``centroid`` on each row and would refuse a bad parent, which
    the checks have already ruled out unless the database changed in between.
    """
    ids: dict[str, int] = {}
    counts: Counter[Level] = Counter()
    grids: list[tuple[Area, dict[str, Any]]] = []
    for level in Level:
        rows = [
            Area(
                code=f.code, name=f.name, level=level, boundary=f.boundary,
                parent_id=ids.get(f.parent_code, f.existing_parent_id),
            )
            for f in features
            if f.level == level
        ]
        if not rows:
            continue
        Area.objects.bulk_create(rows, batch_size=BULK_BATCH_SIZE)
        ids.update((row.code, row.pk) for row in rows)
        counts[level] = len(rows)
        if level == Level.GRID:
            profiles = {f.code: f.profile or {} for f in features if f.level == Level.GRID}
            grids = [(row, profiles[row.code]) for row in rows]

    GridProfile.objects.bulk_create(
        [GridProfile(grid=grid, **profile) for grid, profile in grids], batch_size=BULK_BATCH_SIZE
    )
    return ImportResult(counts=dict(counts), profiles=len(grids))


def summary(result: ImportResult) -> list[str]:
    """Lines for people: how many areas of each level were written, and the grid profiles."""
    lines = [ngettext("Imported %(count)d area:", "Imported %(count)d areas:", result.total) % {"count": result.total}]
    lines += [f"  {level.label}: {result.counts[level]}" for level in Level if level in result.counts]
    lines.append("  " + _("grid profiles: %(count)d") % {"count": result.profiles})
    return lines
