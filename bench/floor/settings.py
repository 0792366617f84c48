"""GovGrid's settings plus the floor app and its URL: the one server bench/intake.py loads."""

from govgrid.settings import *  # noqa: F403
from govgrid.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.floor"]
ROOT_URLCONF = "bench.floor.urls"
