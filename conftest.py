"""Project-wide pytest set-up: a fast password hasher and a tiny hand-built city with personas.

The tiny city (codes in brackets)::

    Testville (9801)                      city centre; city official; admin
    └── East District (980101)            district 城管局
        ├── Town One (980101001)          town centre: t1_operator; 城管中队 (handler)
        │   └── Community A (980101001001)
        │       ├── grid 001 [113.00–113.01 E, 23.00–23.01 N]   g1_worker
        │       └── grid 002 [113.01–113.02 E, 23.00–23.01 N]
        └── Town Two (980101002)          town centre: t2_operator; 司法所
            └── Community B (980101002001)
                └── grid 001 [113.02–113.03 E, 23.00–23.01 N]   g3_worker
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon
from rest_framework.test import APIClient

from grids.choices import DepartmentKind, Level, Role

SEED_MIGRATIONS = ("reports.migrations.0003_scoring_defaults", "reports.migrations.0005_visit_deeds",
                   "reports.migrations.0006_patrols", "reports.migrations.0007_evaluation")


@pytest.fixture(autouse=True)
def _migration_seeds(request):
    """The rows the migrations seed (the scoring settings, indicators and rules) are there for every
    database test. A transactional test ends by emptying every table, seeds included: run in one
    process the suite ran such tests last, but in two (pytest-xdist) a later test of the same process
    would find them gone. So each database test puts them back if they are missing (one query when
    they are there), inside its own transaction, as the migrations wrote them."""
    if not (request.node.get_closest_marker("django_db") or "_django_db_helper" in request.fixturenames):
        return
    request.getfixturevalue("_django_db_helper")  # the test database, and the test's transaction, first
    from reports.models import ScoringSettings

    if ScoringSettings.objects.filter(pk=1).exists():
        return
    import importlib

    from django.apps import apps

    for name in SEED_MIGRATIONS:
        importlib.import_module(name).seed(apps, None)


@pytest.fixture(autouse=True)
def _celery_idle_before_flush(request):
    """A transactional test ends by emptying every table (TRUNCATE). If the session's Celery worker
    is still working on what the test enqueued (a triage, a notice), the TRUNCATE and the task's row
    locks can deadlock, and the flush fails. So, after such a test and before the flush, wait (up to
    20 s) until the worker has nothing queued, reserved or running."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server"))
    if not transactional:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up before this fixture, so flushed after it
    yield
    if _WORKER["node"]:
        _wait_until_worker_idle(_WORKER["node"], timeout=20)


_WORKER: dict[str, str | None] = {"node": None}


def _wait_until_worker_idle(node: str, timeout: float) -> None:
    import time

    import redis
    from django.conf import settings

    from govgrid.celery import QUEUES, app

    url = settings.CELERY_BROKER_URL
    broker = redis.Redis.from_url(url) if url.startswith(("redis:", "rediss:")) else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if broker is None or not any(broker.llen(queue) for queue in QUEUES):
            # A --pool=solo worker answers only between tasks: no answer means it is busy.
            inspect = app.control.inspect(destination=[node], timeout=1.0, limit=1)
            active, reserved = inspect.active(), inspect.reserved()
            if active and reserved and not active.get(node) and not reserved.get(node):
                return
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language (Chinese): a request made by an earlier test in
    the same process (an English cookie, say) leaves its language active in the thread."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_versioned_caches():
    """Each test reads centres, categories, activations and scopes from its own database: a test's
    rows are rolled back, and the per-process caches (govgrid.versioned) must not outlive them."""
    from govgrid import versioned

    versioned.clear_all()
    yield
    versioned.clear_all()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _counters_kept_by_day(settings):
    """Tests play fixed dates of 2026 against the real clock: the counters keep every day of them (the
    daily window reaches back a century) unless a test narrows it (reports.rollup)."""
    settings.COUNTER_DAILY_RETENTION_DAYS = 36500


