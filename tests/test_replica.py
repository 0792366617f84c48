"""Reads that scale out (govgrid.replica) against a real streaming replica on this machine.

scripts/replica.sh makes (the first time: pg_basebackup of the whole local cluster) and starts a hot
standby of 127.0.0.1:5432 on port 5439 (REPLICA_PORT); the test database pytest-django creates on the
primary streams to it like everything else. Two gunicorn servers of our own run on the test database
with DATABASE_REPLICA_URL naming its copy on the replica: a patient one (the replica may be an hour
behind) and a strict one (one second). What a read sees tells where it went: with replay paused on the
replica (``pg_wal_replay_pause()``), a row committed on the primary is missing there and nowhere else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cases import actions
from tests.test_security_outage import free_port

pytestmark = [pytest.mark.replica, pytest.mark.django_db(transaction=True)]

REPLICA_PORT = int(os.environ.get("REPLICA_PORT", "5439"))
SCRIPT = Path(settings.BASE_DIR) / "scripts" / "replica.sh"


def on_replica(sql: str, *params):
    with psycopg.connect(host="127.0.0.1", port=REPLICA_PORT, user="postgres", dbname="postgres",
                         autocommit=True, connect_timeout=5) as replica:
        cursor = replica.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def flushed_lsn() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
        return cursor.fetchone()[0]


def wait_for_replica(what: str = "replay", timeout: float = 60) -> None:
    """Until the replica has received (or replayed) everything the primary has written so far."""
    function = {"replay": "pg_last_wal_replay_lsn", "receive": "pg_last_wal_receive_lsn"}[what]
    target = flushed_lsn()
    deadline = time.monotonic() + timeout
    while not on_replica(f"SELECT {function}() >= %s::pg_lsn", target)[0]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica did not {what} up to {target} within {timeout} s")
        time.sleep(0.05)


def pause_replay() -> None:
    on_replica("SELECT pg_wal_replay_pause()")
    while on_replica("SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
        time.sleep(0.05)


def resume_replay() -> None:
    on_replica("SELECT pg_wal_replay_resume()")


def call(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read().decode()[:2000]}


@pytest.fixture(scope="module")
def replica_cluster():
    """The replica, streaming (made or started by the script; a second run does nothing)."""
    subprocess.run(["bash", str(SCRIPT)], check=True, stdout=subprocess.DEVNULL)
    yield
    resume_replay()


def replica_environment(max_lag: int) -> dict[str, str]:
    """A process of the app on the test database, with its copy on the replica."""
    database = settings.DATABASES["default"]
    user, name = database["USER"] or "postgres", database["NAME"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{user}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{name}",
        "DATABASE_REPLICA_URL": f"postgis://{user}@127.0.0.1:{REPLICA_PORT}/{name}",
        "DATABASE_CONNECT_TIMEOUT": "2",
        "REDIS_URL": settings.REDIS_URL,
        "REPLICA_MAX_LAG_SECONDS": str(max_lag),
        "REPLICA_CHECK_SECONDS": "0",  # measured at every request: the tests move the replica between requests
        "REPLICA_RETRY_SECONDS": "0",
        "READ_YOUR_WRITES_SECONDS": "60",
    }
    env.pop("DEBUG", None)
    return env


def start_server(max_lag: int) -> SimpleNamespace:
    port, gunicorn = free_port(), Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "govgrid.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"],
        env=replica_environment(max_lag), cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return SimpleNamespace(url=f"http://127.0.0.1:{port}", process=process)


def wait_until_serving(server: SimpleNamespace) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(server.url + "/healthz", timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.process.kill()
                raise RuntimeError("gunicorn did not start: " + server.process.stderr.read().decode()[-2000:]) from None
            time.sleep(0.2)


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, replica_cluster):
    with django_db_blocker.unblock():
        wait_for_replica()  # the test database itself, made on the primary a moment ago
    patient, strict = start_server(max_lag=3600), start_server(max_lag=1)
    for server in (patient, strict):
        wait_until_serving(server)
    yield SimpleNamespace(patient=patient.url, strict=strict.url)
    for server in (patient, strict):
        server.process.terminate()
        server.process.wait(timeout=15)


@pytest.fixture
def city(tiny_city, categories, servers):
    """The tiny city, committed and replayed on the replica, with API tokens; replay resumed afterwards."""
    tokens = {name: Token.objects.create(user=getattr(tiny_city, name)).key
              for name in ("city_official", "t1_operator", "g1_worker")}
    wait_for_replica()
    yield SimpleNamespace(**vars(tiny_city), tokens=tokens, categories=categories, servers=servers)
    resume_replay()


def report_on_primary(city, description: str):
    """A case reported through the action, as another channel would: committed on the primary."""
    case, _created = actions.report_case(reporter=city.g3_worker, category=city.categories.garbage,
                                         lon=113.025, lat=23.005, description=description)
    return case


def listed(server: str, token: str) -> set[int]:
    status, body = call(f"{server}/api/v1/cases/", token)
    assert status == 200, body
    return {row["id"] for row in body["results"]}


def reported(server: str, token: str) -> int:
    day = timezone.localdate()
    query = f"area=9801&start={day - timedelta(days=1)}&end={day}"
    status, body = call(f"{server}/api/v1/reports/kpis/?{query}", token)
    assert status == 200, body
    return body["counts"]["reported"]


def test_reports_and_case_lists_read_the_replica_and_nothing_else_does(city):
    official, server = city.tokens["city_official"], city.servers.patient
    before = report_on_primary(city, "早的")
    wait_for_replica()
    assert listed(server, official) == {before.pk} and reported(server, official) == 1

    pause_replay()
    late = report_on_primary(city, "晚的")
    wait_for_replica("receive")
    # The list and the report come from the replica, which has not replayed the new case yet...
    assert listed(server, official) == {before.pk}
    assert reported(server, official) == 1
    # ...while a read not marked for the replica (one case) and an action see it on the primary.
    status, body = call(f"{server}/api/v1/cases/{late.pk}/", official)
    assert status == 200 and body["id"] == late.pk

    resume_replay()
    wait_for_replica()
    assert listed(server, official) == {before.pk, late.pk}
    assert reported(server, official) == 2


def test_who_just_wrote_reads_the_primary(city):
    server, worker, official = city.servers.patient, city.tokens["g1_worker"], city.tokens["city_official"]
    pause_replay()
    status, body = call(f"{server}/api/v1/cases/", worker, {
        "category": city.categories.garbage.code, "lon": 113.005, "lat": 23.005, "description": "刚报的"})
    assert status == 201, body
    mine = body["id"]
    wait_for_replica("receive")
    # The grid worker who reported it finds it in the list at once, replay paused or not...
    assert mine in listed(server, worker)
    # ...an official who did nothing reads the replica, where it is not yet.
    assert mine not in listed(server, official)
    resume_replay()
    wait_for_replica()
    assert mine in listed(server, official)


def test_a_replica_too_far_behind_is_not_read(city):
    official = city.tokens["city_official"]
    pause_replay()
    case = report_on_primary(city, "落后")
    wait_for_replica("receive")
    time.sleep(1.5)  # the replica is now more than the strict server's one second behind
    assert case.pk not in listed(city.servers.patient, official)  # an hour is allowed: the replica
    assert case.pk in listed(city.servers.strict, official)  # one second: the primary
    assert reported(city.servers.strict, official) == 1


EXPORT_TWICE = """
import sys

