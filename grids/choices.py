from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    """Area levels, top to bottom. A child's level is always greater than its parent's."""

    CITY = 1, _("city")
    DISTRICT = 2, _("district")
    TOWN = 3, _("town")
    COMMUNITY = 4, _("community")
    GRID = 5, _("grid")


CENTRE_LEVELS = (Level.CITY, Level.DISTRICT, Level.TOWN)


class GridKind(models.TextChoices):
    TERRITORIAL = "territorial", _("territorial grid")
    SPECIALISED = "specialised", _("specialised grid")


class DepartmentKind(models.TextChoices):
    URBAN_MANAGEMENT = "urban_management", _("urban management")
    PUBLIC_SECURITY = "public_security", _("public security")
    MARKET_REGULATION = "market_regulation", _("market regulation")
    JUSTICE = "justice", _("justice")
    HOUSING = "housing", _("housing and construction")
    ENVIRONMENT = "environment", _("ecology and environment")
    PETITIONS = "petitions", _("letters and visits")
    EMERGENCY = "emergency", _("emergency management")
    WATER = "water", _("water affairs")
    TRANSPORT = "transport", _("transport")
    HEALTH = "health", _("health")
    CIVIL_AFFAIRS = "civil_affairs", _("civil affairs")
    FIRE = "fire", _("fire and rescue")
    UTILITIES = "utilities", _("public utilities")
    OTHER = "other", _("other")


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("grid worker")
    GRID_LEADER = "grid_leader", _("grid leader")
    CENTRE_OPERATOR = "centre_operator", _("centre operator")
    CENTRE_LEAD = "centre_lead", _("centre shift lead")
    DEPT_HANDLER = "dept_handler", _("department handler")
    OFFICIAL = "official", _("official")
    ADMIN = "admin", _("administrator")


class WorkerKind(models.TextChoices):
    """How a grid worker works (DESIGN §1): a mobile worker (流动网格员, e.g. a courier) reports wherever
    the job takes them; the others report in their own grids."""

    FULL_TIME = "full_time", _("full-time grid worker")
    PART_TIME = "part_time", _("part-time grid worker")
    MOBILE = "mobile", _("mobile grid worker")


GRID_ROLES = (Role.GRID_WORKER, Role.GRID_LEADER)
CENTRE_ROLES = (Role.CENTRE_OPERATOR, Role.CENTRE_LEAD)
