"""The map's vector tiles (/tiles/cases/…, /tiles/grids/…): what each persona's tiles hold, bad addresses,
the cache and its versions, and the map page switching to tiles at city scale."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from cases import actions
from cases.tests.mvt import decode, lonlat, tile_of
from cases.tiles import POINTS_FROM_ZOOM
from govgrid import tiles
from grids.models import Area

# Testville lies in 113.00–113.03 E, 23.00–23.01 N: several tiles wide at zoom 12 and up, one at zoom 10.
CITY_BOX = (113.00, 23.00, 113.03, 23.01)
POINT_ZOOM = POINTS_FROM_ZOOM
CLUSTER_ZOOM = 10


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # tiles (and versions) of earlier tests in this Redis database
    yield


@pytest.fixture
def cases3(tiny_city, categories):
    """Open cases in grids A-1 and A-2 (Town One) and B-1 (Town Two), and a closed one in A-1."""
    def report(lon, reporter, **extra):
        return actions.report_case(reporter=reporter, category=categories.garbage, lon=lon, lat=23.005,
                                   description="路边垃圾", **extra)[0]

    a1 = report(113.004, tiny_city.g1_worker)
    a2 = report(113.015, tiny_city.t1_operator)
    b1 = report(113.025, tiny_city.g3_worker)
    done = report(113.006, tiny_city.g1_worker, self_resolve=True, resolution_note="已清理",
                  after_photos=[_photo()])
    return a1, a2, b1, done


def _photo():
    from cases.tests.conftest import photo

    return photo()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def tiles_over(box, z):
    _, x0, y1 = tile_of(box[0], box[1], z)
    _, x1, y0 = tile_of(box[2] - 1e-9, box[3] - 1e-9, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def get_layer(client, layer, z, x, y):
    response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    found = decode(response.content)
    return found[layer].features if layer in found else []


def points_over_city(client):
    """Every case point of the tiles over the city at point zoom: {id: (properties, lon, lat)}."""
    seen = {}
    for z, x, y in tiles_over(CITY_BOX, POINT_ZOOM):
        for feature in get_layer(client, "cases", z, x, y):
            assert feature.type == "Point"
            px, py = feature.parts[0][0]
            if 0 <= px < 4096 and 0 <= py < 4096:  # a point in the buffer is its neighbour's
                seen[feature.properties["id"]] = (feature.properties, *lonlat(z, x, y, px, py))
    return seen


def test_point_tiles_hold_exactly_the_open_cases_in_scope(tiny_city, cases3):
    a1, a2, b1, done = cases3
    seen = points_over_city(client_for(tiny_city.t1_operator))
    assert set(seen) == {a1.pk, a2.pk}  # not Town Two's case, not the closed one
    properties, lon, lat = seen[a1.pk]
    assert properties == {"id": a1.pk, "status": "reported", "light": "green", "category": "0101"}
    # Where the case is, to the tile's resolution (about 2 m at zoom 14).
    assert abs(lon - 113.004) < 3e-5 and abs(lat - 23.005) < 3e-5

    assert set(points_over_city(client_for(tiny_city.t2_operator))) == {b1.pk}
    assert set(points_over_city(client_for(tiny_city.city_official))) == {a1.pk, a2.pk, b1.pk}
    # A grid worker: their own grid's cases (the same rule as every other page).
    assert set(points_over_city(client_for(tiny_city.g1_worker))) == {a1.pk}
    assert points_over_city(client_for(tiny_city.nobody)) == {}


def test_cluster_tiles_count_the_cases_in_scope(tiny_city, cases3):
    (z, x, y), = tiles_over(CITY_BOX, CLUSTER_ZOOM)

    def clusters(user):
        features = get_layer(client_for(user), "cases", z, x, y)
        assert all("count" in f.properties and "id" not in f.properties for f in features)
        return features

    town_one = clusters(tiny_city.t1_operator)
    assert sum(f.properties["count"] for f in town_one) == 2
    assert {f.properties["light"] for f in town_one} == {"green"}
    assert sum(f.properties["count"] for f in clusters(tiny_city.city_official)) == 3
    assert sum(f.properties["count"] for f in clusters(tiny_city.t2_operator)) == 1


def test_a_red_case_makes_its_cluster_red(tiny_city, cases3):
    a1, *_ = cases3
    type(a1).objects.filter(pk=a1.pk).update(light="red")
    (z, x, y), = tiles_over(CITY_BOX, CLUSTER_ZOOM)
    features = get_layer(client_for(tiny_city.t1_operator), "cases", z, x, y)
    red = [f for f in features if f.properties["red"]]
    assert len(red) == 1 and red[0].properties["light"] == "red"


@pytest.mark.parametrize("path, status", [
    ("/tiles/cases/3/8/0.mvt", 400),  # x beyond 2^z - 1
    ("/tiles/cases/3/0/8.mvt", 400),
    ("/tiles/cases/23/0/0.mvt", 400),  # deeper than zoom 22
    ("/tiles/grids/99999999999999999999/0/0.mvt", 400),
    ("/tiles/cases/-1/0/0.mvt", 404),
    ("/tiles/cases/a/0/0.mvt", 404),
    ("/tiles/cases/3/0/0.png", 404),
])
def test_bad_tile_addresses_are_refused(tiny_city, path, status):
    response = client_for(tiny_city.t1_operator).get(path)
    assert response.status_code == status
    if status == 400:
        assert "between 0 and" in response.content.decode() or "之间" in response.content.decode()


def test_logged_out_goes_to_the_login(tiny_city):
    response = Client().get("/tiles/cases/14/13334/7133.mvt")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Client().get("/tiles/grids/14/13334/7133.mvt").status_code == 302


def test_tiles_are_cached_and_a_case_event_makes_them_new(tiny_city, categories, cases3,
                                                          django_capture_on_commit_callbacks):
    a1, *_ = cases3
    client = client_for(tiny_city.t1_operator)
    z, x, y = tile_of(113.004, 23.005, POINT_ZOOM)
    url = f"/tiles/cases/{z}/{x}/{y}.mvt"
    first = client.get(url)
    again = client.get(url)
    assert (first["X-Tile-Cache"], again["X-Tile-Cache"]) == ("miss", "hit")
    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert "private" in again["Cache-Control"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    # A new case in the tile is in it at once.
    with django_capture_on_commit_callbacks(execute=True):
        new, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=113.003,
                                     lat=23.004, description="又有垃圾")
    ids = {f.properties["id"] for f in get_layer(client, "cases", z, x, y)}
    assert {a1.pk, new.pk} <= ids
    # A case leaving the open statuses (no new row: only the version says so) leaves the tile.
    with django_capture_on_commit_callbacks(execute=True):
        actions.reject_case(a1, actor=tiny_city.t1_operator, reason="不属实")
    response = client.get(url)
    assert response["X-Tile-Cache"] == "miss"
    assert a1.pk not in {f.properties["id"] for f in decode(response.content)["cases"].features}


def test_cluster_tiles_may_be_served_a_little_stale(tiny_city, cases3, settings,
                                                    django_capture_on_commit_callbacks):
    a1, *_ = cases3
    client = client_for(tiny_city.t1_operator)
    (z, x, y), = tiles_over(CITY_BOX, CLUSTER_ZOOM)
    url = f"/tiles/cases/{z}/{x}/{y}.mvt"
    settings.MAP_TILES_STALE_SECONDS = 60
    assert client.get(url)["X-Tile-Cache"] == "miss"
    with django_capture_on_commit_callbacks(execute=True):
        actions.reject_case(a1, actor=tiny_city.t1_operator, reason="不属实")
    assert client.get(url)["X-Tile-Cache"] == "hit"  # within the minute: the tile of before
    settings.MAP_TILES_STALE_SECONDS = 0
    response = client.get(url)
    assert response["X-Tile-Cache"] == "miss"
    assert sum(f.properties["count"] for f in decode(response.content)["cases"].features) == 1


def test_the_version_bumps_once_per_transaction_after_commit(django_capture_on_commit_callbacks, db):
    before = tiles.layer_version("cases")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        from django.db import transaction

        with transaction.atomic():
            for _ in range(5):
                tiles.bump_after_commit("cases")
            assert tiles.layer_version("cases") == before  # not before the commit
    assert len(callbacks) == 1
    assert tiles.layer_version("cases") == before + 1


# Committed for real: the version is bumped after the commit of the rename.
@pytest.mark.django_db(transaction=True)
def test_grid_tiles_hold_the_grids_in_scope(tiny_city):
    (z, x, y), = tiles_over(CITY_BOX, CLUSTER_ZOOM)

    def grids(user):
        return {f.properties["code"]: f for f in get_layer(client_for(user), "grids", z, x, y)}

    town_one = grids(tiny_city.t1_operator)
    assert set(town_one) == {tiny_city.g1.code, tiny_city.g2.code}
    a1 = town_one[tiny_city.g1.code]
    assert a1.type == "Polygon" and a1.properties["name"] == "A-1"
    # The polygon is grid A-1's box, 113.00–113.01 E, 23.00–23.01 N, to the tile's resolution.
    corners = [lonlat(z, x, y, px, py) for px, py in a1.parts[0]]
    assert min(c[0] for c in corners) == pytest.approx(113.00, abs=2e-4)
    assert max(c[0] for c in corners) == pytest.approx(113.01, abs=2e-4)
    assert max(c[1] for c in corners) == pytest.approx(23.01, abs=2e-4)
    assert set(grids(tiny_city.city_official)) == {tiny_city.g1.code, tiny_city.g2.code, tiny_city.g3.code}
    assert set(grids(tiny_city.g3_worker)) == {tiny_city.g3.code}

    # A grid renamed: its tiles are new after the commit.
    grid = Area.objects.get(pk=tiny_city.g1.pk)
    grid.name = "A-1 新名"
    grid.save()
    assert grids(tiny_city.t1_operator)[tiny_city.g1.code].properties["name"] == "A-1 新名"


def test_the_map_page_uses_tiles_at_city_scale(tiny_city, cases3, settings):
    client = client_for(tiny_city.t1_operator)
    page = client.get("/cases/map/").content.decode()
    assert "data-case-tiles" not in page and "data-grid-tiles" not in page  # two cases: GeoJSON
    settings.MAP_TILES_FROM_CASES = 1
    settings.MAP_TILES_FROM_GRIDS = 1
    page = client.get("/cases/map/").content.decode()
    assert 'data-case-tiles="/tiles/cases/{z}/{x}/{y}.mvt"' in page
    assert 'data-grid-tiles="/tiles/grids/{z}/{x}/{y}.mvt"' in page
    assert "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled" in page
    # A filtered map (?status=…) keeps the GeoJSON, which the filters apply to.
    page = client.get("/cases/map/?status=reported").content.decode()
    assert "data-case-tiles" not in page


def test_people_with_the_same_scope_share_tiles_and_own_reports_stay_their_own(tiny_city, cases3):
    from cases.selectors import case_scope_key
    from grids.models import Membership

    a1, a2, b1, done = cases3
    assert case_scope_key(tiny_city.g1_worker) == case_scope_key(tiny_city.g1_leader)  # grid A-1, nothing else
    assert case_scope_key(tiny_city.t1_operator) != case_scope_key(tiny_city.t2_operator)
    # g1_worker moves to grid B-1: their report in A-1 is still theirs to see, not B-1's other worker's.
    assert set(points_over_city(client_for(tiny_city.g3_worker))) == {b1.pk}
    for membership in Membership.objects.filter(user=tiny_city.g1_worker):  # saved: the scope caches drop
        membership.area = tiny_city.g3
        membership.save()
    moved = type(tiny_city.g1_worker).objects.get(pk=tiny_city.g1_worker.pk)
    assert case_scope_key(moved) != case_scope_key(tiny_city.g3_worker)
    assert set(points_over_city(client_for(moved))) == {a1.pk, b1.pk}
    assert set(points_over_city(client_for(tiny_city.g3_worker))) == {b1.pk}


def test_redis_down_costs_the_cache_not_the_tile(tiny_city, cases3, settings):
    a1, a2, *_ = cases3
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {"socket_connect_timeout": 0.2}}}
    client = client_for(tiny_city.t1_operator)
    response = client.get("/tiles/cases/{}/{}/{}.mvt".format(*tile_of(113.004, 23.005, POINT_ZOOM)))
    assert response.status_code == 200 and response["X-Tile-Cache"] == "miss"
    assert a1.pk in {f.properties["id"] for f in decode(response.content)["cases"].features}


def test_tiles_go_gzipped_to_clients_that_take_gzip(tiny_city, cases3):
    import gzip

    client = client_for(tiny_city.t1_operator)
    url = "/tiles/grids/{}/{}/{}.mvt".format(*tiles_over(CITY_BOX, CLUSTER_ZOOM)[0])
    plain = client.get(url)
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain
    assert gzip.decompress(packed.content) == plain.content
    assert packed["ETag"] != plain["ETag"] and "Accept-Encoding" in packed["Vary"]
    assert client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH=packed["ETag"]).status_code == 200
