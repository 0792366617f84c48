"""The synthetic city generator: sizes of every preset (planned in memory), and the demo city as written."""

from __future__ import annotations

import io
import math
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from grids.choices import DepartmentKind, GridKind, Level, Role
from grids.models import Area, Centre, Department, GridProfile, Membership
from grids.seed import (
    DEFAULT_DEMO_PASSWORD,
    AreaPlan,
    SeedResult,
    allocate,
    plan_city,
    rect_geometry,
    seed_city,
    split_rect,
)

CODE_LENGTHS = {Level.CITY: 4, Level.DISTRICT: 6, Level.TOWN: 9, Level.COMMUNITY: 12, Level.GRID: 15}


@pytest.fixture
def demo(db) -> SeedResult:
    return seed_city("demo")


def _sql(query: str, *params: object) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


# --- planning, no database ------------------------------------------------------------------------


def test_allocate_is_exact_and_respects_the_minimum() -> None:
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(allocate(5069, [0.5 + i % 7 for i in range(800)])) == 5069
    assert allocate(100, [1000, 1, 1], minimum=2) == [96, 2, 2]
    with pytest.raises(ValueError):
        allocate(2, [1, 1, 1])


def test_split_rect_tiles_the_parent_with_shared_edges() -> None:
    parent = (113.0, 23.0, 113.3, 23.2)
    weights = [3, 1, 1, 2, 5, 1, 1]
    cells = split_rect(parent, weights, latitude=23.0)
    assert len(cells) == len(weights)
    for (w, s, e, n), weight in zip(cells, weights, strict=True):
        assert math.isclose((e - w) * (n - s), 0.3 * 0.2 * weight / sum(weights), rel_tol=1e-9)
    shapes = [rect_geometry(cell) for cell in cells]
    assert MultiPolygon([polygon for shape in shapes for polygon in shape]).unary_union.equals(
        rect_geometry(parent)
    )
    assert not any(a.relate_pattern(b, "T********") for i, a in enumerate(shapes) for b in shapes[i + 1:])


@pytest.mark.parametrize(
    ("preset", "districts", "towns", "communities", "grids", "workers"),
    [
        ("demo", 2, 4, 12, 48, 60),
        ("foshan", 5, 32, 800, 5069, 11320),
        ("zhongshan", 0, 23, 277, 2000, 4200),
        ("hanzhong", 11, 177, 2010, 4400, 5280),
        ("binhai", 1, 21, 422, 2500, 3000),
    ],
)
def test_every_preset_plans_to_its_reported_size(preset, districts, towns, communities, grids, workers) -> None:
    plan = plan_city(preset)
    by_level = Counter(node.level for node in plan.city.walk())
    # Unary + drops the zero count of a city without districts.
    assert by_level == +Counter({Level.CITY: 1, Level.DISTRICT: districts, Level.TOWN: towns,
                                 Level.COMMUNITY: communities, Level.GRID: grids})
    grid_nodes = plan.by_level(Level.GRID)
    assert sum(g.workers for g in grid_nodes) == workers
    assert min(g.workers for g in grid_nodes) >= 1
    codes = [node.code for node in plan.city.walk()]
    assert len(set(codes)) == len(codes)
    _assert_codes_and_rects(plan.city, has_districts=bool(districts))
    territorial = [g.profile for g in grid_nodes if g.profile.kind == GridKind.TERRITORIAL]
    in_guidance = [p for p in territorial if 300 <= p.households <= 500 and p.population <= 2000]
    assert len(in_guidance) / len(grid_nodes) > 0.9
    assert len(territorial) < len(grid_nodes)  # a few specialised grids
    assert len(in_guidance) < len(territorial)  # a few far outside the guidance


def _assert_codes_and_rects(node: AreaPlan, *, has_districts: bool) -> None:
    assert len(node.code) == CODE_LENGTHS[node.level]
    if not node.children:
        return
    west, south, east, north = node.rect
    area = sum((c.rect[2] - c.rect[0]) * (c.rect[3] - c.rect[1]) for c in node.children)
    assert math.isclose(area, (east - west) * (north - south), rel_tol=1e-9)
    for child in node.children:
        assert child.code.startswith(node.code)
        expected = Level.TOWN if node.level == Level.CITY and not has_districts else node.level + 1
        assert child.level == expected
        assert west <= child.rect[0] < child.rect[2] <= east and south <= child.rect[1] < child.rect[3] <= north
        _assert_codes_and_rects(child, has_districts=has_districts)


def test_plans_are_deterministic() -> None:
    first, second = plan_city("zhongshan"), plan_city("zhongshan")
    assert [(n.code, n.name, n.rect, n.workers) for n in first.city.walk()] == [
        (n.code, n.name, n.rect, n.workers) for n in second.city.walk()
    ]


