"""The seed case categories and their loader (cases/categories_seed.py, ``manage.py seed_categories``)."""

from __future__ import annotations

import dataclasses
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.categories_seed import FAMILIES, load_categories
from cases.choices import Urgency
from cases.models import Category, CategoryLead
from govgrid.workcalendar import TimeUnit
from grids.choices import DepartmentKind, Level

# The families DESIGN.md §5 names, each with leaves it names (by a word of the leaf's name).
DESIGN_FAMILIES: dict[str, tuple[str, ...]] = {
    "市容环境": ("暴露垃圾", "积存垃圾渣土", "道路不洁", "私搭乱建", "乱堆物料", "道路破损"),
    "宣传广告": (),
    "施工管理": ("施工扰民", "工地扬尘", "施工占道"),
    "突发事件": ("路面塌陷", "管道破裂", "道路积水", "群体性事件"),
    "街面秩序": ("无照经营游商", "占道经营", "乱停放", "露天烧烤"),
    "公用设施部件": ("井盖", "路灯", "消火栓"),
    "矛盾纠纷": ("邻里", "婚姻家庭", "劳资", "物业", "土地", "征地拆迁", "医患"),
    "治安隐患": (),
    "安全隐患": ("消防", "燃气", "危房", "高空坠物"),
    "特殊人群服务": (),
    "民生服务": ("困难", "养老"),
    "食品药品": (),
    "生态环境": ("污水", "噪声", "扬尘"),
    "疫情防控": (),
}

MINUTES = {TimeUnit.NATURAL_MINUTES: 1, TimeUnit.NATURAL_HOURS: 60, TimeUnit.NATURAL_DAYS: 24 * 60}
NATURAL_UNITS = set(MINUTES)


@pytest.fixture
def loaded(db) -> tuple[int, int]:
    return load_categories()


def _leaves() -> list[Category]:
    return list(Category.objects.filter(parent__isnull=False).prefetch_related("leads"))


def _leaf(code: str) -> Category:
    return Category.objects.get(code=code)


def test_every_design_family_is_there_with_enough_leaves(loaded: tuple[int, int]) -> None:
    families, leaves = loaded
    assert (families, leaves) == (
        Category.objects.filter(parent__isnull=True).count(), Category.objects.filter(parent__isnull=False).count()
    )
    assert leaves >= 60
    by_name = {family.name: family for family in Category.objects.filter(parent__isnull=True)}
    assert set(DESIGN_FAMILIES) <= set(by_name)
    for name, named_leaves in DESIGN_FAMILIES.items():
        children = [child.name for child in by_name[name].children.all()]
        assert len(children) >= 4, name
        for word in named_leaves:
            assert any(word in child for child in children), (name, word)


def test_codes_nest_two_levels(loaded: tuple[int, int]) -> None:
    for family in Category.objects.filter(parent__isnull=True):
        assert len(family.code) == 2 and family.code.isdigit()
        assert family.time_limit is None and family.time_unit == ""
    for leaf in Category.objects.filter(parent__isnull=False).select_related("parent"):
        assert leaf.parent.parent_id is None, leaf
        assert len(leaf.code) == 4 and leaf.code.isdigit(), leaf
        assert leaf.code.startswith(leaf.parent.code), leaf


def test_every_leaf_is_complete_and_valid(loaded: tuple[int, int]) -> None:
    kinds = set(DepartmentKind.values)
    for leaf in _leaves():
        assert leaf.time_limit and leaf.time_limit > 0 and leaf.time_unit in TimeUnit.values, leaf
        assert len(leaf.acceptance_criteria) >= 8 and len(leaf.closure_criteria) >= 4, leaf
        assert 10 <= leaf.duplicate_radius_m <= 1000, leaf
        leads = {lead.level: lead.department_kind for lead in leaf.leads.all()}
        assert {Level.TOWN, Level.DISTRICT} <= set(leads), leaf
        assert set(leads.values()) <= kinds, leaf
        # Field validators (choices, limit ≥ 0.01, yellow share 0.05–0.99); the parent exists by now.
        leaf.full_clean(exclude=["parent"], validate_unique=False, validate_constraints=False)


def test_units_include_natural_and_working_time(loaded: tuple[int, int]) -> None:
    units = {leaf.time_unit for leaf in _leaves()}
    assert {TimeUnit.NATURAL_MINUTES, TimeUnit.NATURAL_HOURS, TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS} <= units
    assert units & NATURAL_UNITS and units - NATURAL_UNITS


def test_urgency_matches_the_limit(loaded: tuple[int, int]) -> None:
    leaves = _leaves()
    assert {leaf.urgency for leaf in leaves} == set(Urgency.values)
    for leaf in leaves:
        if leaf.urgency == Urgency.CRITICAL:
            # Critical: a clock that never stops, at most four hours, yellow at half time.
            assert leaf.time_unit in NATURAL_UNITS, leaf
            assert leaf.time_limit * MINUTES[leaf.time_unit] <= 4 * 60, leaf
            assert leaf.yellow_share == Decimal("0.50"), leaf
        elif leaf.urgency == Urgency.URGENT:
            # Urgent: done within a day, on either clock.
            if leaf.time_unit in NATURAL_UNITS:
                assert leaf.time_limit * MINUTES[leaf.time_unit] <= 24 * 60, leaf
            else:
                working_hours = leaf.time_limit * (8 if leaf.time_unit == TimeUnit.WORKING_DAYS else 1)
                assert working_hours <= 8, leaf
        else:
            # Normal cases never run on natural minutes or hours: that clock is for hazards.
            assert leaf.time_unit not in (TimeUnit.NATURAL_MINUTES, TimeUnit.NATURAL_HOURS), leaf
            assert leaf.yellow_share == Decimal("0.75"), leaf


