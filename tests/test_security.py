"""Secure defaults (issue 9, item 5): DEBUG off, error pages (JSON on the API, styled pages elsewhere),
503 on an outage, login lock-out through the proxy header, CSP, Redis databases of their own.

The CSP in a real browser is tests/test_security_browser.py; the database outage in a real server is
tests/test_security_outage.py.
"""

from __future__ import annotations

import base64
import json
import secrets

import pytest
import redis
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.urls import path

from govgrid import urls as project_urls
from tests.test_settings import run

# ---- a URLconf of the project plus views that fail on purpose, under /api/ and as pages ----------


def _raise(exc: Exception):
    def view(request):
        raise exc

    return view


urlpatterns = [
    path("api/v1/boom/", _raise(RuntimeError("boom"))),
    path("boom/", _raise(RuntimeError("boom"))),
    path("api/v1/forbidden/", _raise(PermissionDenied())),
    path("forbidden/", _raise(PermissionDenied())),
    path("api/v1/db-down/", _raise(OperationalError("connection refused"))),
    path("db-down/", _raise(OperationalError("connection refused"))),
    path("api/v1/redis-down/", _raise(redis.exceptions.ConnectionError("Connection refused"))),
    *project_urls.urlpatterns,
]
handler400, handler403 = project_urls.handler400, project_urls.handler403
handler404, handler500 = project_urls.handler404, project_urls.handler500

failing_views = pytest.mark.urls(__name__)


@pytest.fixture
def anonymous(client):
    """A client that answers exceptions as a server would (a 500 page), instead of raising them."""
    client.raise_request_exception = False
    return client


