"""The Content Security Policy in a real browser: our pages pass it, and a violation is caught (which is
what fails every browser test after which one was logged: tests/browser/conftest.py ``csp_guard``)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import csp_violations, login, make_driver, wait_for


@pytest.fixture
def driver():
    driver = make_driver(1280, 900)
    yield driver
    driver.quit()


@pytest.mark.django_db(transaction=True)
def test_pages_pass_the_policy_and_a_violation_is_caught(driver, live_server, tiny_city):
    for page in ("/login/", "/no-such-page/", "/api/docs/"):
        driver.get(live_server.url + page)
        wait_for(driver, "body")
    wait_for(driver, "#swagger-ui .info", timeout=20)  # Swagger UI ran: its set-up script is a file now
    login(driver, live_server, "t1_operator")
    wait_for(driver, "main")
    assert csp_violations(driver) == []

    # An injected inline script (what an XSS would add) is blocked and reported.
    driver.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.pwned = 1'; document.head.appendChild(s);")
    assert driver.execute_script("return window.pwned") is None
    found = csp_violations(driver)
    assert found and "script-src" in found[0]
