"""Real outlines: GCJ-02 → WGS 84, the source outlines, and the cut inside a real district."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import Counter

import pytest
from django.contrib.gis.geos import GEOSGeometry, Point

from grids.choices import Level
from grids.models import Area
from grids.outlines import _source_file, gcj02_to_wgs84, source_outline, wgs84_to_gcj02
from grids.seed import PRESETS, DistrictSpec, seed_city
from grids.tests.test_seed import _sql, assert_levels_tile

# WGS 84 and GCJ-02 of the same places (the test pairs of the eviltransform library).
KNOWN = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]


@pytest.mark.parametrize(("wgs", "gcj"), KNOWN)
def test_gcj02_conversion_matches_known_pairs(wgs, gcj) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)
    assert gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=1e-8)


def test_gcj02_offset_in_foshan_is_a_few_hundred_metres() -> None:
    lon, lat = gcj02_to_wgs84(113.12, 23.02)
    d_east = (113.12 - lon) * 111_320 * math.cos(math.radians(23.02))
    d_north = (23.02 - lat) * 110_574
    assert 400 < d_east < 600 and -400 < d_north < -200  # GCJ lies east and south of the truth
    assert wgs84_to_gcj02(lon, lat) == pytest.approx((113.12, 23.02), abs=1e-9)


def test_source_outline_is_the_real_district_in_wgs84() -> None:
    chancheng = source_outline(["440604"])
    assert chancheng.valid and chancheng.srid == 4326 and chancheng.geom_type == "MultiPolygon"
    # 禅城区 is about 154 km²; at 23°N a square degree is about 11,300 km².
    assert 140 < chancheng.area * 111.32 * 110.57 * math.cos(math.radians(23.0)) < 170
    assert chancheng.contains(Point(113.109, 23.029))  # 祖庙 (WGS 84)
    # Converted, not raw: the raw GCJ-02 outline lies ~500 m east and ~300 m south.
    raw = GEOSGeometry(_source_file("440604"))
    shift = (raw.centroid.x - chancheng.centroid.x, raw.centroid.y - chancheng.centroid.y)
    assert 0.004 < shift[0] < 0.006 and -0.004 < shift[1] < -0.002


CHANCHENG = dataclasses.replace(
    PRESETS["foshan"],
    key="chancheng-small",
    communities=24,
    grids=96,
    grid_workers=96,
    districts=(DistrictSpec("440604", "禅城区", ("祖庙街道", "石湾镇街道", "张槎街道", "南庄镇")),),
    outlines=(("440604", ("440604",)),),
)


@pytest.mark.django_db
def test_a_real_district_is_cut_without_gaps_or_overlaps(monkeypatch) -> None:
    monkeypatch.setitem(PRESETS, CHANCHENG.key, CHANCHENG)
    started = time.monotonic()
    seed_city(CHANCHENG.key)
    assert time.monotonic() - started < 30
    assert Counter(Area.objects.values_list("level", flat=True)) == {
        Level.CITY: 1, Level.DISTRICT: 1, Level.TOWN: 4, Level.COMMUNITY: 24, Level.GRID: 96,
    }
    assert_levels_tile(expected_parents=1 + 1 + 4 + 24)
    # The district is the real outline (its union of towns equals the source up to noise).
    outline = source_outline(["440604"])
    ((symdiff, area),) = _sql(
        "SELECT ST_Area(ST_SymDifference(boundary, ST_GeomFromEWKB(%s))), ST_Area(boundary) FROM grids_area "
        "WHERE code = '440604'", bytes(outline.ewkb),
    )
    assert symdiff < 1e-9 * area
    # Grids of one community are about the same size: balanced cells, not random slivers.
    rows = _sql(
        "SELECT parent_id, min(ST_Area(boundary)), max(ST_Area(boundary)) FROM grids_area WHERE level = %s "
        "GROUP BY parent_id", Level.GRID,
    )
    assert len(rows) == 24
    ratios = sorted(high / low for _parent, low, high in rows)
    assert ratios[len(ratios) // 2] < 2.5
    # Every grid holds its own centroid, so point → grid finds it back.
    ((outside,),) = _sql("SELECT count(*) FROM grids_area WHERE level = %s AND NOT ST_Covers(boundary, centroid)",
                         Level.GRID)
    assert outside == 0


# --- the outlines endpoint ------------------------------------------------------------------------


@pytest.mark.django_db
def test_outlines_are_scoped_simplified_and_labelled(client, monkeypatch) -> None:
    from django.core.cache import cache

    cache.clear()
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    demo = seed_city("demo")

    def outlines(username: str) -> list[dict]:
        client.force_login(demo.personas[username])
        response = client.get("/cases/map/outlines.geojson")
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        return response.json()["features"]

    everything = outlines("official")
    assert Counter(f["properties"]["level"] for f in everything) == {
        Level.CITY: 1, Level.DISTRICT: 2, Level.TOWN: 4, Level.COMMUNITY: 12,
    }
    for feature in everything:
        shape = GEOSGeometry(json.dumps(feature["geometry"]))
        assert shape.geom_type in ("Polygon", "MultiPolygon")
        assert shape.contains(Point(*feature["properties"]["label"]))  # the name sits inside its area
    city = next(f for f in everything if f["properties"]["level"] == Level.CITY)
    full = Area.objects.get(code="9901").boundary
    simplified = GEOSGeometry(json.dumps(city["geometry"]))
    assert simplified.num_coords < full.num_coords
    assert abs(simplified.area - full.area) < 0.01 * full.area
    # A town centre sees its town and the communities in it, nothing beside or above it.
    town = Area.objects.get(memberships__user=demo.personas["operator"])
    mine = outlines("operator")
    assert {f["properties"]["code"] for f in mine} == set(
        Area.objects.within(town).exclude(level=Level.GRID).values_list("code", flat=True)
    )
    # A grid worker sees no outline (their grids come with the grid layer); a stranger is sent to log in.
    assert outlines("worker") == []
    client.logout()
    assert client.get("/cases/map/outlines.geojson").status_code == 302


def test_tile_url_gets_its_key_and_subdomain(settings) -> None:
    from govgrid.context import map_tile_url

    settings.MAP_TILE_URL = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=vec"
                             "&TILEMATRIXSET=w&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}")
    settings.MAP_TILE_KEY = "abc123"
    settings.MAP_TILE_SUBDOMAINS = "01234567"
    url = map_tile_url()
    assert url.startswith("https://t0.tianditu.gov.cn/") and url.endswith("&tk=abc123")
    assert "{z}" in url and "{x}" in url and "{y}" in url
    settings.MAP_TILE_URL, settings.MAP_TILE_SUBDOMAINS = "https://{s}.tiles.example/{z}/{x}/{y}.png?key={key}", "abc"
    assert map_tile_url() == "https://{s}.tiles.example/{z}/{x}/{y}.png?key=abc123"