def test_foshan_uses_the_real_districts_and_towns() -> None:
    plan = plan_city("foshan")
    districts = {d.name: [t.name for t in d.children] for d in plan.city.children}
    assert {name: len(towns) for name, towns in districts.items()} == {
        "禅城区": 4, "南海区": 7, "顺德区": 10, "高明区": 4, "三水区": 7,
    }
    assert districts["禅城区"][0] == "祖庙街道"
    assert plan.city.children[0].code == "440604" and plan.city.children[0].children[0].code == "440604001"


# --- the demo city, written -----------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_topology(demo: SeedResult) -> None:
    counts = Counter(Area.objects.values_list("level", flat=True))
    assert counts == {Level.CITY: 1, Level.DISTRICT: 2, Level.TOWN: 4, Level.COMMUNITY: 12, Level.GRID: 48}
    assert (demo.districts, demo.towns, demo.communities, demo.grids) == (2, 4, 12, 48)
    assert demo.city.code == "9901" and demo.city.path == "9901/"
    for area in Area.objects.exclude(level=Level.CITY).select_related("parent"):
        assert area.parent.level == area.level - 1
        assert area.code.startswith(area.parent.code)
        assert len(area.code) == CODE_LENGTHS[area.level]
        assert area.path == f"{area.parent.path}{area.code}/"
    assert GridProfile.objects.count() == 48
    assert not Area.objects.grids().filter(profile__isnull=True).exists()
    assert Centre.objects.count() == 7
    assert all(c.level == c.area.level for c in Centre.objects.select_related("area"))
    # Every centre-level area has its departments; a town has 6–9, a city or district its bureaus.
    for area in Area.objects.filter(level__lte=Level.TOWN):
        n = area.departments.count()
        assert (6 <= n <= 9) if area.level == Level.TOWN else (n >= 12)
        assert all(d.name.startswith(area.name) for d in area.departments.all())
    assert not Department.objects.filter(memberships__isnull=True).exists()
    workers = Membership.objects.filter(role=Role.GRID_WORKER)
    assert set(workers.values_list("area", flat=True)) == set(Area.objects.grids().values_list("id", flat=True))
    assert not Area.objects.grids().exclude(memberships__role=Role.GRID_LEADER).exists()


@pytest.mark.django_db
def test_demo_boundaries_tile_every_level(demo: SeedResult) -> None:
    assert_levels_tile(expected_parents=1 + 2 + 4 + 12)
    # Each grid's centroid lies in that grid and in no other: point → grid finds it back.
    located = _sql(
        """
        SELECT g.id, array_agg(h.id) FROM grids_area g
        JOIN grids_area h ON h.level = %s AND ST_Covers(h.boundary, g.centroid)
        WHERE g.level = %s GROUP BY g.id
        """,
        Level.GRID, Level.GRID,
    )
    assert len(located) == 48
    assert all(found == [grid] for grid, found in located)
    assert _sql("SELECT DISTINCT ST_SRID(boundary), GeometryType(boundary) FROM grids_area") == [(4326, "MULTIPOLYGON")]


def assert_levels_tile(*, expected_parents: int) -> None:
    """Every parent is the union of its children, and no two areas of a level overlap.

    Inside one outline of the source (a district) the children share the edges of one Voronoi
    diagram, so the union is exact and interiors never meet; where two districts of the source
    meet, their clipped borders may differ by floating-point noise (areas below 1e-12 of a grid).
    """
    parents = _sql(
        """
        SELECT p.code, ST_Area(p.boundary), x.area_sum, ST_Equals(p.boundary, x.joined), x.inside,
               ST_Area(ST_SymDifference(p.boundary, x.joined))
        FROM grids_area p
        JOIN LATERAL (SELECT ST_Union(c.boundary) AS joined, SUM(ST_Area(c.boundary)) AS area_sum,
                             bool_and(ST_Within(c.boundary, ST_Buffer(p.boundary, 1e-9))) AS inside
                      FROM grids_area c WHERE c.parent_id = p.id) x ON x.joined IS NOT NULL
        """
    )
    assert len(parents) == expected_parents
    for code, area, area_sum, equal, inside, symdiff in parents:
        assert area > 0, code
        assert math.isclose(area_sum, area, rel_tol=1e-9), code
        assert equal, code
        assert inside, code
        assert symdiff < 1e-12 * area, code
    (same_district_overlaps, worst), = _sql(
        """
        SELECT count(*) FILTER (WHERE left(a.code, 6) = left(b.code, 6)
                                AND ST_Relate(a.boundary, b.boundary, 'T********')),
               coalesce(max(ST_Area(ST_Intersection(a.boundary, b.boundary))
                            / least(ST_Area(a.boundary), ST_Area(b.boundary))), 0)
        FROM grids_area a JOIN grids_area b ON a.id < b.id AND a.level = b.level AND a.boundary && b.boundary
        """
    )
    assert same_district_overlaps == 0
    assert worst < 1e-9


