#!/usr/bin/env python
"""Screenshots of every role's main pages, on a phone (390×844) and a desktop (1366×900).

Against a running server with the demo city (`make run`, or runserver after seed_city --preset demo
and seed_demo_cases), logged in as each demo persona (password govgrid-demo):

    .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out var/screenshots]
        [--role operator ...] [--size phone|desktop ...] [--full] [--readme]

Files are named ``<role>-<page>-<phone|desktop>.png`` and shrunk with Pillow (a 256-colour palette),
a few tens of KB each. ``--readme`` also copies the README's pictures into docs/screenshots/.
Headless Debian Chromium through Selenium, as the browser tests use.
"""

from __future__ import annotations

import argparse
import base64
import io
import shutil
import sys
import time
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parent.parent
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
# persona → its main pages (name, path). The personas are seed_city's demo logins (manage.py demo_logins).
ROLES: dict[str, list[tuple[str, str]]] = {
    "worker": [("home", "/m/"), ("report", "/m/report/"), ("tasks", "/m/tasks/"), ("grid", "/m/grid/"),
               ("sweeps", "/m/sweeps/"), ("patrol", "/m/patrol/"), ("cases", "/cases/")],
    "operator": [("inbox", "/centre/"), ("board", "/centre/board/"), ("approvals", "/centre/approvals/"),
                 ("cases", "/cases/"), ("map", "/cases/map/"), ("people", "/people/"), ("sweeps", "/centre/sweeps/"),
                 ("patrols", "/patrols/"), ("disputes", "/disputes/"), ("hotline", "/centre/hotline/"),
                 ("appeal", "/appeal/"), ("plans", "/plans/"), ("campaigns", "/plans/campaigns/"),
                 ("party", "/people/party/")],
    "handler": [("todo", "/dept/"), ("cases", "/cases/"), ("mytasks", "/plans/mine/")],
    "official": [("dashboard", "/reports/"), ("live", "/command/live/"), ("emergency", "/emergency/"),
                 ("board", "/centre/board/"),
                 ("map", "/cases/map/"),
                 ("people", "/people/"), ("evaluation", "/reports/evaluation/"), ("plans", "/plans/"),
                 ("campaigns", "/plans/campaigns/")],
    "admin": [("admin", "/admin/"), ("cases", "/cases/")],
}
# The README's pictures: (role, page, size) → file name in docs/screenshots/.
README = {
    ("operator", "inbox", "desktop"): "centre-inbox-desktop.png",
    ("handler", "todo", "phone"): "department-todo-phone.png",
    ("operator", "map", "desktop"): "map-desktop.png",
}
FULL_PAGE_LIMIT = 4000  # px: --full stops at this height


def driver(width: int, height: int, *, phone: bool) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--hide-scrollbars", f"--window-size={width},{height}"):
        options.add_argument(flag)
    if phone:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": True},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        })
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


def log_in(browser: webdriver.Chrome, base: str, user: str, password: str, lang: str) -> None:
    browser.delete_all_cookies()
    browser.get(base + "/login/")
    browser.add_cookie({"name": "django_language", "value": lang})
    browser.get(base + "/login/")
    browser.find_element(By.NAME, "username").send_keys(user)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda d: "/login/" not in d.current_url)


def capture(browser: webdriver.Chrome, *, full: bool) -> Image.Image:
    if not full:
        return Image.open(io.BytesIO(browser.get_screenshot_as_png()))
    width, height = browser.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollHeight]")
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": min(height, FULL_PAGE_LIMIT), "scale": 1},
    })
    return Image.open(io.BytesIO(base64.b64decode(shot["data"])))


def save_small(image: Image.Image, path: Path) -> int:
    """A 256-colour palette PNG: UI screenshots keep their look at a fraction of the size."""
    image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True)
    return path.stat().st_size


def settle(browser: webdriver.Chrome, wait: float) -> None:
    WebDriverWait(browser, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")
    time.sleep(wait)  # maps draw and htmx fragments arrive after the load event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default=str(REPO / "var" / "screenshots"))
    parser.add_argument("--password", default="govgrid-demo")
    parser.add_argument("--lang", default="zh-hans")
    parser.add_argument("--role", action="append", choices=sorted(ROLES), help="only these personas (repeatable)")
    parser.add_argument("--size", action="append", choices=sorted(SIZES), help="only these sizes (repeatable)")
    parser.add_argument("--wait", type=float, default=1.5, help="seconds after the load event")
    parser.add_argument("--full", action="store_true", help=f"the whole page, up to {FULL_PAGE_LIMIT} px high")
    parser.add_argument("--readme", action="store_true", help="copy the README's pictures to docs/screenshots/")
    args = parser.parse_args(argv)
    base = args.base.rstrip("/")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    saved: dict[tuple[str, str, str], Path] = {}
    problems = []
    for size in args.size or list(SIZES):
        width, height = SIZES[size]
        browser = driver(width, height, phone=size == "phone")
        try:
            for role in args.role or list(ROLES):
                log_in(browser, base, role, args.password, args.lang)
                for page, path in ROLES[role]:
                    browser.get(base + path)
                    settle(browser, args.wait)
                    overflow = browser.execute_script(
                        "return document.documentElement.scrollWidth > document.documentElement.clientWidth")
                    file = out / f"{role}-{page}-{size}.png"
                    kb = save_small(capture(browser, full=args.full), file) / 1024
                    saved[(role, page, size)] = file
                    note = "  (wider than the screen)" if overflow else ""
                    if overflow:
                        problems.append(f"{file.name}: wider than the screen")
                    print(f"{file.relative_to(REPO) if file.is_relative_to(REPO) else file}  {kb:5.0f} KB  "
                          f"{browser.title}{note}", flush=True)
        finally:
            browser.quit()
    if args.readme:
        docs = REPO / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        for key, name in README.items():
            if key in saved:
                shutil.copyfile(saved[key], docs / name)
                print(f"docs/screenshots/{name}")
    for problem in problems:
        print("!", problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
