"""Sweep tasks (排查任务, issue #12): a task to every rental house of Foshan, and its progress board.

    .venv/bin/python bench/sweep_tasks.py [--houses 100000] [--reported 0.7] [--repeat 20] [--keep]

Run by hand or by ``make bench``; it prints figures and asserts nothing. Not to be confused with
``bench/sweep.py``, the deadline (light) sweep.

1. **Houses.** The people-and-places registry of the bench database is topped up, once, to
   ``--houses`` rental houses (and half as many non-rental ones, which the task must leave out)
   spread evenly over Foshan's 5,069 grids, ten houses to a building at a point inside its grid:
   one INSERT … SELECT per table, tagged ``SWB-`` in the building number so later runs find them.
2. **Create.** ``cases.actions.sweeps.create_sweep_task`` as the city centre's operator: a one-off
   task "to every rental house" of the city (fields: a number, a yes/no, a choice, a photo), timed
   whole — validation, the task row and the targets written with one INSERT … SELECT.
3. **Reports.** A realistic share of the targets is reported (``--reported``, default 70 %: of those
   6 in 7 on time, 1 in 7 late, a third of them zero reports, 2 % with a finding), with one INSERT …
   SELECT (untimed), then the sweep tables are ANALYZEd as autovacuum would, and the board's per-grid
   counters (which the report actions keep as they go) are recounted from the reports (timed).
4. **Board.** ``cases.sweep_progress.board`` timed ``--repeat`` times at city level (a row per
   district) and for the largest district and one of its towns, then the board's htmx fragment
   (``GET /centre/sweeps/<id>/progress/``: the access module, the aggregate, the template) through
   Django's test client as the city operator, and one grid's targets. Target: under 200 ms.

The task (and its targets and reports) is deleted at the end unless ``--keep``; the houses stay.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

TAG = "SWB-"
HOUSES_PER_BUILDING = 10


def seed_houses(rental: int) -> tuple[int, float]:
    """Top up the tagged houses to ``rental`` rental ones (+ half as many others). (added, seconds)."""
    from django.db import connection, transaction

    from grids.choices import Level

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM parties_house h JOIN parties_building b ON b.id = h.building_id "
                       "WHERE b.number LIKE %s AND h.is_rental", [TAG + "%"])
        have = cursor.fetchone()[0]
    if have >= rental:
        return 0, 0.0
    started = time.monotonic()
    total = rental + rental // 2
    buildings = -(-total // HOUSES_PER_BUILDING)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM parties_house WHERE building_id IN "
                       "(SELECT id FROM parties_building WHERE number LIKE %s)", [TAG + "%"])
        cursor.execute("DELETE FROM parties_building WHERE number LIKE %s", [TAG + "%"])
        # Buildings round-robin over the grids, each at a point inside its grid.
        cursor.execute(
            f"""
            WITH grids AS (
                SELECT id, path, name, ST_PointOnSurface(boundary) AS point,
                       row_number() OVER (ORDER BY id) - 1 AS n, count(*) OVER () AS total
                FROM grids_area WHERE level = %s AND boundary IS NOT NULL
            )
            INSERT INTO parties_building (number, road, road_number, compound, building_name, address, point,
                                          grid_id, area_path, floors, units, created_at, updated_at)
            SELECT '{TAG}' || s, '基准路', s::text, '', '', g.name || '基准路' || s || '号', g.point, g.id, g.path,
                   6, 1, now(), now()
            FROM generate_series(1, %s) AS s JOIN grids g ON g.n = (s - 1) %% g.total
            """,
            [int(Level.GRID), buildings],
        )
        cursor.execute(
            f"""
            INSERT INTO parties_house (building_id, unit, floor, room, use, floor_area, is_rental, is_vacant,
                                       grid_id, area_path, created_at, updated_at)
            SELECT b.id, '1', r / 2 + 1, (r / 2 + 1) || '0' || (r %% 2 + 1), 'residential', 60,
                   r < %s, false, b.grid_id, b.area_path, now(), now()
            FROM parties_building b CROSS JOIN generate_series(0, {HOUSES_PER_BUILDING - 1}) AS r
            WHERE b.number LIKE %s
            """,
            # Two of every three houses are rental: 100,000 rental among 150,000.
            [HOUSES_PER_BUILDING * 2 // 3 + 1, TAG + "%"],
        )
        cursor.execute("SELECT count(*) FROM parties_house h JOIN parties_building b ON b.id = h.building_id "
                       "WHERE b.number LIKE %s AND h.is_rental", [TAG + "%"])
        made = cursor.fetchone()[0]
        if made > rental:  # trim to exactly the number asked for
            cursor.execute(
                "UPDATE parties_house SET is_rental = false WHERE id IN (SELECT h.id FROM parties_house h "
                "JOIN parties_building b ON b.id = h.building_id WHERE b.number LIKE %s AND h.is_rental "
                "ORDER BY h.id DESC LIMIT %s)", [TAG + "%", made - rental])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE parties_building")
        cursor.execute("ANALYZE parties_house")
    return rental, time.monotonic() - started


def city_operator():
    from grids.choices import CENTRE_ROLES
    from grids.models import Membership

    membership = Membership.objects.filter(role__in=CENTRE_ROLES, area__code=common.CITY_CODE).select_related(
        "user", "area").first()
    if membership is None:
        raise SystemExit("no centre staff at the Foshan city centre in the bench database")
    return membership.user, membership.area


def fill_reports(task, share: float) -> int:
    """Report ``share`` of the targets (seeded random, so runs compare)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            """
            INSERT INTO cases_sweepreport (task_id, target_id, round_date, worker_id, reported_at, is_late, is_zero,
                                           answers, note, finding)
            SELECT x.task_id, x.id, %s, %s, now(), x.v > %s * 6 / 7, x.v < %s / 3, '{"f1": 2, "f2": true}'::jsonb,
                   '', CASE WHEN x.v BETWEEN %s / 3 AND %s / 3 + 0.02 THEN 'report_only' ELSE '' END
            FROM (SELECT t.task_id, t.id, random() AS v FROM cases_sweeptarget t WHERE t.task_id = %s) x
            WHERE x.v < %s
            """,
            [task.ends_on, task.created_by_id, share, share, share, share, task.pk, share],
        )
        count = cursor.rowcount
        for table in ("cases_sweeptarget", "cases_sweepreport", "cases_sweepgrid"):
            cursor.execute(f"ANALYZE {table}")
    return count