@pytest.fixture
def english():
    """Run the test in English, for assertions on message texts (pages and messages are Chinese first)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_work_calendar():
    """Test rollbacks send no signals, so a workday override made in one test would stay cached."""
    from govgrid import workcalendar

    workcalendar.clear_cache()
    yield
    workcalendar.clear_cache()


def box(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=4326)


@pytest.fixture
def tiny_city(db):
    from grids.models import Area, Centre, Department, GridProfile, Membership

    def area(code, name, level, parent, bbox):
        return Area.objects.create(code=code, name=name, level=level, parent=parent, boundary=box(*bbox))

    city = area("9801", "Testville", Level.CITY, None, (113.00, 23.00, 113.03, 23.01))
    district = area("980101", "East District", Level.DISTRICT, city, (113.00, 23.00, 113.03, 23.01))
    town1 = area("980101001", "Town One", Level.TOWN, district, (113.00, 23.00, 113.02, 23.01))
    town2 = area("980101002", "Town Two", Level.TOWN, district, (113.02, 23.00, 113.03, 23.01))
    comm_a = area("980101001001", "Community A", Level.COMMUNITY, town1, (113.00, 23.00, 113.02, 23.01))
    comm_b = area("980101002001", "Community B", Level.COMMUNITY, town2, (113.02, 23.00, 113.03, 23.01))
    g1 = area("980101001001001", "A-1", Level.GRID, comm_a, (113.00, 23.00, 113.01, 23.01))
    g2 = area("980101001001002", "A-2", Level.GRID, comm_a, (113.01, 23.00, 113.02, 23.01))
    g3 = area("980101002001001", "B-1", Level.GRID, comm_b, (113.02, 23.00, 113.03, 23.01))
    for grid in (g1, g2, g3):
        GridProfile.objects.create(grid=grid, households=400, population=1200)
    centres = {a.code: Centre.objects.create(name=f"{a.name} centre", area=a, level=a.level)
               for a in (city, district, town1, town2)}
    district_um = Department.objects.create(name="East 城管局", kind=DepartmentKind.URBAN_MANAGEMENT, area=district)
    town1_um = Department.objects.create(name="Town One 城管中队", kind=DepartmentKind.URBAN_MANAGEMENT, area=town1)
    town2_justice = Department.objects.create(name="Town Two 司法所", kind=DepartmentKind.JUSTICE, area=town2)

    User = get_user_model()

    def person(username, role=None, area=None, department=None, **extra):
        user = User.objects.create_user(username=username, password="pw-" + username, **extra)
        if role:
            Membership.objects.create(user=user, role=role, area=area, department=department)
        return user

    return SimpleNamespace(
        city=city, district=district, town1=town1, town2=town2, comm_a=comm_a, comm_b=comm_b,
        g1=g1, g2=g2, g3=g3, centres=centres,
        district_um=district_um, town1_um=town1_um, town2_justice=town2_justice,
        admin=person("admin", Role.ADMIN),
        superuser=person("root", is_superuser=True, is_staff=True),
        city_official=person("city_official", Role.OFFICIAL, city),
        t1_operator=person("t1_operator", Role.CENTRE_OPERATOR, town1),
        t2_operator=person("t2_operator", Role.CENTRE_OPERATOR, town2),
        district_lead=person("district_lead", Role.CENTRE_LEAD, district),
        g1_worker=person("g1_worker", Role.GRID_WORKER, g1),
        g3_worker=person("g3_worker", Role.GRID_WORKER, g3),
        g1_leader=person("g1_leader", Role.GRID_LEADER, g1),
        handler=person("handler", Role.DEPT_HANDLER, department=town1_um),
        nobody=person("nobody"),
    )


@pytest.fixture
def api():
    """An API client; ``api.as_(user)`` logs in as that persona and returns the client."""
    client = APIClient()

    def as_(user):
        client.force_authenticate(user=None)
        client.force_login(user)
        return client

    client.as_ = as_
    return client


def _wait_for(predicate, timeout: float, what: str) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process on the test database and the configured Redis.

    Tests that use it must commit their data (``transactional_db`` or
    ``django_db(transaction=True)``): the worker is another process on another connection.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    from govgrid.celery import QUEUES, app

    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
    }
    import socket

    celery = Path(sys.executable).with_name("celery")
    node = f"pytest-{os.getpid()}@{socket.gethostname()}"
    process = subprocess.Popen(
        [str(celery), "-A", "govgrid", "worker", "--pool=solo", "-Q", ",".join(QUEUES),
         "-n", node, "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
        env=env, cwd=settings.BASE_DIR,
    )
    try:
        _wait_for(lambda: bool(app.control.ping(timeout=0.5)), 60, "the Celery worker")
        _WORKER["node"] = node
        yield process
    finally:
        _WORKER["node"] = None
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of our own on a free port, which a test may ``stop()`` and ``start()`` again."""
    import socket
    import subprocess

    import redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(tmp_path)]
    url = f"redis://127.0.0.1:{port}/0"
    server = SimpleNamespace(url=url, port=port, process=None)

    def up() -> bool:
        try:
            return redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
        except redis.ConnectionError:
            return False

    def start() -> None:
        server.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _wait_for(up, 10, "the private redis-server")

    def stop() -> None:
        server.process.terminate()
        server.process.wait(timeout=10)

    server.start, server.stop = start, stop
    start()
    yield server
    if server.process.poll() is None:
        stop()


from cases.tests.conftest import categories  # noqa: E402,F401  (the pipeline's categories, for every test)
