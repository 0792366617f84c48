"""A real live process for the tests: uvicorn serving govgrid.asgi.live_application on a free port (in a
thread of the test process, so it reads the test database and the test's settings), and a plain
server-sent-events client on http.client.

Tests that use ``live_stream`` must commit their data (``django_db(transaction=True)``): the stream
reads the session and the scope on its own connection, and publishing happens on commit.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import redis
import uvicorn
from django.test import Client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_stream(settings, transactional_db):
    """The live process on a free port, with a stream key of its own (no other test's events)."""
    from govgrid.asgi import live_application

    settings.LIVE_STREAM_KEY = key = f"govgrid:live:test:{uuid.uuid4().hex}"
    settings.LIVE_STREAM_SECONDS = 30
    redis_url = settings.LIVE_REDIS_URL  # a test may point the setting at a dead Redis meanwhile
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(live_application, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, name="live-stream", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live process did not start")
        time.sleep(0.02)
    yield SimpleNamespace(port=port, url=f"http://127.0.0.1:{port}", key=settings.LIVE_STREAM_KEY)
    server.should_exit = True
    thread.join(timeout=10)
    redis.Redis.from_url(redis_url).delete(key)


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


class SSE:
    """One EventSource-like connection: ``next()`` parses events as the browser would."""

    def __init__(self, port: int, user=None, *, area: str | None = None, last_event_id: str | None = None,
                 origin: str | None = None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Accept": "text/event-stream"}
        if user is not None:
            headers["Cookie"] = f"sessionid={session_of(user)}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        if origin:
            headers["Origin"] = origin
        self.connection.request("GET", "/live/stream/" + (f"?area={area}" if area else ""), headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status

    def next(self, timeout: float = 5.0) -> dict:
        """The next event (``{"id", "event", "data"}``, data decoded from JSON); TimeoutError if none comes."""
        deadline = time.monotonic() + timeout
        fields: dict[str, str] = {}
        data: list[str] = []
        while time.monotonic() < deadline:
            self.connection.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                line = self.response.readline()
            except TimeoutError:
                break
            if not line:
                raise EOFError("the stream ended")
            line = line.decode().rstrip("\r\n")
            if not line:
                if data:
                    return {"id": fields.get("id"), "event": fields.get("event", "message"),
                            "data": json.loads("\n".join(data))}
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
        raise TimeoutError(f"no event within {timeout:.1f} s")

    def close(self) -> None:
        # The response holds the socket too: closing only the connection would leave it open.
        self.response.close()
        self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
