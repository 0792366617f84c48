"""A believable synthetic population for a seeded city (``seed_city --preset demo`` or
``--population N``): buildings at points inside their grids, houses, households, residents (registered,
floating, a few overseas) with valid, encrypted ID and phone numbers, organisations, building heads,
key persons with their responsible workers and a visit history, some of it late.

Rows are generated grid by grid in chunks and loaded with PostgreSQL COPY (ids reserved from each
table's sequence first, so rows can point at each other in one pass; Django's foreign keys are
DEFERRABLE INITIALLY DEFERRED, checked at commit). Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TextIO

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from grids.choices import Level, Role
from grids.models import Area, Membership
from parties import pii
from parties.choices import (
    AttentionLevel,
    BuildingRoleKind,
    HouseholdKind,
    HouseUse,
    KeyPersonCategory,
    OrganisationKind,
    PartyOrganisationKind,
    RelationToHead,
    ResidenceKind,
)
from parties.models import (
    Building,
    BuildingRole,
    House,
    Household,
    KeyPerson,
    Organisation,
    PartyMember,
    PartyOrganisation,
    Resident,
    Visit,
)

DEMO_POPULATION = 3000
CHUNK_RESIDENTS = 50_000  # rows generated and copied per round: bounded memory at 1 M residents

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红建国志强文斌俊杰晓燕婷雪梅丹浩宇欣怡子涵"
    "梓轩一诺雨桐佳琪思远嘉豪"
)
VISIT_NOTES = ("在家，情况稳定", "电话联系后上门，身体状况良好", "家属在场，已了解近况", "提醒按时服药",
               "生活困难，已反映社区")
ROADS = ("人民路", "解放路", "建设路", "中山路", "和平路", "文明路", "新华路", "东风路", "青年路", "胜利路",
         "朝阳路", "湖滨路", "兴业路", "富民路", "长安路", "光明路")
COMPOUNDS = ("花园", "新村", "小区", "家园", "雅苑", "公寓", "名苑", "华庭")
SHOPS = ("便利店", "五金店", "理发店", "小吃店", "水果店", "药店", "快递站", "早餐店", "洗衣店", "茶餐厅")
COMPANIES = ("科技有限公司", "贸易有限公司", "制衣厂", "电器有限公司", "物流有限公司", "建材经营部")

KEY_CATEGORY_WEIGHTS = {
    KeyPersonCategory.ELDERLY_ALONE: 30, KeyPersonCategory.HARDSHIP: 18, KeyPersonCategory.LEFT_BEHIND_CHILD: 10,
    KeyPersonCategory.MENTAL: 8, KeyPersonCategory.RELEASED: 7, KeyPersonCategory.CORRECTION: 6,
    KeyPersonCategory.DRUG: 5, KeyPersonCategory.YOUTH: 8, KeyPersonCategory.PETITIONER: 8,
}
LEVEL_DAYS = {AttentionLevel.SERIOUS: 7, AttentionLevel.MEDIUM: 14, AttentionLevel.GENERAL: 30}
ORG_KIND_WEIGHTS = {
    OrganisationKind.SHOP: 50, OrganisationKind.COMPANY: 25, OrganisationKind.SOCIAL: 6,
    OrganisationKind.PARTY_BRANCH: 6, OrganisationKind.PROPERTY: 5, OrganisationKind.SCHOOL: 3,
    OrganisationKind.HOSPITAL: 2, OrganisationKind.PUBLIC: 3,
}


@dataclass
class PeopleResult:
    buildings: int = 0
    houses: int = 0
    households: int = 0
    residents: int = 0
    organisations: int = 0
    key_persons: int = 0
    visits: int = 0
    building_roles: int = 0
    party_members: int = 0
    elapsed: float = 0.0
    rows: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list), repr=False)


def summary_line(result: PeopleResult) -> str:
    return (f"people: {result.residents} residents in {result.households} households, {result.houses} houses, "
            f"{result.buildings} buildings, {result.organisations} organisations, {result.key_persons} key persons, "
            f"{result.visits} visits, {result.party_members} party members ({result.elapsed:.1f} s)")


class _Ids:
    """Ids reserved from each table's sequence, handed out in order."""

    def __init__(self, model, count: int):
        sequence = f"{model._meta.db_table}_id_seq"
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [sequence, sequence, max(count, 1)])
            last = cursor.fetchone()[0]
        self.next, self.last = last - max(count, 1) + 1, last

    def take(self) -> int:
        if self.next > self.last:
            raise RuntimeError("reserved ids ran out")
        value = self.next
        self.next += 1
        return value