def timed(func, repeat: int) -> tuple[dict[str, float], object]:
    func()  # warm
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        samples.append(time.perf_counter() - started)
    return common.summary_ms(samples), result


def line(what: str, stats: dict[str, float]) -> str:
    return f"  {what:<46} p50 {stats['p50']:7.1f} ms   mean {stats['mean']:7.1f} ms   max {stats['max']:7.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--houses", type=int, default=100_000, help="rental houses in Foshan")
    parser.add_argument("--reported", type=float, default=0.7, help="share of targets reported")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the task, its targets and reports")
    args = parser.parse_args(argv)

    common.setup()
    common.ensure_city()
    print(f"sweep tasks · {args.houses:,} rental houses of Foshan · {common.machine_line()}", flush=True)
    added, seconds = seed_houses(args.houses)
    if added:
        print(f"  seeded {args.houses:,} rental houses (+{args.houses // 2:,} others) in {seconds:.1f} s", flush=True)

    from django.test import Client

    from cases.actions.sweeps import create_sweep_task, rebuild_sweep_counters
    from cases.sweep_progress import board, grid_targets
    from govgrid import clock
    from grids.choices import Level
    from grids.models import Area

    operator, city = city_operator()
    fields = [{"label": "在住人数", "kind": "number", "required": True},
              {"label": "是否登记", "kind": "yes_no", "required": True},
              {"label": "房屋状况", "kind": "choice", "options": ["正常", "群租", "空置"]},
              {"label": "门口照片", "kind": "photo"}]
    import os

    busy_before, own_before = common.system_busy_seconds(), common.process_cpu_seconds(os.getpid())
    wall_started = time.monotonic()
    started = time.perf_counter()
    task = create_sweep_task(actor=operator, area=city, title="出租屋排查（基准）", fields=fields,
                             target_kind="house", target_rental=True,
                             deadline=clock.now() + timedelta(days=2))
    created = time.perf_counter() - started
    print(f"  create the task to every rental house: {task.target_count:,} targets in {created * 1000:.0f} ms",
          flush=True)
    try:
        started = time.perf_counter()
        reported = fill_reports(task, args.reported)
        print(f"  {reported:,} reports written ({reported / task.target_count:.0%}) in "
              f"{time.perf_counter() - started:.1f} s (untimed set-up)", flush=True)
        started = time.perf_counter()
        rebuild_sweep_counters(task)
        print(f"  the board's counters recounted from the reports in {(time.perf_counter() - started) * 1000:.0f} ms",
              flush=True)

        district = Area.objects.filter(level=Level.DISTRICT, path__startswith=city.path).order_by("code").first()
        town = Area.objects.filter(level=Level.TOWN, path__startswith=district.path).order_by("code").first()
        grid = Area.objects.filter(pk=task.targets.filter(area_path__startswith=town.path).values("grid_id")[:1]).get()
        stats, shown = timed(lambda: board(task, city), args.repeat)
        board_city = stats["p50"]
        print(line(f"board, city → {len(shown.rows)} districts", stats))
        print(f"    counts: total {shown.total.total:,} done {shown.total.done:,} late {shown.total.late:,} "
              f"not yet {shown.total.waiting:,} zero {shown.total.zero:,} findings {shown.total.findings:,} "
              f"grids done {shown.total.grids_done:,}/{shown.total.grids:,}", flush=True)
        stats, shown = timed(lambda: board(task, district), args.repeat)
        print(line(f"board, {district.name} → {len(shown.rows)} towns", stats), flush=True)
        stats, shown = timed(lambda: board(task, town), args.repeat)
        print(line(f"board, {town.name} → {len(shown.rows)} communities", stats), flush=True)
        stats, rows = timed(lambda: grid_targets(task, grid), args.repeat)
        print(line(f"a grid's targets ({len(rows)} houses)", stats), flush=True)

        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(operator)
        url = f"/centre/sweeps/{task.pk}/progress/"

        def fragment():
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            return response

        stats, _ = timed(fragment, args.repeat)
        print(line("board fragment page (GET …/progress/), city", stats), flush=True)
        stats, _ = timed(lambda: client.get(f"/centre/sweeps/{task.pk}/"), max(5, args.repeat // 4))
        print(line("board page (GET /centre/sweeps/<id>/), city", stats), flush=True)
    finally:
        if not args.keep:
            task.delete()
        common.flush_bench_redis()
    own = common.process_cpu_seconds(os.getpid()) - own_before
    busy, wall = common.system_busy_seconds() - busy_before, time.monotonic() - wall_started
    print(f"  {common.others_line(busy, own, wall)} (PostgreSQL's share counts as others')")
    common.record("sweep_tasks", {"targets": task.target_count, "create_ms": created * 1000,
                                  "board_city_p50_ms": board_city}, others_cores=common.others_cores(busy, own, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