@pytest.mark.django_db
def test_demo_logins_hold_their_roles(demo: SeedResult, client) -> None:
    town1, town2 = Area.objects.filter(level=Level.TOWN).order_by("code")[:2]
    first_grid = Area.objects.grids().within(town1).order_by("code").first()
    expected = {
        "admin": (Role.ADMIN, None, None),
        "official": (Role.OFFICIAL, "9901", None),
        "district_official": (Role.OFFICIAL, "990101", None),
        "city_operator": (Role.CENTRE_OPERATOR, "9901", None),
        "operator": (Role.CENTRE_OPERATOR, town1.code, None),
        "lead": (Role.CENTRE_LEAD, town1.code, None),
        "worker": (Role.GRID_WORKER, first_grid.code, None),
        "leader": (Role.GRID_LEADER, first_grid.code, None),
        "handler": (Role.DEPT_HANDLER, None, DepartmentKind.URBAN_MANAGEMENT),
    }
    assert set(demo.personas) == set(expected) | {"worker2"}
    for username, (role, area_code, department_kind) in expected.items():
        (membership,) = Membership.objects.filter(user__username=username).select_related("area", "department")
        assert membership.role == role, username
        assert (membership.area.code if membership.area else None) == area_code, username
        if department_kind:
            assert membership.department.kind == department_kind
            assert membership.department.area_id == town1.id
            assert membership.department.name == f"{town1.name}城管中队"
    worker2 = Membership.objects.select_related("area").get(user__username="worker2")
    assert worker2.role == Role.GRID_WORKER and worker2.area.path.startswith(town2.path)

    user_model = get_user_model()
    assert list(user_model.objects.filter(is_staff=True).values_list("username", flat=True)) == ["admin"]
    assert user_model.objects.get(username="admin").is_superuser
    for username in [*expected, "worker2", "w990101001001001a"]:
        assert client.login(request=login_request(), username=username, password=DEFAULT_DEMO_PASSWORD), username
    assert not client.login(request=login_request(), username="worker", password="wrong")
    # One hash shared by every synthetic user: it was computed once.
    assert user_model.objects.values("password").distinct().count() == 1


def login_request():
    """django-axes checks every login against its request (the address it locks out)."""
    from django.test import RequestFactory

    return RequestFactory().post("/login/")


@pytest.mark.django_db
def test_demo_password_comes_from_the_environment(monkeypatch, client) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "another-secret-42")
    result = seed_city("demo")
    assert result.password == "another-secret-42"
    assert client.login(request=login_request(), username="operator", password="another-secret-42")


# --- the command ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_prints_counts_and_logins(english) -> None:
    out = io.StringIO()
    call_command("seed_city", "--preset", "demo", stdout=out)
    text = out.getvalue()
    assert "grids 48" in text
    assert DEFAULT_DEMO_PASSWORD in text
    assert all(name in text for name in ("admin", "district_official", "city_operator", "handler", "worker2"))


@pytest.mark.django_db
def test_if_empty_does_nothing_on_a_seeded_database(demo: SeedResult) -> None:
    before = Area.objects.count()
    out = io.StringIO()
    call_command("seed_city", "--preset", "zhongshan", "--if-empty", stdout=out)
    assert Area.objects.count() == before
    assert "--if-empty" in out.getvalue()


@pytest.mark.django_db
def test_if_empty_seeds_an_empty_database() -> None:
    call_command("seed_city", "--preset", "demo", "--if-empty", stdout=io.StringIO())
    assert Area.objects.grids().count() == 48


@pytest.mark.django_db
def test_second_seed_of_a_preset_is_refused(demo: SeedResult) -> None:
    before = (Area.objects.count(), get_user_model().objects.count())
    with pytest.raises(CommandError, match="9901"):
        call_command("seed_city", "--preset", "demo", stdout=io.StringIO())
    assert (Area.objects.count(), get_user_model().objects.count()) == before


@pytest.mark.django_db
def test_existing_demo_usernames_refuse_the_seed() -> None:
    get_user_model().objects.create_user("admin", password="x")
    with pytest.raises(CommandError, match="admin"):
        call_command("seed_city", "--preset", "demo", stdout=io.StringIO())
    assert not Area.objects.exists()  # the whole seed is one transaction


@pytest.mark.django_db
def test_zhongshan_has_no_district_level() -> None:
    result = seed_city("zhongshan")
    counts = Counter(Area.objects.values_list("level", flat=True))
    assert counts == {Level.CITY: 1, Level.TOWN: 23, Level.COMMUNITY: 277, Level.GRID: 2000}
    assert result.districts == 0 and result.grid_workers == 4200
    towns = Area.objects.filter(level=Level.TOWN)
    assert set(towns.values_list("parent__code", flat=True)) == {"4420"}
    assert all(code.startswith("442000") and len(code) == 9 for code in towns.values_list("code", flat=True))
    assert Area.objects.get(code="442000001").name == "石岐街道"
    assert Centre.objects.count() == 1 + 23
    assert not Area.objects.grids().exclude(memberships__role=Role.GRID_WORKER).exists()
