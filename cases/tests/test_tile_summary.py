"""The map's cluster tiles at city scale counted from the summary of open cases per grid (cases.tiles,
GridOpenSummary): the same counts as from the cases, kept fresh by the refresh, scoped as the cases are,
and the cases themselves read whenever the summary cannot answer for the user's scope."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from cases import actions
from cases import tiles as case_tiles
from cases.models import Case, GridOpenSummary
from cases.selectors import case_scope_by_area
from cases.tests.mvt import decode, lonlat, tile_of
from govgrid import tiles
from grids.models import Membership

CITY_BOX = (113.00, 23.00, 113.03, 23.01)  # Testville (conftest.tiny_city)
LOW_ZOOMS = range(9, case_tiles.SUMMARY_ZOOM + 1)


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    cache.clear()
    settings.MAP_TILES_STALE_SECONDS = 0  # every bump of the version rebuilds: what the tile reads shows
    yield


@pytest.fixture
def cases7(tiny_city, categories):
    """Three open cases in grid A-1 (one red, one yellow), two in A-2 (Town One), two in B-1 (Town Two),
    and a closed one in A-1."""
    def report(lon, reporter, light="green", **extra):
        case = actions.report_case(reporter=reporter, category=categories.garbage, lon=lon, lat=23.005,
                                   description="路边垃圾", **extra)[0]
        Case.objects.filter(pk=case.pk).update(light=light)  # as the deadline sweep leaves it
        return case

    from cases.tests.conftest import photo

    return {
        "a1": [report(113.002, tiny_city.g1_worker, "red"), report(113.004, tiny_city.g1_worker, "yellow"),
               report(113.008, tiny_city.g1_worker)],
        "a2": [report(113.012, tiny_city.t1_operator), report(113.017, tiny_city.t1_operator, "red")],
        "b1": [report(113.022, tiny_city.g3_worker), report(113.027, tiny_city.g3_worker, "yellow")],
        "closed": report(113.006, tiny_city.g1_worker, self_resolve=True, resolution_note="已清理",
                         after_photos=[photo()]),
    }


def tiles_over(box, z):
    _, x0, y1 = tile_of(box[0], box[1], z)
    _, x1, y0 = tile_of(box[2] - 1e-9, box[3] - 1e-9, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def clusters(user, z, x, y):
    client = Client()
    client.force_login(user)
    response = client.get(f"/tiles/cases/{z}/{x}/{y}.mvt")
    assert response.status_code == 200, response.content
    found = decode(response.content)
    features = found["cases"].features if "cases" in found else []
    assert all("count" in f.properties and "id" not in f.properties for f in features)
    return features


def totals(user, zoom):
    """count, red and yellow summed over every tile over the city at ``zoom``."""
    features = [f for z, x, y in tiles_over(CITY_BOX, zoom) for f in clusters(user, z, x, y)]
    return tuple(sum(f.properties[name] for f in features) for name in ("count", "red", "yellow"))


def forget_summary():
    """The summary's mark gone (no refresh for SUMMARY_TRUSTED_SECONDS): the tiles count the cases."""
    cache.delete(case_tiles._SUMMARY_MARK)
    tiles.bump_now(case_tiles.LAYER)


def per_grid():
    """The summary added up per grid: {grid id: (open, red, yellow)}."""
    from django.db.models import Sum

    rows = GridOpenSummary.objects.values("grid").annotate(n=Sum("open_count"), r=Sum("red"), y=Sum("yellow"))
    return {row["grid"]: (row["n"], row["r"], row["y"]) for row in rows}


def features_over_city(user, zoom):
    """Every cluster over the city at ``zoom``: (tile, properties, position in the tile), sorted."""
    return sorted((tile, tuple(sorted(f.properties.items())), f.parts[0][0])
                  for tile in tiles_over(CITY_BOX, zoom) for f in clusters(user, *tile))


def test_the_refresh_writes_the_open_cases_per_grid_and_cell(tiny_city, cases7):
    written = case_tiles.refresh_grid_summary()["written"]
    assert written == GridOpenSummary.objects.count() >= 3
    assert per_grid() == {tiny_city.g1.pk: (3, 1, 1), tiny_city.g2.pk: (2, 1, 0), tiny_city.g3.pk: (2, 0, 1)}
    assert set(GridOpenSummary.objects.filter(grid=tiny_city.g1).values_list("area_path", flat=True)) == {
        tiny_city.g1.path}
    # A cell is a zoom-16 tile: A-1's red and yellow cases (113.002 and 113.004 E) share one.
    _, x, y = tile_of(113.002, 23.005, 16)
    cell = GridOpenSummary.objects.get(grid=tiny_city.g1, cell_x=x, cell_y=(1 << 16) - 1 - y)
    assert (cell.open_count, cell.red, cell.yellow) == (2, 1, 1)
    # Nothing changed: nothing written, the tiles' version left alone.
    version = tiles.layer_version(case_tiles.LAYER)
    assert case_tiles.refresh_grid_summary() == {"written": 0, "removed": 0}
    assert tiles.layer_version(case_tiles.LAYER) == version


