"""Error pages in both languages (issue 11): 403, 404 and 500 are the styled page, Chinese unless the
language switch chose English; under DEBUG (``make run``) a page's 404 is still the styled page, not
Django's technical one, unless DEBUG_TECHNICAL_404 asks for it. The API keeps its JSON.

The failing views come from tests/test_security.py's URLconf (``/forbidden/``, ``/boom/``).
"""

from __future__ import annotations

import pytest

from tests.test_security import assert_json, assert_page

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_security")]

ENGLISH = {"django_language": "en"}


@pytest.fixture
def anonymous(client):
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize(("url", "status", "chinese", "english"), [
    ("/forbidden/", 403, "无权打开此页面", "You may not open this page."),
    ("/no-such-page/", 404, "找不到", "Not found"),
    ("/boom/", 500, "出错了", "Something went wrong"),
])
def test_error_pages_are_styled_in_chinese_then_english(anonymous, url, status, chinese, english):
    html = assert_page(anonymous.get(url), status, str(status), chinese)
    assert english not in html and 'lang="zh-hans"' in html
    anonymous.cookies.load(ENGLISH)
    html = assert_page(anonymous.get(url), status, str(status), english)
    assert chinese not in html and 'lang="en"' in html


def test_under_debug_a_page_404_is_still_the_styled_page(client, settings, tiny_city):
    settings.DEBUG = True
    # No route at all, and a view's Http404 (a case that does not exist).
    assert_page(client.get("/no-such-page/"), 404, "找不到")
    client.force_login(tiny_city.t1_operator)
    html = assert_page(client.get("/cases/999999/"), 404, "找不到")
    assert "URLconf" not in html
    client.cookies.load(ENGLISH)
    assert_page(client.get("/cases/999999/"), 404, "Not found")
    # The API's 404 stays JSON, and a missing slash is still a redirect.
    assert_json(client.get("/api/v1/no-such-thing/"), 404)
    assert client.get("/cases").status_code == 301


def test_debug_technical_404_brings_back_django_page(client, settings):
    settings.DEBUG = True
    settings.DEBUG_TECHNICAL_404 = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "URLconf" in response.content.decode()