import django

django.setup()
from django.core.files.storage import default_storage

from govgrid.replica import note_write
from reports.exports import build_export, get_job

user_id, start, end = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def export():
    job = get_job(build_export("cases", "9801", start, end, user_id, "csv"))
    return " ".join(default_storage.open(job["file"]).read().decode("utf-8-sig").splitlines())


print(export())
note_write(user_id)  # as a request of that user's would: the next export is theirs after a change
print(export())
"""


def test_an_export_reads_the_replica_unless_its_user_just_wrote(city, tmp_path):
    """``build_export`` as the Celery worker runs it, in a process of its own with the replica."""
    day = timezone.localdate()
    early = report_on_primary(city, "导出前")
    wait_for_replica()
    pause_replay()
    late = report_on_primary(city, "导出后")
    wait_for_replica("receive")
    answer = subprocess.run(
        [sys.executable, "-c", EXPORT_TWICE, str(city.city_official.pk), str(day - timedelta(days=1)), str(day)],
        env={**replica_environment(max_lag=3600), "DJANGO_SETTINGS_MODULE": "govgrid.settings",
             "MEDIA_ROOT": str(tmp_path)},
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)
    assert answer.returncode == 0, answer.stderr[-2000:]
    from_replica, from_primary = answer.stdout.splitlines()
    assert early.number in from_replica and late.number not in from_replica
    assert early.number in from_primary and late.number in from_primary


def test_a_replica_that_is_down_is_not_read_and_nothing_fails(city):
    official, server = city.tokens["city_official"], city.servers.patient
    assert listed(server, official) == set()  # the server holds a connection to the replica now
    # Down as in a crash. A restart point first (cheap: the replica does not fsync), or starting again
    # would replay all the WAL since the last one, minutes of it.
    on_replica("CHECKPOINT")
    subprocess.run(["bash", str(SCRIPT), "stop", "immediate"], check=True, stderr=subprocess.DEVNULL)
    try:
        case = report_on_primary(city, "副本停了")
        assert listed(server, official) == {case.pk}
        assert reported(server, official) == 1
        assert listed(city.servers.strict, official) == {case.pk}
    finally:
        subprocess.run(["bash", str(SCRIPT)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_replica()
    assert listed(server, official) == {case.pk}
