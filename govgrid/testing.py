"""pytest plugin (loaded with ``-p govgrid.testing`` from pyproject's addopts): the test run's environment.

Settings are safe by default (DEBUG off, a secret key required, HTTPS enforced), which a test run cannot
satisfy: the test client and the live server speak plain HTTP and nobody runs ``collectstatic`` before
``pytest``. pytest-django reads the settings before any conftest.py is imported, so these values are set
by a plugin, which pytest loads first. Each is only a default: the environment still wins.
"""

from __future__ import annotations

import os

TEST_ENVIRONMENT = {
    # Not a secret: it signs nothing outside a test database. Long enough for the production check.
    "SECRET_KEY": "pytest-only-" + "4f1c9a7e2b8d6053" * 4,
    "ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
    "SECURE_SSL_REDIRECT": "false",
    # Hashed static names need a fresh `collectstatic`; tests render {% static %} from the source tree.
    "STATIC_MANIFEST": "false",
    # Personal data keys (parties/pii.py): test-only, not the development defaults the settings refuse.
    "PII_KEY": "cHl0ZXN0LW9ubHktcGlpLWtleS0wMTIzNDU2Nzg5YWI=",
    "PII_HASH_KEY": "pytest-only-pii-hash-" + "8e3b5d1f" * 4,
}

for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
