"""Fixtures for the pipeline tests: two categories and photo uploads."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Category, CategoryLead
from govgrid.workcalendar import TimeUnit
from grids.choices import DepartmentKind, Level

# A real 1×1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def photo(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


@pytest.fixture
def categories(db):
    family = Category.objects.create(code="01", name="市容环境")
    garbage = Category.objects.create(
        code="0101", name="暴露垃圾", parent=family, time_limit=Decimal(4), time_unit=TimeUnit.WORKING_HOURS,
        duplicate_radius_m=50,
    )
    CategoryLead.objects.create(category=garbage, level=Level.TOWN, department_kind=DepartmentKind.URBAN_MANAGEMENT)
    CategoryLead.objects.create(category=garbage, level=Level.DISTRICT,
                                department_kind=DepartmentKind.URBAN_MANAGEMENT)
    hazard = Category.objects.create(
        code="0102", name="井盖缺失", parent=family, time_limit=Decimal(2), time_unit=TimeUnit.NATURAL_HOURS,
        urgency="critical", yellow_share=Decimal("0.5"), duplicate_radius_m=20,
    )
    internal = Category.objects.create(
        code="0103", name="重点人员走访", parent=family, time_limit=Decimal(5), time_unit=TimeUnit.WORKING_DAYS,
        citizen_allowed=False,
    )
    return type("Categories", (), {"family": family, "garbage": garbage, "hazard": hazard, "internal": internal})


from cases.tests.dispute_helpers import mediation  # noqa: E402, F401 (disputes: centres, mediators, categories)
