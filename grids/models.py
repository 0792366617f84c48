"""The governance map: the area tree, grid profiles, centres, departments and staff memberships."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from govgrid.names import NamedInTwoLanguages
from grids.choices import CENTRE_LEVELS, CENTRE_ROLES, GRID_ROLES, DepartmentKind, GridKind, Level, Role, WorkerKind

PATH_SEPARATOR = "/"


class AreaQuerySet(models.QuerySet):
    def within(self, area: Area) -> AreaQuerySet:
        """The area and everything under it: one indexed prefix match on the materialised path."""
        return self.filter(path__startswith=area.path)

    def grids(self) -> AreaQuerySet:
        return self.filter(level=Level.GRID)


class Area(models.Model):
    """One node of the tree city > district > town > community > grid.

    ``path`` is the codes from the root down, each followed by ``/`` (``4406/440604/440604001/``).
    It is written by a database trigger (migration 0002) from the parent's path, so it is right
    whatever wrote the row, and the same trigger refuses a child whose level is not below its
    parent's. ``centroid`` is written by the trigger too.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(_("path"), max_length=255, unique=True, editable=False)
    boundary = models.MultiPolygonField(_("boundary"), srid=4326, null=True, blank=True)
    centroid = models.PointField(_("centroid"), srid=4326, null=True, blank=True, editable=False)

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["path"]
        indexes = [
            # text_pattern_ops lets `path LIKE '4406/440604/%'` use the index whatever the collation.
            models.Index(fields=["path"], opclasses=["text_pattern_ops"], name="area_path_prefix"),
            models.Index(fields=["level", "path"], name="area_level_path"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9A-Za-z_-]+$"), name="area_code_charset",
                violation_error_message=_("An area code may contain only letters, digits, '-' and '_'."),
            ),
            models.CheckConstraint(
                condition=Q(level=Level.CITY, parent__isnull=True) | (~Q(level=Level.CITY) & Q(parent__isnull=False)),
                name="area_root_is_city",
                violation_error_message=_("A city has no parent, and every other area has one."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if self.parent_id is not None and self.parent.level >= self.level:
            raise ValidationError(
                {"level": _("A %(child)s cannot be placed under a %(parent)s.")
                 % {"child": self.get_level_display(), "parent": self.parent.get_level_display()}}
            )

    def refresh_derived(self) -> None:
        """Reload what the trigger wrote (path, centroid) after a save."""
        self.refresh_from_db(fields=["path", "centroid"])

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self.refresh_derived()

    def ancestors(self) -> AreaQuerySet:
        codes = self.path.rstrip(PATH_SEPARATOR).split(PATH_SEPARATOR)[:-1]
        return Area.objects.filter(code__in=codes).order_by("level")

    @property
    def is_grid(self) -> bool:
        return self.level == Level.GRID


class GridProfile(models.Model):
    """What a grid holds. Guidance is 300–500 households or at most 2,000 people per urban grid."""

    HOUSEHOLDS_LOW, HOUSEHOLDS_HIGH, POPULATION_HIGH = 300, 500, 2000
    # "Far outside" the guidance: half the lower bound, or half again above an upper one.
    FAR_HOUSEHOLDS_LOW, FAR_HOUSEHOLDS_HIGH, FAR_POPULATION_HIGH = 150, 750, 3000

    grid = models.OneToOneField(Area, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="profile")
    kind = models.CharField(_("grid kind"), max_length=16, choices=GridKind.choices, default=GridKind.TERRITORIAL)
    households = models.PositiveIntegerField(_("households"), default=0)
    population = models.PositiveIntegerField(_("population"), default=0)
    buildings = models.PositiveIntegerField(_("buildings"), default=0)
    outside_guidance = models.GeneratedField(
        verbose_name=_("far outside the size guidance"),
        expression=Q(kind=GridKind.TERRITORIAL)
        & (
            Q(households__lt=FAR_HOUSEHOLDS_LOW)
            | Q(households__gt=FAR_HOUSEHOLDS_HIGH)
            | Q(population__gt=FAR_POPULATION_HIGH)
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        verbose_name = _("grid profile")
        verbose_name_plural = _("grid profiles")

    def __str__(self) -> str:
        return str(self.grid)

    def clean(self) -> None:
        if self.grid_id and self.grid.level != Level.GRID:
            raise ValidationError({"grid": _("A grid profile belongs to an area of level grid.")})


class Centre(models.Model):
    """A command centre (综治中心) at city, district or town level; it owns its area's subtree."""

    name = models.CharField(_("name"), max_length=100)
    area = models.OneToOneField(Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="centre")
    level = models.PositiveSmallIntegerField(_("level"), choices=[(lv.value, lv.label) for lv in CENTRE_LEVELS])

    class Meta:
        verbose_name = _("centre")
        verbose_name_plural = _("centres")
        ordering = ["area__path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=[lv.value for lv in CENTRE_LEVELS]), name="centre_level_city_district_town",
                violation_error_message=_("A centre sits at city, district or town level."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.area_id and self.area.level != self.level:
            raise ValidationError({"area": _("The centre's level must be its area's level.")})


class Department(NamedInTwoLanguages, models.Model):
    """A functional department that cases are dispatched to, serving one area (a town's 司法所…)."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True,
                               help_text=_("Shown on English pages; empty: the Chinese name."))
    kind = models.CharField(_("kind"), max_length=32, choices=DepartmentKind.choices)
    area = models.ForeignKey(Area, verbose_name=_("area served"), on_delete=models.PROTECT, related_name="departments")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["area__path", "name"]
        constraints = [
            models.UniqueConstraint(
                "area", Upper("name"), name="department_name_unique_per_area",
                violation_error_message=_("This area already has a department of that name."),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class Membership(models.Model):
    """A user's role at a place: a grid or area for most roles, a department for handlers."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    area = models.ForeignKey(
        Area, verbose_name=_("area or grid"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="memberships",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="memberships",
    )
    coefficient = models.DecimalField(_("score coefficient"), max_digits=4, decimal_places=2, default=1)
    worker_kind = models.CharField(
        _("worker kind"), max_length=16, choices=WorkerKind.choices, default=WorkerKind.FULL_TIME, blank=True,
        help_text=_("For grid workers: a mobile worker may report outside their own grids."),
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        indexes = [models.Index(fields=["role", "area"], name="membership_role_area")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "area", "department"], nulls_distinct=False, name="membership_unique",
                violation_error_message=_("This user already holds that role there."),
            ),
            models.CheckConstraint(
                condition=(Q(role=Role.DEPT_HANDLER) & Q(department__isnull=False) & Q(area__isnull=True))
                | (Q(role=Role.ADMIN) & Q(department__isnull=True))
                | (~Q(role__in=[Role.DEPT_HANDLER, Role.ADMIN]) & Q(area__isnull=False) & Q(department__isnull=True)),
                name="membership_place_fits_role",
                violation_error_message=_(
                    "A department handler belongs to a department; every other role except administrator "
                    "belongs to an area or grid."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.place}"

    @property
    def place(self) -> Area | Department | None:
        return self.department if self.department_id else self.area

    def clean(self) -> None:
        if self.role in GRID_ROLES and self.area_id and self.area.level != Level.GRID:
            raise ValidationError({"area": _("A grid worker or grid leader belongs to a grid.")})
        if self.role in CENTRE_ROLES and self.area_id and self.area.level not in CENTRE_LEVELS:
            raise ValidationError({"area": _("Centre staff belong to a city, district or town area.")})


def analyze_map_tables() -> None:
    """Refresh the planner's statistics after a bulk write of the map.

    Without them (autovacuum may be off, or not have run yet) PostgreSQL guesses at the GiST index on
    boundaries and point→grid takes several times longer until the next ANALYZE.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("grids_area", "grids_gridprofile", "grids_centre", "grids_department", "grids_membership",
                      "auth_user"):
            cursor.execute(f"ANALYZE {table}")