def test_realistic_limits_from_the_design(loaded: tuple[int, int]) -> None:
    expected = {
        "暴露垃圾": (4, TimeUnit.WORKING_HOURS, Urgency.NORMAL),
        "积存垃圾渣土": (2, TimeUnit.WORKING_DAYS, Urgency.NORMAL),
        "道路破损": (3, TimeUnit.WORKING_DAYS, Urgency.NORMAL),
        "井盖缺失": (2, TimeUnit.NATURAL_HOURS, Urgency.URGENT),
        "路面塌陷": (2, TimeUnit.NATURAL_HOURS, Urgency.CRITICAL),
        "群体性事件": (30, TimeUnit.NATURAL_MINUTES, Urgency.CRITICAL),
        "劳资纠纷": (10, TimeUnit.WORKING_DAYS, Urgency.NORMAL),
        "征地拆迁纠纷": (15, TimeUnit.WORKING_DAYS, Urgency.NORMAL),
        "消防隐患": (1, TimeUnit.WORKING_DAYS, Urgency.URGENT),
        "燃气泄漏": (1, TimeUnit.NATURAL_HOURS, Urgency.CRITICAL),
    }
    rows = {row.name: row for row in Category.objects.filter(name__in=expected)}
    for name, (limit, unit, urgency) in expected.items():
        assert (rows[name].time_limit, rows[name].time_unit, rows[name].urgency) == (limit, unit, urgency), name
    assert _leaf("0601").duplicate_radius_m == 20
    assert Category.objects.get(name="噪声扰民").duplicate_radius_m == 200


def test_leads_citizen_flags_and_order(loaded: tuple[int, int]) -> None:
    def lead(code: str, level: Level) -> str:
        return CategoryLead.objects.get(category__code=code, level=level).department_kind

    assert lead("0101", Level.TOWN) == lead("0101", Level.DISTRICT) == DepartmentKind.URBAN_MANAGEMENT
    assert lead("0701", Level.TOWN) == DepartmentKind.JUSTICE
    assert lead("0901", Level.TOWN) == DepartmentKind.FIRE
    assert lead("1301", Level.DISTRICT) == DepartmentKind.ENVIRONMENT
    assert lead("0403", Level.DISTRICT) == DepartmentKind.WATER
    # Internal work (特殊人群服务) is hidden from citizens, down to the family; public problems are not.
    special = Category.objects.get(code="10")
    assert not special.citizen_allowed and not special.children.filter(citizen_allowed=True).exists()
    assert _leaf("0101").citizen_allowed and not _leaf("0801").citizen_allowed
    # The most common leaves come first in the model's default ordering.
    first = list(Category.objects.filter(parent__isnull=False).values_list("name", flat=True)[:4])
    assert first == ["暴露垃圾", "乱停放", "占道经营", "邻里纠纷"]
    attributes = _leaf("0503").open311_attributes
    assert attributes[0]["code"] == "vehicle_type" and attributes[0]["values"]


def test_loader_is_idempotent(loaded: tuple[int, int]) -> None:
    categories, leads = Category.objects.count(), CategoryLead.objects.count()
    with CaptureQueriesContext(connection) as queries:
        assert load_categories() == loaded
    writes = [q["sql"] for q in queries if q["sql"].split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert (Category.objects.count(), CategoryLead.objects.count()) == (categories, leads)
    assert leads == 3 * loaded[1]  # town, district and city for every leaf, no duplicates


def test_loader_brings_rows_and_leads_back_to_the_seed(loaded: tuple[int, int], monkeypatch) -> None:
    leaf = _leaf("0101")
    Category.objects.filter(pk=leaf.pk).update(time_limit=9, name="改过的名字", is_active=False)
    CategoryLead.objects.filter(category=leaf, level=Level.TOWN).update(department_kind=DepartmentKind.OTHER)
    CategoryLead.objects.filter(category=leaf, level=Level.CITY).delete()
    CategoryLead.objects.create(category=leaf, level=Level.COMMUNITY, department_kind=DepartmentKind.OTHER)
    admins_own = Category.objects.create(code="9901", name="自定义", parent=leaf.parent, time_limit=1,
                                         time_unit=TimeUnit.WORKING_DAYS)

    assert load_categories() == loaded
    leaf.refresh_from_db()
    assert (leaf.time_limit, leaf.name) == (4, "暴露垃圾")
    assert not leaf.is_active  # an admin's switch-off survives a re-seed
    assert dict(leaf.leads.values_list("level", "department_kind")) == {
        Level.TOWN: DepartmentKind.URBAN_MANAGEMENT, Level.DISTRICT: DepartmentKind.URBAN_MANAGEMENT,
        Level.CITY: DepartmentKind.URBAN_MANAGEMENT,
    }
    assert Category.objects.filter(pk=admins_own.pk).exists()

    # A limit changed in the data updates the row on the next run.
    family = FAMILIES[0]
    changed = dataclasses.replace(family, leaves=(dataclasses.replace(family.leaves[0], limit=6),) + family.leaves[1:])
    assert load_categories((changed,) + FAMILIES[1:]) == loaded
    assert _leaf("0101").time_limit == 6


def test_command_prints_the_counts(db) -> None:
    out = io.StringIO()
    call_command("seed_categories", stdout=out)
    families, leaves = len(FAMILIES), sum(len(family.leaves) for family in FAMILIES)
    assert f"{families} " in out.getvalue() and f"{leaves} " in out.getvalue()
    assert Category.objects.count() == families + leaves
