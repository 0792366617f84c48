"""A database outage in a real server: the API answers 503 JSON with Retry-After (the phone retries),
pages a styled 503, /healthz names the database, and nothing hangs.

The server is a gunicorn of our own whose DATABASE_URL points at a port where nothing listens: the
database "refuses", as during a restart, without touching the database the other tests use.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

# A guard against a request hanging on the dead database, not a timed assertion of speed.
NO_HANG = 8.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            status, head, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, head, body = error.code, dict(error.headers), error.read()
    return status, head, body, time.monotonic() - started


@pytest.fixture
def server_without_database():
    port, dead = free_port(), free_port()
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{database['USER'] or 'postgres'}@127.0.0.1:{dead}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_CONNECT_TIMEOUT": "2",
    }
    env.pop("DEBUG", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "govgrid.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            get(url + "/login/")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode()[-2000:]) from None
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=15)


def test_a_database_outage_is_a_503_that_clients_can_retry(server_without_database):
    url = server_without_database
    # The API: a token client (TokenAuthentication needs the database to know who it is).
    status, head, body, took = get(url + "/api/v1/cases/", Authorization="Token 0123456789abcdef")
    assert status == 503, body[:500]
    assert head["Content-Type"].startswith("application/json")
    assert json.loads(body)["code"] == "unavailable"
    assert int(head["Retry-After"]) > 0
    assert took < NO_HANG
    # A page, for someone with a session (read from the database): styled, not Django's bare 500.
    status, head, body, _ = get(url + "/cases/", Cookie="sessionid=0123456789abcdefghijklmnopqrstuv")
    assert status == 503
    assert head["Content-Type"].startswith("text/html")
    assert b"error-card" in body and int(head["Retry-After"]) > 0
    # /healthz names the database, promptly.
    status, head, body, took = get(url + "/healthz")
    assert status == 503
    assert "database" in json.loads(body)["failing"]
    assert took < NO_HANG