@pytest.mark.parametrize("persona, expected", [
    ("city_official", (7, 2, 2)), ("admin", (7, 2, 2)), ("t1_operator", (5, 2, 1)), ("t2_operator", (2, 0, 1)),
    ("district_lead", (7, 2, 2)), ("g1_worker", (3, 1, 1)), ("nobody", (0, 0, 0)),
])
def test_counts_from_the_summary_equal_counts_from_the_cases(tiny_city, cases7, persona, expected):
    user = getattr(tiny_city, persona)
    from_cases = {zoom: features_over_city(user, zoom) for zoom in LOW_ZOOMS}
    assert {totals(user, zoom) for zoom in LOW_ZOOMS} == {expected}

    case_tiles.refresh_grid_summary()
    tiles.bump_now(case_tiles.LAYER)
    assert case_scope_by_area(user) is not None  # these scopes are areas: the summary answers
    # The same clusters, tile for tile: counts, lights and places (to the tile's 1/4096).
    assert {zoom: features_over_city(user, zoom) for zoom in LOW_ZOOMS} == from_cases
    assert {totals(user, zoom) for zoom in LOW_ZOOMS} == {expected}


def test_a_summary_cluster_lies_at_the_mean_of_its_cases(tiny_city, cases7):
    case_tiles.refresh_grid_summary()
    z, x, y = tile_of(113.005, 23.005, 10)  # A-1's cases in one cell of 5 km
    a1 = clusters(tiny_city.g1_worker, z, x, y)
    assert [f.properties["count"] for f in a1] == [3]
    lon, lat = lonlat(z, x, y, *a1[0].parts[0][0])
    assert lon == pytest.approx((113.002 + 113.004 + 113.008) / 3, abs=2e-4)
    assert lat == pytest.approx(23.005, abs=2e-4)


def test_the_summary_is_read_and_the_refresh_brings_in_new_cases_and_lights(
        tiny_city, categories, cases7, django_capture_on_commit_callbacks):
    user = tiny_city.t1_operator
    case_tiles.refresh_grid_summary()
    assert totals(user, 11) == (5, 2, 1)

    with django_capture_on_commit_callbacks(execute=True):  # the version bumps: the tiles are rebuilt
        new, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.003,
                                     lat=23.004, description="又有垃圾")
    assert totals(user, 11) == (5, 2, 1)  # rebuilt from the summary, which has not seen it yet
    forget_summary()
    assert totals(user, 11) == (6, 2, 1)  # the cases have

    case_tiles.refresh_grid_summary()
    assert totals(user, 11) == (6, 2, 1)
    # A light turning red (the sweep), a case leaving the open statuses.
    Case.objects.filter(pk=new.pk).update(light="red")
    with django_capture_on_commit_callbacks(execute=True):
        actions.reject_case(cases7["a2"][0], actor=user, reason="不属实")
    case_tiles.refresh_grid_summary()
    assert per_grid()[tiny_city.g1.pk] == (4, 2, 1) and per_grid()[tiny_city.g2.pk] == (1, 1, 0)
    assert totals(user, 11) == (5, 3, 1)


def test_a_grid_left_without_open_cases_leaves_the_summary(tiny_city, cases7):
    case_tiles.refresh_grid_summary()
    for case in cases7["b1"]:
        actions.reject_case(case, actor=tiny_city.t2_operator, reason="不属实")
    cells = GridOpenSummary.objects.filter(grid=tiny_city.g3).count()
    assert case_tiles.refresh_grid_summary() == {"written": 0, "removed": cells}
    assert set(per_grid()) == {tiny_city.g1.pk, tiny_city.g2.pk}
    tiles.bump_now(case_tiles.LAYER)
    assert totals(tiny_city.t2_operator, 10) == (0, 0, 0)


def test_a_town_operator_low_zoom_tile_counts_only_its_town(tiny_city, cases7):
    case_tiles.refresh_grid_summary()
    assert tiny_city.g3.pk in per_grid()  # Town Two's grid is in the summary
    for zoom in LOW_ZOOMS:
        for z, x, y in tiles_over(CITY_BOX, zoom):
            town_one = clusters(tiny_city.t1_operator, z, x, y)
            # Each cluster lies in Town One (113.00–113.02 E), none at Town Two's grid (113.02–113.03 E).
            assert all(lonlat(z, x, y, *f.parts[0][0])[0] < 113.02 for f in town_one)
        assert totals(tiny_city.t1_operator, zoom) == (5, 2, 1)
        assert totals(tiny_city.t2_operator, zoom) == (2, 0, 1)


