"""Map data for pages: the outlines of the city, districts, towns and communities in the user's scope."""

from __future__ import annotations

import hashlib
import json

from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, PointOnSurface
from django.core.cache import cache
from django.db.models import Case, Count, F, Func, Max, Value, When
from django.http import HttpRequest, HttpResponse

from grids.choices import Level
from grids.models import Area
from grids.scope import scope_for, visible_areas

# Simplification per level, in degrees (1e-4° ≈ 11 m): enough for a city on a phone, a few kB per town.
OUTLINE_TOLERANCE = {
    Level.CITY: 0.0004,
    Level.DISTRICT: 0.0002,
    Level.TOWN: 0.0001,
    Level.COMMUNITY: 0.00005,
}
OUTLINES_CACHE_SECONDS = 600


class _Simplify(Func):
    function = "ST_SimplifyPreserveTopology"
    output_field = GeometryField(srid=4326)


def outline_features(user) -> str:
    """The GeoJSON text of the outlines above grid level that ``user`` may see (scope: grids/scope.py).

    Out-of-scope areas are not sent at all: a grid worker gets no outline (their grids come from the
    grid layer), a town centre its town and its communities. Cached per scope and map version.
    """
    scope = scope_for(user)
    areas = visible_areas(user).filter(level__lt=Level.GRID, boundary__isnull=False)
    version = Area.objects.filter(level__lt=Level.GRID).aggregate(n=Count("id"), last=Max("id"))
    key = "map-outlines:" + hashlib.sha256(
        repr((scope.is_admin, scope.see_paths, version["n"], version["last"])).encode()
    ).hexdigest()
    text = cache.get(key)
    if text is not None:
        return text
    tolerance = Case(*[When(level=level, then=Value(t)) for level, t in OUTLINE_TOLERANCE.items()])
    rows = (
        areas.annotate(
            shape=AsGeoJSON(_Simplify(F("boundary"), tolerance), precision=5),
            label=PointOnSurface("boundary"),
        )
        .order_by("level", "code")
        .values_list("code", "name", "level", "shape", "label")
    )
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(shape),
            "properties": {"code": code, "name": name, "level": level,
                           "label": [round(label.x, 5), round(label.y, 5)]},
        }
        for code, name, level, shape, label in rows
        if shape
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))
    cache.set(key, text, OUTLINES_CACHE_SECONDS)
    return text


@login_required
def outlines_geojson(request: HttpRequest) -> HttpResponse:
    """City, district, town and community outlines in scope, simplified, with a label point each."""
    return HttpResponse(outline_features(request.user), content_type="application/json")
