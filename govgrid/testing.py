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

# The suite's own processes read the primary only: pytest-django lets a test use the databases it names,
# and a replica alias (a TEST MIRROR of default) would be one more. tests/test_replica.py starts servers
# of its own with a replica, made by scripts/replica.sh.
os.environ.pop("DATABASE_REPLICA_URL", None)

# Parallel runs (pytest-xdist): each worker has its own test database (pytest-django adds the worker id to
# its name) and must have its own Redis databases too, or one worker's Celery worker would take the other's
# tasks. REDIS_URL's database n is the cache, n+1 the broker and n+2 the results, so worker k moves up by 3k.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and _worker[2:].isdigit() and "REDIS_URL" in os.environ:
    from urllib.parse import urlsplit, urlunsplit

    _url = urlsplit(os.environ["REDIS_URL"])
    _base = int(_url.path.strip("/") or 0)
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{_base + 3 * int(_worker[2:])}"))
