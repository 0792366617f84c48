#!/usr/bin/env python
"""Log in as a user and take headless-Chromium screenshots of pages (for looking at what we build).

    .venv/bin/python scripts/screenshot.py --base http://127.0.0.1:8000 --user operator \
        --size 1366x900 /cases/ out/cases.png [/path2 out2.png ...]
"""

from __future__ import annotations

import argparse
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def driver(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="govgrid-demo")
    parser.add_argument("--size", default="1366x900")
    parser.add_argument("--lang", default="zh-hans")
    parser.add_argument("--wait", type=float, default=1.0)
    parser.add_argument("pairs", nargs="+", help="path png path png ...")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    browser = driver(width, height)
    try:
        browser.get(args.base + "/login/")
        browser.add_cookie({"name": "django_language", "value": args.lang})
        if args.user:
            browser.get(args.base + "/login/")
            browser.find_element(By.NAME, "username").send_keys(args.user)
            browser.find_element(By.NAME, "password").send_keys(args.password)
            browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            time.sleep(0.5)
        for path, png in zip(args.pairs[::2], args.pairs[1::2], strict=True):
            browser.get(args.base + path)
            time.sleep(args.wait)
            browser.save_screenshot(png)
            print(png, browser.title)
    finally:
        browser.quit()


if __name__ == "__main__":
    main()
