"""The case map at city scale in a real browser: how long until it is usable (issue #16 item 3: "the map
page usable in under 2 s" at 1 M cases and 5,069 grids).

    .venv/bin/python bench/map_page.py [--repeat 3] [--workers 2]

The bench database's million open cases (bench/sweep.py loads them) and Foshan's grids; gunicorn with
DEBUG off and the static files collected (as in production); Debian's Chromium, headless, through
Selenium, logged in as ``op4406a`` (the city centre: every case and grid in scope), at 1366×900 and as a
390×844 phone. "Usable" is the moment both layers have drawn: the page's script sets ``data-cases`` on
the map once the case tiles of the view have loaded and ``data-grid-tiles-loaded`` once the grid tiles
have (static/js/map_tiles.js); the time is the page's own clock (``performance.now()``, from the start of
navigation). Cold: every tile of the cache emptied first, so the server builds each one; warm: the same
page again. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

VERBOSE = False
SIZES = (("desktop 1366×900", 1366, 900, False), ("phone 390×844", 390, 844, True))
# Both layers drawn; the grids only where the map draws them (from data-grid-tiles-from, a town's scale).
USABLE = ("var m = document.getElementById('map');"
          "if (!m || m.dataset.cases === undefined || !m.govgridMap) { return null; }"
          "var gridsShown = m.govgridMap.getZoom() >= Number(m.dataset.gridTilesFrom || 0);"
          "return !gridsShown || Number(m.dataset.gridTilesLoaded || 0) > 0 ? performance.now() : null;")


def collect_static(env: dict[str, str], root: str) -> None:
    if (Path(root) / "staticfiles.json").exists():
        return  # collected by an earlier run (delete var/bench-static after changing the assets)
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=common.REPO,
                   env=env, check=True)
    print(f"static files collected in {time.monotonic() - started:.1f} s", flush=True)


def log_in(driver, base: str, username: str) -> None:
    """Through the login page, with the seeded demo password (grids.seed)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from grids.seed import demo_password

    driver.get(base + "/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(demo_password())
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: "/login/" not in d.current_url)


def clear_tiles() -> int:
    """Every cached tile and layer version of the bench's Redis database."""
    import redis

    client = redis.Redis.from_url(common.redis_url())
    keys = list(client.scan_iter(match="*tiles:*", count=10_000))
    if keys:
        client.delete(*keys)
    return len(keys)


