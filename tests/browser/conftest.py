"""Browser tests: Debian's Chromium, headless, driven by Selenium through /usr/bin/chromedriver.

Nothing downloads a browser: the binary and the driver come from apt (make test installs them).

Every page a browser test visits must pass the Content Security Policy: the ``browser`` and ``phone``
fixtures fail the test when Chromium logged a violation, or one reached the report endpoint.
"""

from __future__ import annotations

import contextlib
import logging
import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from reports.tests.live_helpers import live_stream  # noqa: F401  (a real live process: test_live_screen)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def make_driver(width: int, height: int, *, mobile: bool = False, profile: str | None = None) -> webdriver.Chrome:
    """A headless Chromium; ``profile``: a user-data-dir that outlives the browser (closed and opened
    again with the same cookies, IndexedDB and service workers)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    if profile:
        options.add_argument(f"--user-data-dir={profile}")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                 f"--window-size={width},{height}", "--lang=zh-CN"):
        options.add_argument(flag)
    if mobile:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 3.0, "touch": True},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        })
    # The console, where Chromium reports what the Content Security Policy blocked.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    # Read the console before the browser goes, whoever quits it (a fixture or the test itself).
    quit_browser = driver.quit

    def quit() -> None:
        with contextlib.suppress(Exception):
            _violations.extend(csp_violations(driver))
        quit_browser()

    driver.quit = quit
    return driver


_violations: list[str] = []


def csp_violations(driver) -> list[str]:
    """The CSP violations Chromium logged since the last call (reading the log empties it)."""
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


class _Reports(logging.Handler):
    """Violation reports the browser posted to /csp-report/ (the live server runs in this process)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        _violations.append(record.getMessage())


@pytest.fixture(autouse=True)
def csp_guard():
    """Fails every browser test after which a page had broken the Content Security Policy.

    Autouse, so it is set up before the ``browser``/``phone`` fixtures and checks after they quit.
    """
    reports = _Reports()
    logger = logging.getLogger("govgrid.csp")
    logger.addHandler(reports)
    _violations.clear()
    yield
    logger.removeHandler(reports)
    found, _violations[:] = list(_violations), []
    if found:
        pytest.fail("Content Security Policy violated:\n" + "\n".join(found), pytrace=False)


@pytest.fixture
def browser():
    driver = make_driver(1366, 900)
    yield driver
    driver.quit()


@pytest.fixture
def phone():
    """A 390×844 phone (iPhone 12-14 size) with touch."""
    driver = make_driver(390, 844, mobile=True)
    yield driver
    driver.quit()


def wait_for(driver, css: str, timeout: float = 10):
    return WebDriverWait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_text(driver, css: str, text: str, timeout: float = 10):
    return WebDriverWait(driver, timeout).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def login(driver, live_server, username: str, password: str | None = None, *, language: str = "zh-hans") -> None:
    """Log in through the login page (tiny_city personas have the password 'pw-<username>')."""
    driver.get(live_server.url + "/login/")
    driver.add_cookie({"name": "django_language", "value": language})
    driver.get(live_server.url + "/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password or f"pw-{username}")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: "/login/" not in d.current_url)


def logout(driver, live_server) -> None:
    driver.delete_all_cookies()


def set_geolocation(driver, lon: float, lat: float, accuracy: float = 10) -> None:
    """Grant geolocation and put the device at (lon, lat)."""
    driver.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["geolocation"]})
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride",
                           {"latitude": lat, "longitude": lon, "accuracy": accuracy})


def deny_geolocation(driver) -> None:
    driver.execute_cdp_cmd("Browser.resetPermissions", {})
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride", {})  # no position: "position unavailable"


@pytest.fixture
def screenshots(tmp_path_factory):
    """Where page tests may save screenshots to look at (printed at the end of the test)."""
    return tmp_path_factory.mktemp("screens")