def _copy(model, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # noqa: S608 (model tables)
        for row in rows:
            copy.write_row(row)


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _People:
    def __init__(self, rng: random.Random, region: str, now: dt.datetime):
        self.rng, self.region, self.now = rng, region, now
        self.today = timezone.localdate(now)
        self.used_ids: set[str] = set()
        self.serial = 0

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))

    def id_number(self, birth: dt.date, female: bool) -> str:
        while True:
            self.serial += 1
            number = pii.make_id_number(self.region, birth, self.rng.randrange(1000) + self.serial, female=female)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def phone(self) -> str:
        return f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"

    def birth(self, min_age: int, max_age: int) -> dt.date:
        return self.today - timedelta(days=self.rng.randint(min_age * 365 + 1, max_age * 365 + 300))


def _region(grid: Area) -> str:
    for code in grid.path.split("/"):
        if len(code) >= 6 and code[:6].isdigit() and code[0] != "0":
            return code[:6]
    return "440604"


def seed_people(city: Area, *, population: int = DEMO_POPULATION, seed: int = 20240601,
                stdout: TextIO | None = None) -> PeopleResult:
    """Write about ``population`` residents over the grids under ``city``, with everything around them."""
    started = time.monotonic()
    rng = random.Random(seed)
    grids = list(Area.objects.filter(path__startswith=city.path, level=Level.GRID).order_by("path"))
    if not grids or population <= 0 or Resident.objects.filter(area_path__startswith=city.path).exists():
        return PeopleResult()
    workers: dict[int, list[int]] = defaultdict(list)
    for user_id, area_id in Membership.objects.filter(role=Role.GRID_WORKER, area__in=grids).values_list(
            "user_id", "area_id").order_by("user_id"):
        workers[area_id].append(user_id)
    shares = [rng.uniform(0.6, 1.4) for _ in grids]
    total = sum(shares)
    targets = [max(1, round(population * share / total)) for share in shares]
    result = PeopleResult()
    now = timezone.now()
    people = _People(rng, _region(grids[0]), now)
    chunk: list[tuple[Area, int]] = []
    in_chunk = 0
    for grid, target in zip(grids, targets, strict=True):
        chunk.append((grid, target))
        in_chunk += target
        if in_chunk >= CHUNK_RESIDENTS:
            _write_chunk(chunk, people, workers, result)
            chunk, in_chunk = [], 0
            if stdout:
                stdout.write(f"  … {result.residents} residents\n")
    if chunk:
        _write_chunk(chunk, people, workers, result)
    result.party_members = seed_party_network(city, seed=seed)
    with connection.cursor() as cursor:
        for model in (Building, House, Household, Resident, Organisation, KeyPerson, Visit, PartyMember):
            cursor.execute(f"ANALYZE {model._meta.db_table}")  # noqa: S608 (model tables)
    result.elapsed = time.monotonic() - started
    return result


PARTY_MEMBER_EVERY = 16  # one adult resident in 16 is a party member (resident id modulo)
COMPOUND_ORG_SHARE = 0.93  # compounds with three or more members that get their own branch (the 93.4 % figure)


