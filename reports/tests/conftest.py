"""Fixtures for the reports tests: the pipeline's categories and photos, a frozen clock, personas."""

from __future__ import annotations

import pytest

from cases.tests.conftest import categories, photo  # noqa: F401  (fixtures shared with the pipeline tests)
from reports.tests.live_helpers import live_stream  # noqa: F401  (a real live process: test_live)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