def test_redis_down_counts_from_the_cases(tiny_city, categories, cases7, settings):
    """No Redis, no mark: the summary is not trusted (it may be hours old), the tile is still answered."""
    case_tiles.refresh_grid_summary()
    actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.003, lat=23.004,
                        description="又有垃圾")  # after the refresh: only the cases know it
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {"socket_connect_timeout": 0.2}}}
    assert totals(tiny_city.t1_operator, 10) == (6, 2, 1)


def test_a_department_handler_is_counted_from_the_cases(tiny_city, cases7):
    """A handler sees the cases dispatched to the department, which no summary per grid holds."""
    case = cases7["a2"][1]
    actions.accept_case(case, actor=tiny_city.t1_operator)
    actions.dispatch_case(case, actor=tiny_city.t1_operator, lead=tiny_city.town1_um)
    case_tiles.refresh_grid_summary()
    assert case_scope_by_area(tiny_city.handler) is None
    assert totals(tiny_city.handler, 10) == (1, 0, 0)  # dispatched: a new clock, green again


def test_own_reports_beyond_ones_grids_are_counted_from_the_cases(tiny_city, cases7):
    """g1_worker moves to grid B-1: their three reports in A-1 are still theirs to see."""
    for membership in Membership.objects.filter(user=tiny_city.g1_worker):
        membership.area = tiny_city.g3
        membership.save()
    moved = type(tiny_city.g1_worker).objects.get(pk=tiny_city.g1_worker.pk)
    case_tiles.refresh_grid_summary()
    assert case_scope_by_area(moved) is None
    assert case_scope_by_area(tiny_city.g3_worker) is not None
    assert totals(moved, 10) == (5, 1, 2)  # A-1's three and B-1's two
    assert totals(tiny_city.g3_worker, 10) == (2, 0, 1)


def test_deeper_zooms_read_the_cases(tiny_city, categories, cases7):
    case_tiles.refresh_grid_summary()
    actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.003, lat=23.004,
                        description="又有垃圾")
    tiles.bump_now(case_tiles.LAYER)
    assert totals(tiny_city.t1_operator, case_tiles.SUMMARY_ZOOM)[0] == 5  # the summary's
    assert totals(tiny_city.t1_operator, case_tiles.SUMMARY_ZOOM + 1)[0] == 6  # the cases'


def test_a_grid_moved_to_another_town_leaves_the_old_towns_tiles_at_once(tiny_city, cases7):
    from grids.actions import move_area

    case_tiles.refresh_grid_summary()
    move_area(tiny_city.g3, actor=tiny_city.admin, parent=tiny_city.comm_a)  # B-1 to Town One
    tiles.bump_now(case_tiles.LAYER)
    # No refresh yet: the summary's paths moved with the grid's, as the cases' did.
    assert set(GridOpenSummary.objects.filter(grid=tiny_city.g3).values_list("area_path", flat=True)) == {
        Case.objects.get(pk=cases7["b1"][0].pk).area_path}
    assert case_scope_by_area(tiny_city.t2_operator) is not None
    for zoom in LOW_ZOOMS:
        assert totals(tiny_city.t2_operator, zoom) == (0, 0, 0)  # Town Two has no grid left
        assert totals(tiny_city.t1_operator, zoom) == (7, 2, 2)
    assert case_tiles.refresh_grid_summary() == {"written": 0, "removed": 0}  # nothing left to mend


@pytest.mark.django_db
def test_the_task_refreshes_and_beat_runs_it():
    from cases.tasks import refresh_map_summary
    from govgrid.celery import app

    assert refresh_map_summary() == {"written": 0, "removed": 0}
    assert cache.get(case_tiles._SUMMARY_MARK) is not None
    entry = app.conf.beat_schedule["refresh-map-summary"]
    assert entry["task"] == "cases.tasks.refresh_map_summary"
    assert entry["schedule"] <= case_tiles.SUMMARY_TRUSTED_SECONDS / 2  # one missed beat is not a fallback



@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_refreshes_the_summary(celery_worker, tiny_city, categories):
    """The beat task through a real worker (its queue, its own connection, the Redis mark it leaves)."""
    from cases.tasks import refresh_map_summary

    for lon in (113.004, 113.015, 113.025):
        actions.report_case(reporter=tiny_city.g1_worker if lon < 113.01 else tiny_city.g3_worker
                            if lon > 113.02 else tiny_city.t1_operator, category=categories.garbage, lon=lon,
                            lat=23.005, description="路边垃圾")
    assert refresh_map_summary.delay().get(timeout=20) == {"written": 3, "removed": 0}
    assert case_tiles.summary_trusted()
    assert per_grid() == {tiny_city.g1.pk: (1, 0, 0), tiny_city.g2.pk: (1, 0, 0), tiny_city.g3.pk: (1, 0, 0)}
    assert totals(tiny_city.t1_operator, 10) == (2, 0, 0)