@transaction.atomic
def seed_party_network(city: Area, *, seed: int = 20240601) -> int:
    """The party-building network (两网融合) of a seeded city: a committee per community, a party group on
    every grid under it (党小组建到网格), a branch of its own for most compounds with three or more
    members; party members among the adult residents, one party grid worker per grid, and party-member
    building heads. Nothing if the city has a network already. Returns the members written."""
    if PartyOrganisation.objects.filter(area_path__startswith=city.path).exists():
        return 0
    rng = random.Random(seed)
    adult = timezone.localdate() - timedelta(days=18 * 366)
    found = (Resident.objects.filter(area_path__startswith=city.path, moved_out_on__isnull=True,
                                     birth_date__lte=adult, house__isnull=False)
             .annotate(slot=F("id") % PARTY_MEMBER_EVERY).filter(slot=0)
             .order_by("area_path", "id").values_list("id", "grid_id", "area_path", "house__building_id",
                                                       "house__building__compound", "birth_date"))
    by_grid: dict[int, list[tuple]] = defaultdict(list)
    for row in found:
        by_grid[row[1]].append(row)
    grids = {grid.pk: grid for grid in Area.objects.filter(pk__in=list(by_grid)).select_related("parent")}
    committees: dict[int, PartyOrganisation] = {}
    groups: dict[int, PartyOrganisation] = {}
    for grid_id in sorted(by_grid):
        grid = grids[grid_id]
        community = grid.parent or grid
        if community.pk not in committees:
            committees[community.pk] = PartyOrganisation.objects.create(
                name=f"{community.name}党委", kind=PartyOrganisationKind.COMMITTEE, area=community,
                area_path=community.path)
        groups[grid_id] = PartyOrganisation.objects.create(
            name=f"{grid.name}党小组", kind=PartyOrganisationKind.GROUP, area=grid, area_path=grid.path,
            parent=committees[community.pk])
    compounds: dict[str, list[tuple]] = defaultdict(list)
    for rows in by_grid.values():
        for row in rows:
            if row[4]:
                compounds[row[4]].append(row)
    branches: dict[str, PartyOrganisation] = {}
    for name in sorted(compounds):
        rows = compounds[name]
        if len(rows) >= 3 and rng.random() < COMPOUND_ORG_SHARE:
            grid = grids[rows[0][1]]
            community = grid.parent or grid
            branches[name] = PartyOrganisation.objects.create(
                name=f"{name}党支部", kind=PartyOrganisationKind.BRANCH, area=community, area_path=community.path,
                parent=committees[community.pk], compound=name)
    members = []
    for grid_id, rows in by_grid.items():
        headed: set[int] = set()
        for index, (resident_id, _grid, path, building_id, compound, birth) in enumerate(rows):
            head = building_id not in headed and rng.random() < 0.5
            if head:
                headed.add(building_id)
            joined = birth + timedelta(days=366 * rng.randint(18, 30))
            branch = branches.get(compound)
            if branch is not None and not path.startswith(branch.area_path):  # a namesake in another community
                branch = None
            members.append(PartyMember(
                organisation=branch or groups[grid_id], resident_id=resident_id, area_path=path,
                joined_on=min(joined, timezone.localdate()), is_grid_worker=index == 0, is_building_head=head,
                building_id=building_id if head else None))
    PartyMember.objects.bulk_create(members, batch_size=5000)
    return len(members)


class _Placer:
    """Random points inside a grid's boundary, which is no rectangle: drawn in its extent, kept when inside."""

    def __init__(self, grid: Area, rng: random.Random) -> None:
        self.rng = rng
        if grid.boundary is None:
            self.extent, self.inside, self.fallback = (113.0, 23.0, 113.01, 23.01), None, (113.005, 23.005)
        else:
            self.extent, self.inside = grid.boundary.extent, grid.boundary.prepared
            surface = grid.boundary.point_on_surface
            self.fallback = (surface.x, surface.y)

    def point(self) -> str:
        x0, y0, x1, y1 = self.extent
        lon, lat = self.fallback
        for _attempt in range(50):
            x, y = self.rng.uniform(x0, x1), self.rng.uniform(y0, y1)
            if self.inside is None or self.inside.contains(Point(x, y)):
                lon, lat = x, y
                break
        return f"SRID=4326;POINT({lon:.7f} {lat:.7f})"


