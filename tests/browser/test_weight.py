"""Weight of the grid worker's phone pages, and how static files and pages are compressed and cached.

Issue #11: ``/m/`` and ``/m/report/`` under 300 KB transferred on a cold load. Measured the way
production serves them: ``collectstatic`` with the production storage (hashed names, gzip and Brotli
copies) into a temporary STATIC_ROOT, WhiteNoise answering from it (no finders, no autorefresh), pages
through the whole middleware stack, in headless Chromium with an empty cache; the figure is the sum
of the Performance API's ``transferSize`` over the page and everything it loaded (headers included).
A size budget, not a timing: it holds on a slow machine. Map tiles come from ``MAP_TILE_URL`` (none
by default, so none here): they are another server's bytes.
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.test.testcases import LiveServerThread
from selenium.webdriver.support.ui import WebDriverWait

from cases.tests.conftest import categories  # noqa: F401  (fixture)

BUDGET = 300 * 1024
ONE_YEAR = 365 * 24 * 3600
# Not used by /m/ pages, and 46 MB to compress: left out of this module's collectstatic.
SKIPPED_PREFIXES = ("vendor/echarts",)


@pytest.fixture(scope="module")
def production_static(tmp_path_factory):
    """Static files collected as in production, served by WhiteNoise from that folder alone."""
    root = tmp_path_factory.mktemp("static_root")
    dirs = [entry for entry in settings.STATICFILES_DIRS
            if not (isinstance(entry, tuple) and entry[0].startswith(SKIPPED_PREFIXES))]
    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    with override_settings(STATIC_ROOT=root, STATICFILES_DIRS=dirs, STORAGES=storages,
                           WHITENOISE_AUTOREFRESH=False, WHITENOISE_USE_FINDERS=False):
        # The source maps' sources and the unminified builds are never linked from a page.
        call_command("collectstatic", interactive=False, verbosity=0,
                     ignore_patterns=["*-src*", "*.esm.*", "htmx.js", "htmx.amd.js", "htmx.cjs.js"])
        yield root


class ByteCounter:
    """WSGI wrapper around the live server: every response's status line, headers and body bytes, by path.

    Counted where they leave the server, so the service worker's precache (invisible to the page's
    Resource Timing) and anything a cache would have hidden count too.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.sent: list[tuple[str, int, int]] = []  # path, status, bytes
        self.last = time.monotonic()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        head = code = 0

        def counting_start(status, headers, exc_info=None):
            nonlocal head, code
            code = int(status.split()[0])
            head = len(f"HTTP/1.1 {status}\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in headers) + 2
            return start_response(status, headers, exc_info)

        result = self.app(environ, counting_start)
        try:
            body = 0
            for chunk in result:
                body += len(chunk)
                yield chunk
        finally:
            if hasattr(result, "close"):
                result.close()
            self.sent.append((path, code, head + body))
            self.last = time.monotonic()


@pytest.fixture(scope="module")
def production_server(production_static):
    """A live server whose static files are WhiteNoise's (not Django's test static handler)."""
    counter = None

    def wrap(handler):
        nonlocal counter
        counter = ByteCounter(handler)
        return counter

    thread = LiveServerThread("127.0.0.1", static_handler=wrap, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield SimpleNamespace(url=f"http://127.0.0.1:{thread.port}", counter=counter)
    thread.terminate()
    thread.join()


def static_url(client: Client, page: str, name: str) -> str:
    """The hashed URL a page links for ``name`` (e.g. ``css/govgrid.css``)."""
    html = client.get(page).content.decode()
    stem, ext = name.rsplit(".", 1)
    found = re.search(rf'/static/{re.escape(stem)}\.[0-9a-f]{{12}}\.{ext}', html)
    assert found, f"{page} does not link a hashed {name}"
    return found.group(0)


@pytest.mark.django_db
def test_hashed_static_files_are_compressed_and_cached_for_a_year(production_static):
    client = Client()
    url = static_url(client, "/login/", "css/govgrid.css")
    for accept, encoding in (("br, gzip", "br"), ("gzip", "gzip"), ("", None)):
        response = client.get(url, HTTP_ACCEPT_ENCODING=accept)
        assert response.status_code == 200
        assert response.get("Content-Encoding") == encoding, accept
        assert "Accept-Encoding" in response["Vary"]
        cache = response["Cache-Control"]
        assert "immutable" in cache and "public" in cache
        assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= ONE_YEAR
        response.close()
    # The same file by its plain name may change at the next deployment: a minute at most.
    plain = client.get("/static/css/govgrid.css", HTTP_ACCEPT_ENCODING="gzip")
    assert plain["Cache-Control"] == "max-age=60, public"
    plain.close()


@pytest.mark.django_db
def test_pages_are_gzipped_and_never_cached_long(production_static, tiny_city):
    client = Client()
    client.force_login(tiny_city.g1_worker)
    plain = client.get("/m/")
    squeezed = client.get("/m/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert plain.status_code == squeezed.status_code == 200
    assert "Content-Encoding" not in plain and squeezed["Content-Encoding"] == "gzip"
    assert len(squeezed.content) < len(plain.content) / 2
    for response in (plain, squeezed):
        assert "Accept-Encoding" in response["Vary"]
        assert not re.search(r"max-age=[1-9]", response.get("Cache-Control", ""))


def quiet(driver, counter: ByteCounter) -> bool:
    """Loaded, and nothing asked of the server for a second (htmx's badge, maps.js's fetches, the
    service worker installing)."""
    return (driver.execute_script("return document.readyState") == "complete"
            and time.monotonic() - counter.last > 1.0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/m/", "/m/report/"])
def test_worker_pages_weigh_under_300_kb_on_a_cold_load(production_server, phone, tiny_city, categories, path):  # noqa: F811
    """A first visit: a browser with nothing cached and no service worker, only the session cookie."""
    client = Client()
    client.force_login(tiny_city.g1_worker)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    server, counter = production_server.url, production_server.counter
    phone.execute_cdp_cmd("Network.enable", {})
    phone.execute_cdp_cmd("Network.setCookie", {"name": settings.SESSION_COOKIE_NAME, "value": session,
                                                "url": server + "/", "httpOnly": True})
    counter.sent.clear()
    phone.get(server + path)
    WebDriverWait(phone, 15, poll_frequency=0.2).until(lambda d: quiet(d, counter))
    sent = list(counter.sent)
    total = sum(size for _path, _status, size in sent)
    listing = "\n".join(f"  {size:>8,}  {status}  {name}" for name, status, size in sorted(sent, key=lambda e: -e[2]))
    print(f"{path}: {total:,} bytes sent for a cold load\n{listing}")
    assert phone.current_url == server + path, "not logged in"
    assert [status for name, status, _size in sent if status >= 400] == [], listing
    assert any(name.startswith("/static/css/govgrid.") for name, _status, _size in sent), listing
    assert total < BUDGET, f"{path} sent {total:,} bytes on a cold load (budget {BUDGET:,}):\n{listing}"
