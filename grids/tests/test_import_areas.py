"""Importing the area tree from GeoJSON: a good file lands whole, a bad one is refused whole.

Files are built here with one feature per line, so feature ``i`` (from 0) starts on line ``i + 2``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

import grids.importer
from grids.choices import GridKind, Level
from grids.importer import AreaImportError, ImportProblem, import_areas, validate_geojson
from grids.models import Area, GridProfile

pytestmark = pytest.mark.django_db

# Around Foshan (≈ 113.12E 23.02N).
LON, LAT = 113.0, 23.0


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in English whatever the zh-hans catalogue says one day.
    with translation.override("en"):
        yield


def box(x: float = 0, y: float = 0, size: float = 0.01) -> dict[str, Any]:
    """A square Polygon geometry ``size`` degrees wide, ``x``/``y`` steps away from LON/LAT."""
    x0, y0 = LON + x * size, LAT + y * size
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


BOW_TIE = {
    "type": "Polygon",
    "coordinates": [[[LON, LAT], [LON + 0.01, LAT + 0.01], [LON + 0.01, LAT], [LON, LAT + 0.01], [LON, LAT]]],
}


def feature(code: str | None, level: Any, parent: str | None = None, geometry: Any = "box", **props: Any) -> dict:
    properties = {"code": code, "name": f"area {code}", "level": level, "parent": parent, **props}
    return {"type": "Feature", "properties": properties, "geometry": box() if geometry == "box" else geometry}


def collection(*features: dict) -> str:
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    return '{"type": "FeatureCollection", "features": [\n' + body + "\n]}\n"


def tree() -> list[dict]:
    """City → district → town → community: a valid top for files that add a bad feature under it."""
    return [
        feature("4406", "city", geometry=box(size=1)),
        feature("440604", "district", "4406", geometry=box(size=0.5)),
        feature("440604001", "town", "440604", geometry=box(size=0.1)),
        feature("440604001001", "community", "440604001", geometry=box(size=0.02)),
    ]


def assert_refused(text: str, *expected: tuple[str | None, int, str]) -> list[ImportProblem]:
    """The import fails with exactly these (code, line, words in the message), and writes nothing."""
    before = Area.objects.count()
    with pytest.raises(AreaImportError) as caught:
        import_areas(text)
    problems = caught.value.problems
    assert [(p.code, p.line) for p in problems] == [(code, line) for code, line, _ in expected], problems
    for problem, (code, line, words) in zip(problems, expected, strict=True):
        message = str(problem)
        assert words in message
        assert message.startswith(f"{code or '(no code)'} (line {line}): ")
    assert Area.objects.count() == before
    return problems


# --- good files ---------------------------------------------------------------------------------


def test_a_whole_tree_in_any_order_is_imported_with_paths_and_grid_profiles() -> None:
    features = [
        feature("4406", "市", geometry=box(size=1)),
        # An area above grid level may come without a boundary.
        feature("440604", 2, "4406", geometry=None),
        feature("440604001", "街道", "440604", geometry=box(size=0.1)),
        feature("440604001001", "Community", "440604001", geometry=box(size=0.02)),
        feature(
            "440604001001001", "网格", "440604001001", geometry=box(),
            households=420, population=1300, buildings=12, kind="specialised",
        ),
        feature(
            "440604001001002", "5", "440604001001",
            geometry={"type": "MultiPolygon", "coordinates": [box(x=1)["coordinates"]]},
        ),
    ]
    random.Random(4406).shuffle(features)

    result = import_areas(collection(*features))

    assert result.counts == {Level.CITY: 1, Level.DISTRICT: 1, Level.TOWN: 1, Level.COMMUNITY: 1, Level.GRID: 2}
    assert (result.total, result.profiles) == (6, 2)
    grid = Area.objects.get(code="440604001001001")
    assert grid.level == Level.GRID
    assert grid.name == "area 440604001001001"
    assert grid.path == "4406/440604/440604001/440604001001/440604001001001/"
    assert grid.parent.code == "440604001001"
    assert grid.boundary.geom_type == "MultiPolygon"
    assert grid.boundary.srid == 4326
    assert grid.centroid is not None
    assert grid.profile.households == 420
    assert grid.profile.population == 1300
    assert grid.profile.buildings == 12
    assert grid.profile.kind == GridKind.SPECIALISED
    other = GridProfile.objects.get(grid__code="440604001001002")
    assert (other.kind, other.households) == (GridKind.TERRITORIAL, 0)
    assert Area.objects.get(code="440604").boundary is None
    assert Area.objects.get(code="4406").path == "4406/"
    assert Area.objects.within(Area.objects.get(code="440604001")).count() == 4


def test_the_parent_may_already_be_in_the_database() -> None:
    # Zhongshan has no district level: its towns sit directly under the city.
    Area.objects.create(code="4420", name="中山市", level=Level.CITY)
    text = collection(
        feature("442000001", "镇", "4420", geometry=box(size=0.1)),
        feature("442000001001", "社区", "442000001", geometry=box(size=0.02)),
    )

    result = import_areas(text)

    assert result.counts == {Level.TOWN: 1, Level.COMMUNITY: 1}
    assert Area.objects.get(code="442000001001").path == "4420/442000001/442000001001/"


def test_checking_reads_the_database_once(django_assert_num_queries: Any) -> None:
    Area.objects.create(code="4420", name="中山市", level=Level.CITY)
    grids = [feature(f"442000001001{i:03d}", "grid", "442000001001", geometry=box(x=i)) for i in range(5)]
    text = collection(
        feature("442000001", "town", "4420"), feature("442000001001", "community", "442000001"), *grids
    )

    with django_assert_num_queries(1):
        features, problems = validate_geojson(text)

    assert problems == []
    assert len(features) == 7


def test_line_numbers_follow_multi_line_features_and_ignore_decoys() -> None:
    document = {
        # Nested "features" before the real list must not be mistaken for it.
        "name": "features [ {",
        "metadata": {"features": [{"type": "Feature"}], "note": "line\nbreak"},
        "type": "FeatureCollection",
        "features": [feature(f"X{i}", "town", "NOPE") for i in range(3)],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    # With indent=2 a feature of the top-level list is the only thing opening on a line of its own
    # at four spaces.
    starts = [number for number, line in enumerate(text.splitlines(), start=1) if line == "    {"]
    assert len(starts) == 3

    assert_refused(text, *[(f"X{i}", line, "parent NOPE not found") for i, line in enumerate(starts)])


# --- bad files: each is refused whole -----------------------------------------------------------


def test_missing_parent() -> None:
    assert_refused(
        collection(*tree(), feature("440604001001001", "grid", "440604001009")),
        ("440604001001001", 6, "parent 440604001009 not found in the file or the database"),
    )


def test_self_intersecting_polygon() -> None:
    assert_refused(
        collection(*tree(), feature("440604001001001", "grid", "440604001001", geometry=BOW_TIE)),
        ("440604001001001", 6, "invalid polygon: Self-intersection"),
    )


def test_duplicate_code_in_the_file() -> None:
    assert_refused(
        collection(*tree(), feature("440604001", "town", "440604")),
        ("440604001", 6, "duplicate code, first used on line 4"),
    )


def test_code_already_in_the_database() -> None:
    Area.objects.create(code="4406", name="佛山市", level=Level.CITY)
    assert_refused(collection(*tree()), ("4406", 2, "code already in the database"))


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (feature("C2", "community", "G1"), "a community cannot be under G1, a grid"),
        (feature("T2", "town", "440604001001"), "a town cannot be under 440604001001, a community"),
        (feature("D2", "district", None), "a district needs a parent"),
        (feature("4407", "city", "4406"), "a city has no parent, but 4406 is given"),
        (feature("C3", "community", "C3"), "the area is its own parent"),
    ],
    ids=["community-under-grid", "town-under-community", "district-without-parent", "city-with-parent", "self"],
)
def test_level_out_of_order(bad: dict, words: str) -> None:
    grid = feature("G1", "grid", "440604001001")
    assert_refused(collection(*tree(), grid, bad), (bad["properties"]["code"], 7, words))


def test_unknown_level() -> None:
    assert_refused(
        collection(*tree(), feature("44", "province")),
        ("44", 6, 'unknown level "province"'),
    )


def test_wrong_geometry_type() -> None:
    point = {"type": "Point", "coordinates": [LON, LAT]}
    assert_refused(
        collection(*tree(), feature("G1", "grid", "440604001001", geometry=point)),
        ("G1", 6, 'geometry type "Point" is not accepted'),
    )


def test_coordinates_outside_wgs84() -> None:
    # Web-Mercator metres passed off as degrees.
    metres = {"type": "Polygon", "coordinates": [[[12592000, 2632000], [12593000, 2632000],
                                                  [12593000, 2633000], [12592000, 2632000]]]}
    assert_refused(
        collection(*tree(), feature("G1", "grid", "440604001001", geometry=metres)),
        ("G1", 6, "position 12592000, 2632000 is outside longitude -180..180 / latitude -90..90"),
    )


def test_unclosed_ring() -> None:
    ring = box()["coordinates"][0][:-1] + [[LON + 0.005, LAT]]
    assert_refused(
        collection(*tree(), feature("G1", "grid", "440604001001", geometry={"type": "Polygon", "coordinates": [ring]})),
        ("G1", 6, "a polygon ring must end where it starts"),
    )


def test_a_grid_needs_a_boundary() -> None:
    assert_refused(
        collection(*tree(), feature("G1", "grid", "440604001001", geometry=None)),
        ("G1", 6, "a grid needs a boundary"),
    )


def test_missing_code_and_name() -> None:
    nameless = feature("G1", "grid", "440604001001")
    nameless["properties"]["name"] = " "
    assert_refused(
        collection(
            *tree(), feature(None, "grid", "440604001001"), nameless, feature("bad code!", "grid", "440604001001")
        ),
        (None, 6, "(no code) (line 6): the code is missing"),
        ("G1", 7, "the name is missing"),
        (None, 8, "the code \"bad code!\" is not 1–32 letters, digits, '-' or '_'"),
    )


def test_bad_grid_profile_values() -> None:
    assert_refused(
        collection(*tree(), feature("G1", "grid", "440604001001", households=-3, kind="mobile")),
        ("G1", 6, "households must be a whole number from 0, not -3"),
        ("G1", 6, 'unknown grid kind "mobile"'),
    )


def test_bad_json_reports_line_and_column() -> None:
    text = '{"type": "FeatureCollection", "features": [\n{"type": "Feature"\n "properties": {}}\n]}'
    features, problems = validate_geojson(text)
    assert features == []
    assert [str(p) for p in problems] == ["line 3, column 2: not valid JSON: Expecting ',' delimiter"]
    with pytest.raises(AreaImportError):
        import_areas(text)
    assert Area.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('\n\n{"type": "Feature", "properties": {}}', "not a GeoJSON FeatureCollection (found Feature)"),
        ("\n\n[]", "not a GeoJSON FeatureCollection (found list)"),
        ('\n\n{"type": "FeatureCollection"}', 'the FeatureCollection has no "features" list'),
        ('\n\n{"type": "FeatureCollection", "features": []}', "the FeatureCollection has no features"),
        (
            '\n\n{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}, '
            '"features": [{}]}',
            "only WGS84",
        ),
    ],
    ids=["feature", "list", "no-features", "empty", "crs"],
)
def test_not_a_feature_collection(text: str, words: str) -> None:
    features, problems = validate_geojson(text)
    assert len(problems) == 1
    assert str(problems[0]).startswith("line 3: ") or str(problems[0]).startswith("(no code) (line 3): ")
    assert words in str(problems[0])
    with pytest.raises(AreaImportError):
        import_areas(text)
    assert Area.objects.count() == 0


def test_every_bad_feature_is_reported() -> None:
    text = collection(
        feature("G9", "grid", "C9", geometry=BOW_TIE),
        *tree(),
        feature("440604", "district", "4406"),
        feature("T2", "village", "440604"),
        feature("G1", "grid", "440604001001", geometry={"type": "LineString", "coordinates": [[LON, LAT]] * 2}),
    )
    assert_refused(
        text,
        ("G9", 2, "invalid polygon: Self-intersection"),
        ("G9", 2, "parent C9 not found"),
        ("440604", 7, "duplicate code, first used on line 4"),
        ("T2", 8, 'unknown level "village"'),
        ("G1", 9, 'geometry type "LineString" is not accepted'),
    )


def test_a_database_refusal_midway_rolls_back_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    real_validate = grids.importer.validate_geojson

    def validate_then_lose_a_race(text: str) -> tuple:
        # Someone else writes one of the file's grid codes between the check and the insert, so the
        # grid round fails after the city, district, town and community rounds went in.
        checked = real_validate(text)
        Area.objects.create(code="G1", name="elsewhere", level=Level.CITY, boundary=None)
        return checked

    monkeypatch.setattr(grids.importer, "validate_geojson", validate_then_lose_a_race)

    with pytest.raises(AreaImportError) as caught:
        import_areas(collection(*tree(), feature("G1", "grid", "440604001001")))

    assert "the database refused the import, nothing was written" in str(caught.value)
    assert list(Area.objects.values_list("code", flat=True)) == ["G1"]


# --- through the command ------------------------------------------------------------------------


def test_command_imports_and_prints_counts_per_level(tmp_path: Any) -> None:
    path = tmp_path / "foshan.geojson"
    # A byte-order mark, as Windows tools write it, is accepted.
    path.write_text("\ufeff" + collection(*tree(), feature("G1", "grid", "440604001001")), encoding="utf-8")
    out = StringIO()

    call_command("import_areas", str(path), stdout=out)

    assert Area.objects.count() == 5
    assert out.getvalue().splitlines() == [
        "Imported 5 areas:", "  city: 1", "  district: 1", "  town: 1", "  community: 1", "  grid: 1",
        "  grid profiles: 1",
    ]


def test_command_lists_every_problem_and_writes_nothing(tmp_path: Any) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(
        collection(
            *tree(), feature("G1", "grid", "440604001009"), feature("G2", "grid", "440604001001", geometry=BOW_TIE)
        ),
        encoding="utf-8",
    )

    with pytest.raises(CommandError) as caught:
        call_command("import_areas", str(path))

    assert str(caught.value).splitlines() == [
        f"2 problems in {path}; nothing was imported:",
        "G1 (line 6): parent 440604001009 not found in the file or the database",
        "G2 (line 7): invalid polygon: Self-intersection[113.005 23.005]",
    ]
    assert Area.objects.count() == 0


def test_command_reports_an_unreadable_file(tmp_path: Any) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_areas", str(tmp_path / "missing.geojson"))