def assert_json(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"]
    assert code is None or body["code"] == code
    return body


def assert_page(response, status: int, *texts: str) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'class="card error-card"' in html and "css/govgrid.css" in html
    for text in texts:
        assert text in html, (text, html)
    return html


# ---- DEBUG ---------------------------------------------------------------------------------------


def test_debug_is_off_unless_set():
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    unset = run(code, SECRET_KEY="x" * 60, ALLOWED_HOSTS="govgrid.example.org",
                PII_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                PII_HASH_KEY=secrets.token_urlsafe(32))
    assert unset.returncode == 0, unset.stderr
    assert unset.stdout.strip() == "False"
    assert run(code, DEBUG="1").stdout.strip() == "True"


# ---- error pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_404_is_json_on_the_api_and_a_styled_page_elsewhere(client):
    assert_json(client.get("/api/v1/no-such-thing/"), 404)
    assert_page(client.get("/no-such-page/"), 404, "404", "找不到")
    client.cookies["django_language"] = "en"
    assert_page(client.get("/no-such-page/"), 404, "Not found")


@failing_views
@pytest.mark.django_db
def test_403_is_json_on_the_api_and_a_styled_page_elsewhere(client):
    assert_json(client.get("/api/v1/forbidden/"), 403, "forbidden")
    assert_page(client.get("/forbidden/"), 403, "403", "无权")


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_gets_a_styled_403(client):
    client.handler.enforce_csrf_checks = True
    assert_page(client.post("/login/", {"username": "x", "password": "y"}), 403, "403")


@failing_views
@pytest.mark.django_db
def test_500_is_json_on_the_api_and_a_styled_page_elsewhere(anonymous):
    body = assert_json(anonymous.get("/api/v1/boom/"), 500, "server_error")
    assert "boom" not in body["detail"] and "Traceback" not in body["detail"]
    html = assert_page(anonymous.get("/boom/"), 500, "500")
    assert "Traceback" not in html and "boom" not in html


# ---- outages: 503 with Retry-After ---------------------------------------------------------------


@failing_views
@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/db-down/", "/api/v1/redis-down/"])
def test_an_outage_on_the_api_is_a_503_json_with_retry_after(anonymous, url):
    response = anonymous.get(url)
    assert_json(response, 503, "unavailable")
    assert int(response["Retry-After"]) > 0


@failing_views
@pytest.mark.django_db
def test_an_outage_on_a_page_is_a_styled_503(anonymous):
    response = anonymous.get("/db-down/")
    assert_page(response, 503, "503")
    assert int(response["Retry-After"]) > 0


# ---- login lock-out (django-axes) ----------------------------------------------------------------

LOCKED_ZH = "登录失败次数过多"
LOCKED_EN = "Too many failed attempts"


def fail_logins(client, url: str, username: str, times: int, **headers) -> list[int]:
    return [client.post(url, {"username": username, "password": "wrong"}, headers=headers).status_code
            for _ in range(times)]


@pytest.mark.django_db
def test_ten_failures_lock_out_that_user_from_that_address_only(client, tiny_city, settings):
    settings.CLIENT_IP_HEADER, settings.PROXY_COUNT = "HTTP_X_FORWARDED_FOR", 1
    # Each request went through our one proxy, which appended the address it saw.
    assert fail_logins(client, "/login/", "t1_operator", 9, x_forwarded_for="203.0.113.7") == [200] * 9
    tenth = client.post("/login/", {"username": "t1_operator", "password": "wrong"},
                        headers={"x-forwarded-for": "203.0.113.7"})
    assert tenth.status_code == 429
    right = client.post("/login/", {"username": "t1_operator", "password": "pw-t1_operator"},
                        headers={"x-forwarded-for": "203.0.113.7"})
    assert right.status_code == 429
    assert LOCKED_ZH in right.content.decode() and "15" in right.content.decode()
    assert int(right["Retry-After"]) == 15 * 60
    # What the client itself wrote into the header (left of our proxy's entry) does not get it out.
    spoofed = client.post("/login/", {"username": "t1_operator", "password": "pw-t1_operator"},
                          headers={"x-forwarded-for": "198.51.100.1, 203.0.113.7"})
    assert spoofed.status_code == 429
    # The same user from another address, and another user from this one, log in.
    elsewhere = client.post("/login/", {"username": "t1_operator", "password": "pw-t1_operator"},
                            headers={"x-forwarded-for": "198.51.100.2"})
    assert elsewhere.status_code == 302
    client.logout()
    other = client.post("/login/", {"username": "t2_operator", "password": "pw-t2_operator"},
                        headers={"x-forwarded-for": "203.0.113.7"})
    assert other.status_code == 302


@pytest.mark.django_db
def test_without_a_configured_header_a_made_up_one_changes_nothing(client, tiny_city, settings):
    settings.CLIENT_IP_HEADER = ""
    # Behind no proxy, an attacker rotating X-Forwarded-For is still one address (REMOTE_ADDR)...
    statuses = [client.post("/login/", {"username": "t1_operator", "password": "wrong"},
                            headers={"x-forwarded-for": f"192.0.2.{n}"}).status_code for n in range(10)]
    assert statuses == [200] * 9 + [429]
    # ... and cannot lock the user out elsewhere by naming another address.
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    assert client.post("/login/", {"username": "t1_operator", "password": "pw-t1_operator"},
                       headers={"x-forwarded-for": "192.0.2.1"}).status_code == 302


@pytest.mark.django_db
def test_the_admin_login_is_locked_out_too(client, tiny_city, english):
    client.cookies["django_language"] = "en"
    url = "/admin/login/?next=/admin/"
    assert fail_logins(client, url, "root", 10) == [200] * 9 + [429]
    locked = client.post(url, {"username": "root", "password": "pw-root"})
    assert locked.status_code == 429
    assert LOCKED_EN in locked.content.decode()


@pytest.mark.django_db
def test_a_successful_login_clears_the_failures(client, tiny_city):
    assert fail_logins(client, "/login/", "t1_operator", 9) == [200] * 9
    assert client.post("/login/", {"username": "t1_operator", "password": "pw-t1_operator"}).status_code == 302
    client.logout()
    assert fail_logins(client, "/login/", "t1_operator", 9) == [200] * 9


# ---- CSP header ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_carry_a_policy_without_inline_script(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
    assert directives["report-uri"] == "/csp-report/"


@pytest.mark.django_db
def test_violation_reports_are_logged(client, caplog):
    report = {"csp-report": {"document-uri": "http://testserver/cases/", "violated-directive": "script-src-elem",
                             "blocked-uri": "inline"}}
    with caplog.at_level("WARNING", logger="govgrid.csp"):
        response = client.post("/csp-report/", json.dumps(report), content_type="application/csp-report")
    assert response.status_code == 204
    assert "script-src-elem" in caplog.text and "/cases/" in caplog.text
    assert client.post("/csp-report/", "not json", content_type="application/csp-report").status_code == 400


# ---- Redis: cache, broker and results apart ------------------------------------------------------


def test_cache_broker_and_results_use_separate_redis_databases(settings):
    from django.core.cache import cache

    locations = {settings.CACHES["default"]["LOCATION"], settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND}
    assert len(locations) == 3
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.lpush("test-security-queue", "a message")
    try:
        cache.clear()  # an admin clearing the cache (FLUSHDB on the cache's database) ...
        assert broker.llen("test-security-queue") == 1  # ... leaves the queues alone
    finally:
        broker.delete("test-security-queue")


def test_a_base_redis_database_without_room_for_three_is_refused():
    result = run("import django; django.setup()", DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/14")
    assert result.returncode != 0 and "REDIS_URL" in result.stderr
    given = run("import django; django.setup(); from django.conf import settings; print(settings.CELERY_BROKER_URL)",
                DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/14", CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
                CELERY_RESULT_BACKEND="redis://127.0.0.1:6379/4")
    assert given.returncode == 0, given.stderr
    assert given.stdout.strip() == "redis://127.0.0.1:6379/3"