def time_page(driver, url: str, timeout: float = 60.0) -> tuple[float, int]:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    try:
        usable = WebDriverWait(driver, timeout, poll_frequency=0.02).until(lambda d: d.execute_script(USABLE))
    except TimeoutException:
        shot = common.RESULTS_DIR / "map_page-timeout.png"
        driver.save_screenshot(str(shot))
        entries = driver.execute_script(
            "return performance.getEntriesByType('resource').filter(e => e.name.indexOf('/tiles/') >= 0)"
            ".map(e => [e.name.split('/tiles/')[1], Math.round(e.duration), e.responseStatus])")
        print("tiles requested:", entries, flush=True)
        print("map data:", driver.execute_script("return JSON.stringify(document.getElementById('map').dataset)"))
        raise SystemExit(f"the map was not usable within {timeout:.0f} s at {driver.current_url} ({shot})") from None
    tiles = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.indexOf('/tiles/') >= 0).length")
    if VERBOSE:
        slowest = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => [e.name.replace(location.origin, ''), "
            "Math.round(e.startTime), Math.round(e.duration)]).sort((a, b) => (b[1] + b[2]) - (a[1] + a[2]))"
            ".slice(0, 8)")
        first = driver.execute_script(
            "return performance.getEntriesByType('resource').filter(e => e.name.indexOf('/tiles/') < 0)"
            ".map(e => [e.name.replace(location.origin, ''), Math.round(e.startTime), Math.round(e.duration),"
            " Math.round(e.encodedBodySize / 1024)])")
        nav = driver.execute_script("var n = performance.getEntriesByType('navigation')[0];"
                                    "return [Math.round(n.responseEnd), Math.round(n.domContentLoadedEventEnd),"
                                    " Math.round(n.loadEventEnd)]")
        print(f"    usable at {usable:.0f} ms; page response, DOMContentLoaded, load at {nav} ms")
        print(f"    the requests that ended last (path, start ms, duration ms): {slowest}")
        print(f"    the other requests (path, start ms, duration ms, KB): {first}")
        long = driver.execute_script("return window.__long || []")
        print(f"    main-thread tasks over 50 ms: {len(long)}, {sum(d for _s, d in long)} ms in all; "
              f"the longest (start, ms): {sorted(long, key=lambda t: -t[1])[:6]}")
    return float(usable), int(tiles)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="cold and warm loads per size (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--verbose", action="store_true", help="print the requests that ended last on each load")
    args = parser.parse_args(argv)
    global VERBOSE
    VERBOSE = args.verbose

    common.setup()
    common.ensure_city()
    from bench import intake, pages

    pages.ensure_cases()
    # The map summary that city-scale cluster tiles add up (cases/tiles.py), as beat keeps it on a server:
    # refreshed once and trusted for the run (nothing changes meanwhile).
    from django.core.cache import cache

    from cases import tiles as case_tiles

    started = time.monotonic()
    case_tiles.refresh_grid_summary()
    cache.set(case_tiles._SUMMARY_MARK, time.time(), None)
    print(f"map summary refreshed in {time.monotonic() - started:.1f} s", flush=True)
    from tests.browser.conftest import make_driver

    port = intake.free_port()
    server_args = argparse.Namespace(workers=args.workers, worker_class="gthread", threads=4)
    static_root = str(common.REPO / "var" / "bench-static")
    os.environ["STATIC_ROOT"] = static_root
    import base64
    import secrets

    env = {**os.environ, **common.bench_environment(), "DEBUG": "false", "STATIC_ROOT": static_root,
           "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "127.0.0.1",
           "PII_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
           "PII_HASH_KEY": secrets.token_urlsafe(48), "SECURE_SSL_REDIRECT": "false"}
    collect_static(env, static_root)
    os.environ.update(STATIC_ROOT=static_root, SECURE_SSL_REDIRECT="false")
    server = intake.start_gunicorn(port, server_args)
    results: dict[str, dict[str, list[float]]] = {}
    busy_started, wall_started = common.system_busy_seconds(), time.monotonic()
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                import urllib.request

                urllib.request.urlopen(base + "/login/", timeout=5).read()  # noqa: S310 - our own server
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.3)
        for name, width, height, mobile in SIZES:
            driver = make_driver(width, height, mobile=mobile)
            # Main-thread work of more than 50 ms (rendering, scripts), summed per load (--verbose prints it).
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
                "window.__long = []; try { new PerformanceObserver(function (l) { l.getEntries().forEach("
                "function (e) { window.__long.push([Math.round(e.startTime), Math.round(e.duration)]); }); })"
                ".observe({type: 'longtask', buffered: true}); } catch (e) {}")})
            try:
                log_in(driver, base, "op4406a")
                figures = results.setdefault(name, {"cold": [], "warm": [], "tiles": []})
                for _ in range(args.repeat):
                    clear_tiles()
                    cold, tiles = time_page(driver, base + "/cases/map/")
                    warm, _ = time_page(driver, base + "/cases/map/")
                    figures["cold"].append(cold)
                    figures["warm"].append(warm)
                    figures["tiles"].append(tiles)
            finally:
                driver.quit()
    finally:
        intake.stop_gunicorn(server)
    busy = common.system_busy_seconds() - busy_started
    wall = time.monotonic() - wall_started

    print(f"\nmap page · {common.machine_line()}")
    print("  1,000,000 open cases, Foshan's 5,069 grids; op4406a (the city centre); gunicorn "
          f"{args.workers} workers, DEBUG off; Chromium headless; ms from navigation until both layers drew")
    print(f"  {'size':<18} {'cold median':>12} {'cold max':>9} {'warm median':>12} {'warm max':>9} {'tiles':>6}")
    record = {}
    for name, figures in results.items():
        print(f"  {name:<18} {statistics.median(figures['cold']):12.0f} {max(figures['cold']):9.0f} "
              f"{statistics.median(figures['warm']):12.0f} {max(figures['warm']):9.0f} {max(figures['tiles']):6d}")
        key = "desktop" if name.startswith("desktop") else "phone"
        record[key] = {"cold_median_ms": statistics.median(figures["cold"]), "cold_max_ms": max(figures["cold"]),
                       "warm_median_ms": statistics.median(figures["warm"])}
    # The browser, gunicorn and PostgreSQL are all this bench's: "others" here counts them too.
    print(f"  the machine was busy {busy / wall:.2f} of its {os.cpu_count()} cores meanwhile (this bench included)")
    record["usable_cold_ms_max"] = max(r["cold_max_ms"] for r in record.values())
    common.record("map_page", record, others_cores=None)
    common.flush_bench_redis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