@transaction.atomic
def _write_chunk(chunk: list[tuple[Area, int]], people: _People, workers: dict[int, list[int]],
                 result: PeopleResult) -> None:
    rng, now, today = people.rng, people.now, people.today
    residents_n = sum(target for _grid, target in chunk)
    households_n = math.ceil(residents_n / 2.0) + len(chunk)
    houses_n = households_n + len(chunk) * 2
    buildings_n = math.ceil(houses_n / 4) + len(chunk)  # 4 to 8 houses a building
    ids = {
        "building": _Ids(Building, buildings_n), "house": _Ids(House, houses_n),
        "household": _Ids(Household, households_n), "resident": _Ids(Resident, residents_n + len(chunk) * 6),
        "organisation": _Ids(Organisation, residents_n // 30 + len(chunk)),
    }
    rows: dict[str, list[tuple]] = defaultdict(list)
    key_persons: list[tuple] = []
    for grid, target in chunk:
        place = _Placer(grid, rng)
        road = rng.choice(ROADS)
        compound = people.name()[:1] + rng.choice(("华", "阳", "新", "福", "安", "康")) + rng.choice(COMPOUNDS)
        placed = 0
        number = 0
        grid_buildings: list[tuple[int, str, int]] = []  # id, address, floors
        while placed < target:
            number += 1
            building_id = ids["building"].take()
            floors, units = rng.choice(((6, 2), (7, 2), (9, 3), (11, 2), (18, 2), (3, 1)))
            road_number = str(rng.randrange(1, 400))
            address = f"{road}{road_number}号{compound}{number}栋"
            point = place.point()
            rows["building"].append((building_id, str(number), road, road_number, compound, f"{number}栋", address,
                                     point, grid.pk, grid.path, floors, units, now, now))
            grid_buildings.append((building_id, address, floors))
            head_id = None
            for slot in range(rng.randint(4, 8)):
                if placed >= target:
                    break
                house_id = ids["house"].take()
                unit, floor = str(slot % units + 1), rng.randint(1, floors)
                room = f"{floor}{slot + 1:02d}"  # the slot keeps rooms unique in the building
                is_rental = rng.random() < 0.28
                vacant = rng.random() < 0.06
                rows["house"].append((house_id, building_id, unit, floor, room,
                                      HouseUse.RESIDENTIAL, round(rng.uniform(45, 140), 2), is_rental, vacant,
                                      None, grid.pk, grid.path, now, now))
                if vacant:
                    continue
                household_id = ids["household"].take()
                floating = is_rental and rng.random() < 0.8
                size = min(target - placed, rng.choice((1, 1, 2, 2, 3, 3, 3, 4, 5)))
                member_ids = [ids["resident"].take() for _ in range(size)]
                rows["household"].append((household_id, f"{grid.code[-6:]}{household_id % 100000:05d}",
                                          HouseholdKind.FLOATING if floating else HouseholdKind.REGISTERED,
                                          house_id, member_ids[0], grid.pk, grid.path, now))
                surname = people.name()[:1]
                for index, resident_id in enumerate(member_ids):
                    if index == 0:
                        relation, birth = RelationToHead.SELF, people.birth(25, 85)
                    elif index == 1:
                        relation, birth = RelationToHead.SPOUSE, people.birth(25, 80)
                    else:
                        relation, birth = rng.choice(((RelationToHead.CHILD, people.birth(0, 30)),
                                                      (RelationToHead.PARENT, people.birth(55, 90)),
                                                      (RelationToHead.GRANDCHILD, people.birth(0, 12))))
                    female = rng.random() < (0.7 if relation == RelationToHead.SPOUSE else 0.48)
                    name = (surname if relation != RelationToHead.SPOUSE else "") + people.name()[
                        (0 if relation == RelationToHead.SPOUSE else 1):] or people.name()
                    number_id = people.id_number(birth, female)
                    phone = people.phone() if birth < today - timedelta(days=14 * 365) else ""
                    kind = (ResidenceKind.FLOATING if floating else
                            ResidenceKind.OVERSEAS if rng.random() < 0.015 else ResidenceKind.REGISTERED)
                    moved_in = max(birth, today - timedelta(days=rng.randint(30, 365 * (3 if floating else 25))))
                    rows["resident"].append((
                        resident_id, name, pii.encrypt(number_id), pii.lookup_hash(number_id, "id"),
                        pii.mask_id_number(number_id), pii.encrypt(phone) if phone else "",
                        pii.lookup_hash(phone, "phone") if phone else "", pii.mask_phone(phone), birth,
                        "F" if female else "M", kind, household_id, relation, house_id, grid.pk, grid.path,
                        moved_in, None, "", now, now,
                    ))
                    if head_id is None and relation == RelationToHead.SELF and rng.random() < 0.5:
                        head_id = resident_id
                    age = (today - birth).days // 365
                    if rng.random() < 0.02 or (age >= 75 and size == 1 and rng.random() < 0.5):
                        key_persons.append((resident_id, grid, age, size))
                placed += size
            if head_id is not None:
                rows["building_role"].append((building_id, BuildingRoleKind.BUILDING_HEAD, head_id, None, "", None,
                                              today - timedelta(days=rng.randint(30, 900))))
        for _ in range(max(1, target // 40)):
            building_id, address, _floors = rng.choice(grid_buildings)
            kind = _weighted(rng, ORG_KIND_WEIGHTS)
            label = {OrganisationKind.SHOP: rng.choice(SHOPS), OrganisationKind.COMPANY: rng.choice(COMPANIES),
                     OrganisationKind.SOCIAL: "志愿者协会", OrganisationKind.PARTY_BRANCH: "党支部",
                     OrganisationKind.PROPERTY: "物业服务有限公司", OrganisationKind.SCHOOL: "小学",
                     OrganisationKind.HOSPITAL: "社区卫生服务站", OrganisationKind.PUBLIC: "社区服务中心"}[kind]
            phone = people.phone()
            rows["organisation"].append((
                ids["organisation"].take(), f"{compound[:2]}{label}", kind, "", building_id, None, address, grid.pk,
                grid.path, people.name(), pii.encrypt(phone), pii.lookup_hash(phone, "phone"), pii.mask_phone(phone),
                rng.randint(2, 80), now, now,
            ))
    kp_ids = _Ids(KeyPerson, len(key_persons))
    visit_rows: list[tuple] = []
    for resident_id, grid, age, size in key_persons:
        if age >= 75 and size == 1:
            category = KeyPersonCategory.ELDERLY_ALONE
        elif age < 16:
            category = KeyPersonCategory.LEFT_BEHIND_CHILD
        else:
            category = _weighted(rng, KEY_CATEGORY_WEIGHTS)
            if category in (KeyPersonCategory.ELDERLY_ALONE, KeyPersonCategory.LEFT_BEHIND_CHILD):
                category = KeyPersonCategory.HARDSHIP
        level = rng.choices(list(LEVEL_DAYS), weights=(1, 3, 6))[0]
        every = LEVEL_DAYS[level]
        worker = rng.choice(workers[grid.pk]) if workers.get(grid.pk) else None
        kp_id = kp_ids.take()
        # A visit history over the last ~90 days: most on time, some late; the last one sets the next due.
        due = now - timedelta(days=90)
        moment = due - timedelta(days=rng.uniform(0, every))
        last = None
        while True:
            late = rng.random() < 0.12
            moment = due + timedelta(days=rng.uniform(0.2, 3)) if late else due - timedelta(days=rng.uniform(0, 2))
            if moment > now:
                break
            visit_rows.append((kp_id, worker, moment, due, moment <= due, rng.choice(VISIT_NOTES), "", "",
                               grid.pk, grid.path, now))
            last = moment
            due = moment + timedelta(days=every)
        overdue = now if due < now - timedelta(days=1) else None
        rows["key_person"].append((kp_id, resident_id, category, level, worker, every, due, last, overdue, True,
                                   grid.pk, grid.path, "", now))
    _copy(Building, ("id", "number", "road", "road_number", "compound", "building_name", "address", "point",
                     "grid_id", "area_path", "floors", "units", "created_at", "updated_at"), rows["building"])
    _copy(House, ("id", "building_id", "unit", "floor", "room", "use", "floor_area", "is_rental", "is_vacant",
                  "owner_id", "grid_id", "area_path", "created_at", "updated_at"), rows["house"])
    _copy(Household, ("id", "number", "kind", "house_id", "head_id", "grid_id", "area_path", "created_at"),
          rows["household"])
    _copy(Resident, ("id", "name", "id_number_enc", "id_number_hash", "id_number_masked", "phone_enc", "phone_hash",
                     "phone_masked", "birth_date", "sex", "residence_kind", "household_id", "relation_to_head",
                     "house_id", "grid_id", "area_path", "moved_in_on", "moved_out_on", "note", "created_at",
                     "updated_at"), rows["resident"])
    _copy(Organisation, ("id", "name", "kind", "credit_code", "building_id", "house_id", "address", "grid_id",
                         "area_path", "contact_name", "contact_phone_enc", "contact_phone_hash",
                         "contact_phone_masked", "employees", "created_at", "updated_at"), rows["organisation"])
    _copy(BuildingRole, ("building_id", "role", "resident_id", "user_id", "unit", "floor", "since"),
          rows["building_role"])
    _copy(KeyPerson, ("id", "resident_id", "category", "attention_level", "worker_id", "visit_every_days",
                      "next_visit_due", "last_visited_at", "overdue_since", "is_active", "grid_id", "area_path",
                      "note", "created_at"), rows["key_person"])
    _copy(Visit, ("key_person_id", "worker_id", "visited_at", "due_at", "on_time", "note", "findings", "photo",
                  "grid_id", "area_path", "created_at"), visit_rows)
    result.buildings += len(rows["building"])
    result.houses += len(rows["house"])
    result.households += len(rows["household"])
    result.residents += len(rows["resident"])
    result.organisations += len(rows["organisation"])
    result.building_roles += len(rows["building_role"])
    result.key_persons += len(rows["key_person"])
    result.visits += len(visit_rows)
