"""Project-wide pytest set-up: a fast password hasher, and helpers shared by every app's tests."""

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
