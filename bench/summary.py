"""One table of every benchmark figure next to its target (issue #16 item 8).

    .venv/bin/python bench/summary.py [--markdown]

Each bench keeps its headline figures in ``var/bench/NAME.json`` (``bench.common.record``) when it runs;
this script reads them and prints one row per figure: what was measured, the target (DESIGN.md §9 and
the issues), the reference beside it (the bare-insert floor, the figure the issue started from), whether
the target is met, and when and on how busy a machine it was measured. A bench that has not run on this
machine shows "not measured". ``make bench`` ends with it; ``--markdown`` prints the table for
bench/README.md's history.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR  # noqa: E402


@dataclass(frozen=True)
class Row:
    bench: str
    label: str
    path: tuple[str, ...]  # keys into the bench's JSON
    unit: str
    target: str = ""  # words, e.g. "< 200"
    check: Callable[[float, dict], bool] | None = None
    reference: Callable[[dict], str] | None = None


def below(limit: float) -> Callable[[float, dict], bool]:
    return lambda value, data: value < limit


def at_most(limit: float) -> Callable[[float, dict], bool]:
    return lambda value, data: value <= limit


def at_least(limit: float) -> Callable[[float, dict], bool]:
    return lambda value, data: value >= limit


def page(name: str, key: str = "p50") -> tuple[str, ...]:
    return ("pages", name, key)



ROWS = [
    Row("locate", "point → grid, p50 (5,069 grids)", ("p50_ms",), "ms", "< 2", below(2)),
    Row("intake", "intake ÷ bare-insert floor, c=32", ("ratio",), "×", "≥ 0.6", at_least(0.6),
        lambda d: f"floor {d['floor_rps']:.0f} req/s"),
    Row("intake", "intake throughput, c=32", ("intake_rps",), "req/s", "",
        None, lambda d: "issue: 116 (c=16); helpdesk 111"),
    Row("intake", "intake p99", ("intake_p99_ms",), "ms", "< 150", below(150),
        lambda d: f"floor p99 {d['floor_p99_ms']:.0f} ms"),
    Row("intake", "SQL statements per report (besides BEGIN/COMMIT)", ("statements_besides_transaction",), "",
        "≤ 6", at_most(6), lambda d: f"with BEGIN/COMMIT {d['statements']}; floor {d['floor_statements']}; issue: 11"),
    Row("intake", "gunicorn CPU per report", ("gunicorn_cpu_ms",), "ms", "", None,
        lambda d: f"floor {d['floor_gunicorn_cpu_ms']:.1f} ms"),
    Row("triage", "report → triage delay at 50/s, median", ("median_s",), "s", "< 10", below(10)),
    Row("pages", "centre inbox at 1 M, p50", page("inbox"), "ms", "< 1000", below(1000)),
    Row("pages", "case list at 1 M, p50", page("case list"), "ms", "< 1000", below(1000)),
    Row("pages", "API list by status, p50", page("API, status"), "ms", "< 20", below(20),
        lambda d: "issue: 51 ms"),
    Row("pages", "API list by area subtree, p50", page("API, area subtree"), "ms", "< 20", below(20)),
    Row("pages", "API list by light, p50", page("API, red lights"), "ms", "< 20", below(20),
        lambda d: "issue: 55 ms"),
    Row("pages", "API list by department, p50", page("API, department"), "ms", "< 20", below(20)),
    Row("pages", "API list SQL statements (most of any filter)", ("api_queries_max",), "", "≤ 4 (pinned)",
        at_most(4), lambda d: "cases/tests/test_scope_api.py pins it"),
    Row("tiles", "map tile, cold p50 (worst zoom)", ("cold_p50_ms_max",), "ms", "< 50", below(50)),
    Row("tiles", "map tile, warm p95 (worst zoom)", ("warm_p95_ms_max",), "ms", "< 50", below(50)),
    Row("map_page", "map page usable, cold tiles (worst size)", ("usable_cold_ms_max",), "ms", "< 2000",
        below(2000)),
    Row("map_page", "map page usable, warm, desktop", ("desktop", "warm_median_ms"), "ms", "< 2000", below(2000)),
    Row("map_page", "map page usable, warm, phone", ("phone", "warm_median_ms"), "ms", "< 2000", below(2000)),
    Row("exports", "CSV export of 1 M cases", ("csv", "seconds"), "s", "", None),
    Row("exports", "CSV export peak memory", ("csv", "peak_rss_mb"), "MB", "< 300", below(300)),
    Row("exports", "XLSX export of 1 M cases", ("xlsx", "seconds"), "s", "", None),
    Row("exports", "XLSX export peak memory", ("xlsx", "peak_rss_mb"), "MB", "< 300", below(300)),
    Row("sweep", "light sweep, 1,000 of 1 M change", ("changes_1000_median_ms",), "ms", "< 200", below(200),
        lambda d: "issue: 477 ms"),
    Row("sweep", "light sweep, nothing due", ("idle_median_ms",), "ms", "", None),
    Row("sweep_tasks", "sweep-task board, city, 100,000 houses", ("board_city_p50_ms",), "ms", "< 200", below(200)),
    Row("residents_import", "100,000 residents imported", ("import_seconds",), "s", "", None),
    Row("residents_import", "resident import peak memory", ("peak_rss_mb",), "MB", "", None),
    Row("rollup", "counter rows per case after roll-up", ("rows_per_case_after",), "", "< 11.04",
        below(11.04), lambda d: f"before {d['rows_per_case_before']:.2f}"),
    Row("rollup", "city dashboard (30 days)", ("city_ms",), "ms", "≈ 2.1", None, lambda d: "issue: 2.1 ms"),
    Row("rollup", "town drill-down (30 days)", ("town_ms",), "ms", "≈ 3.6", None, lambda d: "issue: 3.6 ms"),
]


def load_results(directory: Path = RESULTS_DIR) -> dict[str, dict]:
    results = {}
    for path in sorted(directory.glob("*.json")):
        try:
            results[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return results


def _dig(data: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def table(results: dict[str, dict]) -> list[tuple[str, ...]]:
    rows = []
    for row in ROWS:
        data = results.get(row.bench)
        value = _dig(data, row.path) if data else None
        if value is None:
            rows.append((row.bench, row.label, "not measured", row.target, "", "", ""))
            continue
        shown = (f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}") if isinstance(value, float) else f"{value:,}"
        verdict = ""
        if row.check is not None:
            try:
                verdict = "met" if row.check(value, data) else "NOT met"
            except (KeyError, TypeError, ValueError):
                verdict = "?"
        try:
            reference = row.reference(data) if row.reference else ""
        except (KeyError, TypeError, ValueError):
            reference = ""
        load = data.get("load_other_cores")
        when = (data.get("measured_at") or "")[:16].replace("T", " ")
        if load is not None:
            when += f", others {load:.2f} cores"
        rows.append((row.bench, row.label, f"{shown} {row.unit}".strip(), f"{row.target} {row.unit}".strip()
                     if row.target else "", reference, verdict, when))
    return rows


HEADER = ("bench", "figure", "measured", "target", "reference", "", "measured at (UTC), load")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true", help="a Markdown table for bench/README.md")
    args = parser.parse_args(argv)
    rows = table(load_results())
    if args.markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for row in rows:
            print("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
        return 0
    widths = [max(len(str(cell)) for cell in column) for column in zip(HEADER, *rows, strict=False)]
    print("bench summary (var/bench/*.json; targets from DESIGN.md §9 and issue #16)")
    for row in (HEADER, *rows):
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    missed = sum(1 for row in rows if row[5] == "NOT met")
    unmeasured = sum(1 for row in rows if row[2] == "not measured")
    print(f"  {missed} target(s) not met, {unmeasured} figure(s) not measured on this machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
